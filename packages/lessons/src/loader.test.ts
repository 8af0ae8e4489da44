import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabbotError } from '@labbot/core';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  buildSpecFor,
  builtInLessonsDir,
  getLesson,
  LessonInvalidError,
  loadLesson,
  loadLessons,
  renderDeployment,
  runSpecFor,
} from './index.js';

const scratch = await mkdtemp(join(tmpdir(), 'labbot-lessons-'));
const builtIn = join(builtInLessonsDir(), 'docker-vs-kubernetes');
let n = 0;
let dir = '';

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** A fresh copy of the built-in lesson in its own folder (named like the lesson, as the loader wants). */
beforeEach(async () => {
  dir = join(scratch, `case-${++n}`, 'docker-vs-kubernetes');
  await mkdir(join(dir, '..'), { recursive: true });
  await cp(builtIn, dir, { recursive: true });
});

async function editYaml(edit: (text: string) => string): Promise<void> {
  const file = join(dir, 'lesson.yaml');
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

async function problemOf(promise: Promise<unknown>): Promise<LessonInvalidError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(LessonInvalidError);
  const invalid = error as LessonInvalidError;
  expect(invalid.code).toBe('LESSON_INVALID');
  expect(invalid).toBeInstanceOf(LabbotError);
  return invalid;
}

describe('the built-in lesson', () => {
  it('loads with its steps, checks, limits and the exits variant', async () => {
    const lesson = await getLesson('docker-vs-kubernetes');
    expect(lesson.spec.steps.length).toBeGreaterThanOrEqual(3);
    expect(lesson.spec.deployment).toMatchObject({ name: 'hello', replicas: 3 });
    expect(lesson.spec.checks.map((c) => c.kind)).toEqual(['containerOutput', 'podsReady', 'selfHeals']);
    expect(runSpecFor(lesson).expectOutput).toBe('Hello from inside the Docker container!');
    expect(runSpecFor(lesson, 'exits').command).toBeUndefined();
    expect(lesson.spec.steps.some((s) => s.text.includes('CrashLoopBackOff'))).toBe(true);
    expect(buildSpecFor(lesson).args).toEqual({ BASE_IMAGE: 'labbot/busybox:1' });
    expect(buildSpecFor(lesson, undefined, { baseImage: 'reg:5000/busybox:1' }).args['BASE_IMAGE']).toBe(
      'reg:5000/busybox:1',
    );
    expect(buildSpecFor(lesson, 'exits').contextDir).toMatch(/variants\/exits$/);
    expect(() => buildSpecFor(lesson, 'nope')).toThrow(/no variant "nope" \(variants: exits\)/);
  });

  it('renders a 3-replica Deployment with the image and labels, values quoted safely', async () => {
    const lesson = await getLesson('docker-vs-kubernetes');
    const { manifest, yaml } = renderDeployment(lesson, {
      image: '127.0.0.1:5050/labbot/docker-vs-kubernetes:abc123',
      labels: { 'labbot.dev/lab': '3eab4c730320', 'labbot.dev/lesson': 'docker-vs-kubernetes' },
      selectorLabels: { 'labbot.dev/lab': '3eab4c730320' },
    });
    expect(manifest.metadata.name).toBe('hello');
    expect(manifest.spec.replicas).toBe(3);
    expect(manifest.spec.selector.matchLabels).toEqual({ 'labbot.dev/lab': '3eab4c730320', app: 'hello' });
    expect(manifest.spec.template.metadata.labels).toMatchObject({
      'labbot.dev/lesson': 'docker-vs-kubernetes',
      app: 'hello',
    });
    expect(manifest.spec.template.spec.containers[0]?.image).toBe('127.0.0.1:5050/labbot/docker-vs-kubernetes:abc123');
    expect(yaml).not.toContain('{{');
    // A hostile image string cannot add YAML structure.
    expect(() => renderDeployment(lesson, { image: 'x"\n  hostNetwork: true\n#' })).not.toThrow();
    const odd = renderDeployment(lesson, { image: 'x"\n  hostNetwork: true\n#' }).manifest;
    expect(odd.spec.template.spec.containers[0]?.image).toBe('x"\n  hostNetwork: true\n#');
    expect(renderDeployment(lesson, { image: 'i', replicas: 5 }).manifest.spec.replicas).toBe(5);
  });

  it('catalog: lists lessons, finds by id, and says which exist when the id is unknown', async () => {
    const catalog = await loadLessons();
    expect(catalog.ids()).toContain('docker-vs-kubernetes');
    expect(() => catalog.get('nope')).toThrow(LabbotError);
    try {
      catalog.get('nope');
    } catch (error) {
      expect((error as LabbotError).code).toBe('LESSON_NOT_FOUND');
      expect((error as LabbotError).userMessage).toMatch(
        /^There is no lesson "nope"\. Lessons: .*docker-vs-kubernetes/,
      );
    }
  });
});

describe('loadLesson: clear errors naming file, field and what is wrong', () => {
  it('a copy of the built-in lesson loads', async () => {
    expect((await loadLesson(dir)).id).toBe('docker-vs-kubernetes');
  });

  it('bad YAML gives the line and column', async () => {
    await editYaml((t) => t.replace('title: Docker vs Kubernetes', 'title: [Docker vs Kubernetes'));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems[0]?.file).toBe('lesson.yaml');
    expect(error.problems[0]?.field).toMatch(/^line \d+, column \d+$/);
    expect(error.message).toMatch(/is not valid YAML/);
  });

  it('a key that is a list or a mapping is refused with its line, and no process warning is printed', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await editYaml((t) => `${t}? [k]\n: v\n`);
      const lines = (await readFile(join(dir, 'lesson.yaml'), 'utf8')).split('\n');
      const error = await problemOf(loadLesson(dir));
      expect(error.problems).toEqual([
        {
          file: 'lesson.yaml',
          field: `line ${lines.indexOf('? [k]') + 1}`,
          message: 'has a key that is a list or a mapping; a key must be a plain name',
        },
      ]);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('a missing field is named', async () => {
    await editYaml((t) => t.replace(/^title: .*$/m, ''));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toEqual([{ file: 'lesson.yaml', field: 'title', message: 'is missing' }]);
    expect(error.userMessage).toBe('The lesson "docker-vs-kubernetes" is not valid: lesson.yaml: title: is missing.');
  });

  it('a wrong type, an out-of-range number and a misspelled field are named', async () => {
    await editYaml((t) =>
      t
        .replace('  replicas: 3', '  replicas: 30')
        .replace('network: false', 'network: "no"')
        .replace('  cpu: "2"', '  cpus: "2"'),
    );
    const error = await problemOf(loadLesson(dir));
    const lines = error.message
      .split('\n')
      .slice(1)
      .map((l) => l.trim());
    expect(lines).toEqual(
      expect.arrayContaining([
        'lesson.yaml: deployment.replicas: must be at most 10',
        'lesson.yaml: build.network: must be a boolean, not string "no"',
        'lesson.yaml: limits.cpus: is not a known field (check the spelling)',
      ]),
    );
  });

  it('an unknown check kind says which kinds exist', async () => {
    await editYaml((t) => t.replace('  - kind: selfHeals', '  - kind: selfHeal'));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toEqual([
      {
        file: 'lesson.yaml',
        field: 'checks[2].kind',
        message:
          'unknown check kind "selfHeal"; use one of podsReady, containerOutput, selfHeals, replicas, rolledOut, rolledBack, learnerBuilt, manifestGenerated, learnerDeployed',
      },
    ]);
  });

  it('a check on another deployment, and too few pods for a rolling update, are refused', async () => {
    await editYaml((t) =>
      t
        .replace('    deployment: hello\n    count: 3', '    deployment: web\n    count: 3')
        .replace('  pods: 12', '  pods: 3'),
    );
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toEqual(
      expect.arrayContaining([
        {
          file: 'lesson.yaml',
          field: 'checks[1].deployment',
          message: '"web" is not the lesson\'s deployment "hello"',
        },
        {
          file: 'lesson.yaml',
          field: 'limits.pods',
          message: expect.stringMatching(/^must be at least 4: the 3 replicas plus one pod/),
        },
      ]),
    );
  });

  it.each([
    ['build.context', '  context: .', '  context: ../..', /must not contain "\.\."/],
    ['build.context', '  context: .', '  context: /etc', /not an absolute path/],
    [
      'build.dockerfile',
      '  dockerfile: Dockerfile\n  network',
      '  dockerfile: ../Dockerfile\n  network',
      /must not contain "\.\."/,
    ],
    ['deployment.template', '  template: deployment.yaml', '  template: /etc/passwd', /not an absolute path/],
    [
      'deployment.template',
      '  template: deployment.yaml',
      '  template: ../../../etc/passwd',
      /must not contain "\.\."/,
    ],
    [
      'deployment.template',
      '  template: deployment.yaml',
      '  template: missing.yaml',
      /"missing.yaml" names a file that does not exist/,
    ],
  ])('path traversal in %s is refused', async (field, from, to, message) => {
    await editYaml((t) => {
      expect(t).toContain(from);
      return t.replace(from, to);
    });
    const error = await problemOf(loadLesson(dir));
    expect(error.problems[0]?.field).toBe(field);
    expect(error.problems[0]?.message).toMatch(message);
  });

  it('a symlinked template that leads out of the folder is refused', async () => {
    const outside = join(scratch, `outside-${n}.yaml`);
    await cp(join(dir, 'deployment.yaml'), outside);
    await rm(join(dir, 'deployment.yaml'));
    await symlink(outside, join(dir, 'deployment.yaml'));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toContainEqual({
      file: 'lesson.yaml',
      field: 'deployment.template',
      message: '"deployment.yaml" is a symlink that leads out of the lesson folder',
    });
  });

  it('a symlink inside the build context that leads out is refused, naming the link', async () => {
    await symlink('/etc/passwd', join(dir, 'app', 'passwd'));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toContainEqual({
      file: 'app/passwd',
      field: '',
      message: 'is a symlink that leads out of the lesson folder',
    });
  });

  it('a symlinked lesson folder whose context leads out through the link target is still checked on the real path', async () => {
    const link = join(scratch, `case-${n}`, 'linked');
    await symlink(dir, link);
    const lesson = await loadLesson(link, { requireIdMatchesFolder: false });
    expect(lesson.dir).toBe(dir);
    // Checked against the real folder: a link that stays inside it is fine, one that leads out is refused.
    await symlink('../lesson.yaml', join(dir, 'app', 'inside'));
    await loadLesson(link, { requireIdMatchesFolder: false });
    await symlink('/etc/passwd', join(dir, 'app', 'passwd'));
    const error = await problemOf(loadLesson(link, { requireIdMatchesFolder: false }));
    expect(error.problems).toEqual([
      { file: 'app/passwd', field: '', message: 'is a symlink that leads out of the lesson folder' },
    ]);
  });

  it('the id must match the folder name', async () => {
    await editYaml((t) => t.replace('id: docker-vs-kubernetes', 'id: something-else'));
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toContainEqual({
      file: 'lesson.yaml',
      field: 'id',
      message: '"something-else" must equal the folder name "docker-vs-kubernetes"',
    });
  });

  it('a template problem names deployment.yaml and the field', async () => {
    const file = join(dir, 'deployment.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8'))
        .replace('      containers:', '      hostNetwork: true\n      containers:')
        .replace('{{name}}', 'fixed'),
    );
    const error = await problemOf(loadLesson(dir));
    expect(error.problems).toEqual(
      expect.arrayContaining([
        { file: 'deployment.yaml', field: 'spec.template.spec.hostNetwork', message: 'is not allowed in a lesson' },
        {
          file: 'deployment.yaml',
          field: 'metadata.name',
          message: 'must be {{name}} (the lesson\'s deployment name "hello")',
        },
      ]),
    );
  });

  it('an unknown placeholder names its line', async () => {
    const file = join(dir, 'deployment.yaml');
    await writeFile(file, `${await readFile(file, 'utf8')}# ok: {{nope}}\nx: {{nope}}\n`);
    const error = await problemOf(loadLesson(dir));
    expect(error.problems[0]).toMatchObject({
      file: 'deployment.yaml',
      message: expect.stringMatching(/^unknown placeholder \{\{nope\}\}/),
    });
    expect(error.problems).toHaveLength(1);
  });

  it('a folder without lesson.yaml, or a lesson.yaml that is not a mapping', async () => {
    await rm(join(dir, 'lesson.yaml'));
    expect((await problemOf(loadLesson(dir))).message).toMatch(/lesson\.yaml: names a file that does not exist/);
    await writeFile(join(dir, 'lesson.yaml'), '- just\n- a list\n');
    expect((await problemOf(loadLesson(dir))).message).toMatch(/lesson\.yaml: must be a YAML mapping/);
  });

  it('loadLessons refuses a duplicate id and can skip invalid lessons', async () => {
    const extra = join(dir, '..');
    await expect(loadLessons({ extraDir: extra })).rejects.toThrow(/is already used by the lesson in/);
    await mkdir(join(extra, 'broken'));
    await writeFile(join(extra, 'broken', 'lesson.yaml'), 'id: broken\n');
    // The built-in folder exists and is empty: the broken lesson alone makes the catalog fail.
    const noBuiltIns = join(scratch, `no-built-ins-${n}`);
    await mkdir(noBuiltIns);
    const catalog = await loadLessons({ builtInDir: noBuiltIns, extraDir: extra }).catch((e: unknown) => e);
    expect(catalog).toBeInstanceOf(LabbotError);
    expect((catalog as LabbotError).message).toMatch(/broken.*\n.*lesson\.yaml: title: is missing/);
    const skipping = await loadLessons({ builtInDir: extra, skipInvalid: true });
    expect(skipping.ids()).toEqual(['docker-vs-kubernetes']);
    expect(skipping.problems[0]?.message).toMatch(/broken.*\n.*lesson\.yaml: title: is missing/);
  });
});
