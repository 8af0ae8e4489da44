import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSpecFor, getLesson, type Lesson, type ResolvedBuild, runSpecFor } from './index.js';

// Builds the built-in lesson with the real Docker engine, offline (--network none), the way the
// builder will: the lesson's context folder, its Dockerfile and the BASE_IMAGE build argument.
const run = promisify(execFile);
const docker = (args: string[], timeout = 120_000) =>
  run('docker', args, { timeout, maxBuffer: 8 * 1024 * 1024, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
const baseImage = process.env['LABBOT_BASE_IMAGE'] ?? 'labbot/busybox:1';
const suffix = randomBytes(4).toString('hex');
const images: string[] = [];
const containers: string[] = [];
const GREETING = 'Hello from inside the Docker container!';

async function build(spec: ResolvedBuild, tag: string): Promise<void> {
  const args = Object.entries(spec.args).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
  images.push(tag);
  await docker([
    'build',
    '--network',
    spec.network ? 'default' : 'none',
    '--label',
    'labbot.test=1',
    ...args,
    '-f',
    spec.dockerfilePath,
    '-t',
    tag,
    spec.contextDir,
  ]);
}

let lesson: Lesson;
const mainTag = `labbot-test/docker-vs-kubernetes:${suffix}`;
const exitsTag = `labbot-test/docker-vs-kubernetes-exits:${suffix}`;

beforeAll(async () => {
  lesson = await getLesson('docker-vs-kubernetes');
  await build(buildSpecFor(lesson, undefined, { baseImage }), mainTag);
  await build(buildSpecFor(lesson, 'exits', { baseImage }), exitsTag);
});

afterAll(async () => {
  for (const container of containers) await docker(['rm', '-f', container]).catch(() => undefined);
  for (const image of images) await docker(['rmi', '-f', image]).catch(() => undefined);
});

describe('built-in lesson docker-vs-kubernetes on the real Docker engine', () => {
  it('step 1: the run-once command prints the greeting and exits 0', async () => {
    const { command, expectOutput } = runSpecFor(lesson);
    const { stdout } = await docker([
      'run',
      '--rm',
      '--network',
      'none',
      '--label',
      'labbot.test=1',
      mainTag,
      ...(command ?? []),
    ]);
    expect(stdout.trim()).toBe(GREETING);
    expect(stdout).toContain(expectOutput);
  });

  it('the deployed image prints the greeting and keeps running as uid 10001', async () => {
    const name = `labbot-test-dvk-${suffix}`;
    containers.push(name);
    await docker([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      'none',
      '--read-only',
      '--label',
      'labbot.test=1',
      mainTag,
    ]);
    // Bounded wait: the greeting shows up, and the container is still running afterwards.
    let logs = '';
    for (let i = 0; i < 20 && !logs.includes(GREETING); i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      logs = (await docker(['logs', name])).stdout;
    }
    expect(logs).toContain(GREETING);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const state = (await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}} {{.Config.User}}', name]))
      .stdout;
    expect(state.trim()).toBe('true 0 10001');
    const page = await docker(['exec', name, 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/']);
    expect(page.stdout).toContain(GREETING);
  });

  it('the "exits" variant prints the greeting and stops (what crash-loops under a Deployment)', async () => {
    const name = `labbot-test-dvk-exits-${suffix}`;
    containers.push(name);
    const { stdout } = await docker(['run', '--name', name, '--network', 'none', '--label', 'labbot.test=1', exitsTag]);
    expect(stdout.trim()).toBe(GREETING);
    const state = (await docker(['inspect', '-f', '{{.State.Running}} {{.State.ExitCode}}', name])).stdout;
    expect(state.trim()).toBe('false 0');
    expect(lesson.spec.variants['exits']?.expect?.diagnosis).toBe('CrashLoopBackOff');
  });

  it('the two images differ (their contexts are apart, so content hashes differ too)', async () => {
    const ids = await Promise.all(
      [mainTag, exitsTag].map(async (tag) => (await docker(['image', 'inspect', '-f', '{{.Id}}', tag])).stdout.trim()),
    );
    expect(ids[0]).not.toBe(ids[1]);
  });
});
