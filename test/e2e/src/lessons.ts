import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInLessonsDir } from '@labbot/lessons';
import { deleteRegistryRepository } from '@labbot/test-support';
import Docker from 'dockerode';

/**
 * A folder of extra lessons for a test: copies of the built-in lesson under new ids, each Dockerfile with a
 * nonce of this run (so its content hash, hence its image, is new: a build really happens whatever earlier
 * runs left in Docker or the registry), optionally with an edited Dockerfile or lesson.yaml. `remove()`
 * deletes the folder, the images and the registry tags of these lessons.
 */
export function makeLessonsDir(
  lessons: { id: string; dockerfile?: (text: string) => string; lessonYaml?: (text: string) => string }[],
): { dir: string; remove(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'labbot-lessons-'));
  const nonce = randomBytes(8).toString('hex');
  for (const lesson of lessons) {
    const target = join(dir, lesson.id);
    cpSync(join(builtInLessonsDir(), 'docker-vs-kubernetes'), target, { recursive: true });
    const yamlPath = join(target, 'lesson.yaml');
    let yaml = readFileSync(yamlPath, 'utf8').replace(/^id: docker-vs-kubernetes$/m, `id: ${lesson.id}`);
    if (lesson.lessonYaml) yaml = lesson.lessonYaml(yaml);
    writeFileSync(yamlPath, yaml);
    const dockerfilePath = join(target, 'Dockerfile');
    const dockerfile = readFileSync(dockerfilePath, 'utf8');
    const edited = lesson.dockerfile ? lesson.dockerfile(dockerfile) : dockerfile;
    writeFileSync(dockerfilePath, `${edited.trimEnd()}\n# test run ${nonce}\n`);
  }
  return {
    dir,
    async remove() {
      rmSync(dir, { recursive: true, force: true });
      const docker = new Docker({ socketPath: '/var/run/docker.sock' });
      const registry = process.env.LABBOT_REGISTRY;
      for (const lesson of lessons) {
        if (registry) await deleteRegistryRepository(registry, `labbot/${lesson.id}`);
        const images = await docker.listImages({ filters: { label: [`labbot.dev/lesson=${lesson.id}`] } });
        for (const image of images)
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => {});
      }
    },
  };
}
