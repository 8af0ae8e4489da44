import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInLessonsDir } from '@labbot/lessons';
import Docker from 'dockerode';

/**
 * A folder of extra lessons for a test: copies of the built-in lesson under new ids (so their images are
 * built fresh), optionally with an edited Dockerfile or lesson.yaml.
 */
export function makeLessonsDir(
  lessons: { id: string; dockerfile?: (text: string) => string; lessonYaml?: (text: string) => string }[],
): { dir: string; remove(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'labbot-lessons-'));
  for (const lesson of lessons) {
    const target = join(dir, lesson.id);
    cpSync(join(builtInLessonsDir(), 'docker-vs-kubernetes'), target, { recursive: true });
    const yamlPath = join(target, 'lesson.yaml');
    let yaml = readFileSync(yamlPath, 'utf8').replace(/^id: docker-vs-kubernetes$/m, `id: ${lesson.id}`);
    if (lesson.lessonYaml) yaml = lesson.lessonYaml(yaml);
    writeFileSync(yamlPath, yaml);
    if (lesson.dockerfile) {
      const dockerfilePath = join(target, 'Dockerfile');
      writeFileSync(dockerfilePath, lesson.dockerfile(readFileSync(dockerfilePath, 'utf8')));
    }
  }
  return {
    dir,
    async remove() {
      rmSync(dir, { recursive: true, force: true });
      const docker = new Docker({ socketPath: '/var/run/docker.sock' });
      for (const lesson of lessons) {
        const images = await docker.listImages({ filters: { reference: [`labbot/${lesson.id}`] } });
        for (const image of images)
          await docker
            .getImage(image.Id)
            .remove({ force: true })
            .catch(() => {});
      }
    },
  };
}
