import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LabbotError } from '@labbot/core';
import { deleteRegistryRepository } from '@labbot/test-support';
import Dockerode from 'dockerode';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBuilder, createRedisBuildLock, hashBuildContext } from './index.js';

const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';
const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';

// A lesson id used only by this run: every image it names is removed in afterAll.
const runId = randomBytes(4).toString('hex');
const lessonId = `builder-int-test-${runId}`;
const testLabels = { 'labbot.test': '1' };
const docker = new Dockerode();
const tempDirs: string[] = [];
const redisClients: Redis[] = [];

/** A fresh build context whose content is unique to this run (so nothing is cached from an earlier run). */
async function makeContext(dockerfileBody: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'labbot-builder-int-'));
  tempDirs.push(dir);
  await writeFile(path.join(dir, 'Dockerfile'), `FROM ${baseImage}\n${dockerfileBody}\n`);
  await writeFile(path.join(dir, 'nonce.txt'), `${runId}-${randomBytes(8).toString('hex')}\n`);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

function newBuilder(options: Parameters<typeof createBuilder>[0] = {}) {
  return createBuilder({ labels: testLabels, limits: { timeoutMs: 60_000, memoryBytes: 256 * 1024 ** 2 }, ...options });
}

async function caught(promise: Promise<unknown>): Promise<LabbotError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LabbotError);
  return error as LabbotError;
}

beforeAll(async () => {
  await docker.getImage(baseImage).inspect();
});

afterAll(async () => {
  // The registry is shared by every run: take back the tags this run pushed.
  await deleteRegistryRepository(registry, `labbot/${lessonId}`);
  const images = await docker.listImages({ filters: { label: [`labbot.dev/lesson=${lessonId}`] } });
  for (const image of images)
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  const cleaner = new Redis(redisUrl);
  const keys = await cleaner.keys(`labbot:test:${runId}:*`);
  if (keys.length > 0) await cleaner.del(...keys);
  cleaner.disconnect();
  for (const client of redisClients) client.disconnect();
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

describe('ensureImage', () => {
  it('builds a context once and answers the second call from the existing image', async () => {
    const builder = newBuilder();
    const contextDir = await makeContext('COPY nonce.txt /nonce.txt\nRUN cat /proc/net/dev\nCMD ["cat", "/nonce.txt"]');
    const lines: string[] = [];
    const first = await builder.ensureImage({
      lessonId,
      contextDir,
      dockerfile: 'Dockerfile',
      onLog: (line) => lines.push(line),
    });
    expect(first.cached).toBe(false);
    expect(first.tag).toBe(`labbot/${lessonId}:${first.hash}`);
    expect(first.hash).toBe(await hashBuildContext({ contextDir, dockerfile: 'Dockerfile' }));
    expect(lines.some((line) => line.includes('COPY nonce.txt'))).toBe(true);
    // Build steps run without network: /proc/net/dev lists loopback only.
    const interfaces = lines.filter((line) => /^\s*[\w.-]+:\s+\d/.test(line)).map((line) => line.split(':')[0]?.trim());
    expect(interfaces).toEqual(['lo']);
    expect(first.logTail.length).toBeGreaterThan(0);
    expect(first.logTail.length).toBeLessThanOrEqual(20);
    expect(first.logTail.at(-1)).toBe(`Successfully tagged ${first.tag}`);
    // Layer bookkeeping is left out of what a learner sees.
    expect(lines.filter((line) => /Removing intermediate container|---> Running in/.test(line))).toEqual([]);
    const inspected = await docker.getImage(first.tag).inspect();
    expect(inspected.Config.Labels?.['labbot.test']).toBe('1');

    const second = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(second).toMatchObject({ tag: first.tag, cached: true });
    expect(builder.stats()).toMatchObject({ builds: 1, cacheHits: 1 });
  });

  it('runs one build for 10 concurrent calls on the same context, and streams its log to every caller', async () => {
    const builder = newBuilder();
    const contextDir = await makeContext('RUN sleep 1 && echo built-once\nCMD ["echo", "hi"]');
    const logs: string[][] = Array.from({ length: 10 }, () => []);
    const results = await Promise.all(
      logs.map((lines) =>
        builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile', onLog: (line) => lines.push(line) }),
      ),
    );
    expect(new Set(results.map((result) => result.tag)).size).toBe(1);
    expect(results.filter((result) => !result.cached)).toHaveLength(1);
    expect(builder.stats()).toMatchObject({ builds: 1, waits: 9 });
    for (const lines of logs) expect(lines.some((line) => line.includes('built-once'))).toBe(true);
  });

  it('runs one build across two builders sharing the Redis lock', async () => {
    const keyPrefix = `labbot:test:${runId}:build-lock:`;
    const [redisA, redisB] = [new Redis(redisUrl), new Redis(redisUrl)];
    redisClients.push(redisA, redisB);
    // Separate Docker clients and separate in-process maps: only the Redis lock is shared.
    const builderA = newBuilder({ docker: new Dockerode(), lock: createRedisBuildLock(redisA, { keyPrefix }) });
    const builderB = newBuilder({ docker: new Dockerode(), lock: createRedisBuildLock(redisB, { keyPrefix }) });
    const contextDir = await makeContext('RUN sleep 2 && echo shared-build\nCMD ["echo", "hi"]');
    const logs: string[][] = [[], [], [], []];
    const results = await Promise.all(
      [builderA, builderB, builderA, builderB].map((builder, index) =>
        builder.ensureImage({
          lessonId,
          contextDir,
          dockerfile: 'Dockerfile',
          onLog: (line) => logs[index]?.push(line),
        }),
      ),
    );
    expect(new Set(results.map((result) => result.tag)).size).toBe(1);
    expect(builderA.stats().builds + builderB.stats().builds).toBe(1);
    expect(results.filter((result) => !result.cached)).toHaveLength(1);
    // The builder that waited in the other process still saw the build's output, through Redis.
    for (const lines of logs) expect(lines.filter((line) => line === 'shared-build')).toHaveLength(1);
    for (const result of results) expect(result.logTail).toContain('shared-build');
    expect(await redisA.exists(`${keyPrefix}image:${results[0]?.tag}`)).toBe(0);
  });

  it('reports a failed build to the builder waiting in another process without building again', async () => {
    const keyPrefix = `labbot:test:${runId}:shared-failure:`;
    const [redisA, redisB] = [new Redis(redisUrl), new Redis(redisUrl)];
    redisClients.push(redisA, redisB);
    const builderA = newBuilder({ docker: new Dockerode(), lock: createRedisBuildLock(redisA, { keyPrefix }) });
    const builderB = newBuilder({ docker: new Dockerode(), lock: createRedisBuildLock(redisB, { keyPrefix }) });
    const contextDir = await makeContext('RUN sleep 1 && echo failing-soon && exit 4');
    const request = { lessonId, contextDir, dockerfile: 'Dockerfile' };
    const errors = await Promise.all([caught(builderA.ensureImage(request)), caught(builderB.ensureImage(request))]);
    expect(errors.map((error) => error.code)).toEqual(['BUILD_FAILED', 'BUILD_FAILED']);
    for (const error of errors) expect(error.userMessage).toContain('returned a non-zero code: 4');
    expect(builderA.stats().builds + builderB.stats().builds).toBe(1);

    // A later request is a new attempt: it builds (and fails) again rather than reusing the old verdict.
    const later = await caught(builderB.ensureImage(request));
    expect(later.code).toBe('BUILD_FAILED');
    expect(builderA.stats().builds + builderB.stats().builds).toBe(2);
  });

  it('takes over the build when the worker holding the lock died', async () => {
    const keyPrefix = `labbot:test:${runId}:takeover:`;
    const redis = new Redis(redisUrl);
    redisClients.push(redis);
    const builder = newBuilder({ lock: createRedisBuildLock(redis, { keyPrefix }) });
    const contextDir = await makeContext('CMD ["echo", "after takeover"]');
    const hash = await hashBuildContext({ contextDir, dockerfile: 'Dockerfile' });
    // The lock of a crashed worker: present, never renewed, gone when its TTL runs out.
    await redis.set(`${keyPrefix}image:labbot/${lessonId}:${hash}`, 'crashed-worker', 'PX', 1_500);
    const started = Date.now();
    const result = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(result.cached).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(builder.stats()).toMatchObject({ builds: 1, waits: 1 });
  });

  it('reports a lock backend that is down as BUILD_LOCK_UNAVAILABLE (retryable), building nothing', async () => {
    // Nothing listens on port 1: the client fails fast instead of queueing commands.
    const redis = new Redis({
      port: 1,
      host: '127.0.0.1',
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    redis.on('error', () => {});
    redisClients.push(redis);
    const builder = newBuilder({ lock: createRedisBuildLock(redis) });
    const contextDir = await makeContext('CMD ["echo", "hi"]');
    const error = await caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }));
    expect(error).toMatchObject({ code: 'BUILD_LOCK_UNAVAILABLE', retryable: true });
    expect(builder.stats().builds).toBe(0);
  });

  it('honours .dockerignore: ignored files change neither the hash nor the image', async () => {
    const builder = newBuilder();
    const contextDir = await makeContext('COPY . /ctx\nCMD ["ls", "-a", "/ctx"]', {
      '.dockerignore': 'secrets/\n*.log\n',
      'secrets/token.txt': 'do-not-send\n',
      'debug.log': 'noise\n',
      'app.txt': 'app\n',
    });
    const first = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    const listing = await builder.runOnce({ image: first.tag, timeoutMs: 20_000, maxOutputBytes: 10_000 });
    expect(listing.output.split('\n')).toEqual(expect.arrayContaining(['app.txt', 'nonce.txt', 'Dockerfile']));
    expect(listing.output).not.toContain('secrets');
    expect(listing.output).not.toContain('debug.log');

    await writeFile(path.join(contextDir, 'secrets/token.txt'), 'changed\n');
    await writeFile(path.join(contextDir, 'debug.log'), 'more noise\n');
    const afterIgnored = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(afterIgnored).toMatchObject({ hash: first.hash, cached: true });

    await writeFile(path.join(contextDir, 'app.txt'), 'app v2\n');
    const afterSent = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(afterSent.hash).not.toBe(first.hash);
    expect(afterSent.cached).toBe(false);
    expect(builder.stats().builds).toBe(2);
  });

  it('reports a failing Dockerfile step as BUILD_FAILED with the message and the last lines', async () => {
    const builder = newBuilder();
    const contextDir = await makeContext('RUN echo about-to-fail && exit 3');
    const error = await caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }));
    expect(error.code).toBe('BUILD_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toContain('echo about-to-fail && exit 3');
    expect(error.userMessage).toContain('returned a non-zero code: 3');
    expect(error.userMessage).toContain('about-to-fail');
    expect(error.cause).toBeInstanceOf(Error);
    expect(builder.stats()).toMatchObject({ builds: 1, failures: 1 });

    // Concurrent callers share the one failing build and all get its error.
    await writeFile(path.join(contextDir, 'nonce.txt'), `again-${runId}\n`);
    const errors = await Promise.all(
      [1, 2, 3].map(() => caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }))),
    );
    expect(errors.map((each) => each.code)).toEqual(['BUILD_FAILED', 'BUILD_FAILED', 'BUILD_FAILED']);
    expect(builder.stats()).toMatchObject({ builds: 2, failures: 2 });
  });

  it('reports a missing base image as BASE_IMAGE_MISSING, naming it, also when it comes from an ARG', async () => {
    const builder = newBuilder();
    const missing = `labbot/not-here-${runId}:1`;
    const dir = await makeContext('');
    await writeFile(path.join(dir, 'Dockerfile'), `FROM ${missing}\nRUN echo never\n`);
    const direct = await caught(builder.ensureImage({ lessonId, contextDir: dir, dockerfile: 'Dockerfile' }));
    expect(direct.code).toBe('BASE_IMAGE_MISSING');
    expect(direct.userMessage).toContain(missing);
    expect(direct.userMessage).toContain('cannot be pulled');

    await writeFile(path.join(dir, 'Dockerfile'), `ARG BASE=${missing}\nFROM $BASE\nRUN echo never\n`);
    const viaArg = await caught(builder.ensureImage({ lessonId, contextDir: dir, dockerfile: 'Dockerfile' }));
    expect(viaArg.code).toBe('BASE_IMAGE_MISSING');
    expect(viaArg.userMessage).toContain(missing);
  });

  it('reports a build that runs too long as BUILD_TIMEOUT', async () => {
    const builder = newBuilder({ limits: { timeoutMs: 2_000, memoryBytes: 256 * 1024 ** 2 } });
    const contextDir = await makeContext('RUN sleep 30');
    const started = Date.now();
    const error = await caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }));
    expect(error.code).toBe('BUILD_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('reports a daemon that cannot be reached as DOCKER_UNAVAILABLE (retryable)', async () => {
    const builder = newBuilder({ docker: new Dockerode({ socketPath: `/tmp/labbot-no-docker-${runId}.sock` }) });
    const contextDir = await makeContext('CMD ["echo", "hi"]');
    const build = await caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }));
    expect(build.code).toBe('DOCKER_UNAVAILABLE');
    expect(build.retryable).toBe(true);
    expect(build.cause).toBeDefined();
    const run = await caught(builder.runOnce({ image: baseImage, timeoutMs: 5_000, maxOutputBytes: 1000 }));
    expect(run.code).toBe('DOCKER_UNAVAILABLE');
  });
});

describe('runOnce', () => {
  const builder = newBuilder();

  async function runOnceContainersLeft(): Promise<number> {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: ['labbot.test=1', 'labbot.dev/run-once=true'] },
    });
    return containers.length;
  }

  it('prints the output and exit code, without network, and removes the container', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: ['sh', '-c', 'echo hello from inside; cat /proc/net/dev; echo oops >&2; exit 7'],
      timeoutMs: 20_000,
      maxOutputBytes: 10_000,
    });
    expect(result.output).toContain('hello from inside');
    expect(result.output).toContain('oops');
    expect(result).toMatchObject({ exitCode: 7, truncated: false, timedOut: false, oomKilled: false });
    const interfaces = result.output
      .split('\n')
      .filter((line) => /^\s*[\w.-]+:\s+\d/.test(line))
      .map((line) => line.split(':')[0]?.trim());
    expect(interfaces).toEqual(['lo']);
    expect(await runOnceContainersLeft()).toBe(0);
  });

  it('applies the memory limit', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: [
        'sh',
        '-c',
        'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes',
      ],
      memoryBytes: 64 * 1024 ** 2,
      timeoutMs: 20_000,
      maxOutputBytes: 100,
    });
    expect(result.output.trim()).toBe(String(64 * 1024 ** 2));
  });

  it('says when the memory limit killed the container', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: ['sort', '/dev/zero'],
      memoryBytes: 16 * 1024 ** 2,
      timeoutMs: 20_000,
      maxOutputBytes: 1000,
    });
    expect(result).toMatchObject({ oomKilled: true, exitCode: 137, timedOut: false });
    expect(await runOnceContainersLeft()).toBe(0);
  });

  it('runs as the given user', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: ['id', '-u'],
      user: 'app',
      timeoutMs: 20_000,
      maxOutputBytes: 100,
    });
    expect(result.output.trim()).toBe('10001');
  });

  it('runs on a read-only image with a bounded writable /tmp', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: [
        'sh',
        '-c',
        'echo x > /written && echo root-writable; echo y > /tmp/ok && cat /tmp/ok; ' +
          'head -c 3000000 /dev/zero > /tmp/big; ls -l /tmp/big | awk \'{print "big=" $5}\'',
      ],
      tmpBytes: 1024 * 1024,
      timeoutMs: 20_000,
      maxOutputBytes: 2000,
    });
    expect(result.output).toContain('Read-only file system');
    expect(result.output).not.toContain('root-writable');
    expect(result.output).toContain('y\n');
    // The tmpfs holds at most its size: the 3 MB write stops at 1 MiB.
    const written = Number(result.output.match(/big=(\d+)/)?.[1]);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(1024 * 1024);
    expect(await runOnceContainersLeft()).toBe(0);
  });

  it('keeps at most maxOutputBytes of output and says it truncated', async () => {
    const result = await builder.runOnce({
      image: baseImage,
      command: ['sh', '-c', 'i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done'],
      timeoutMs: 20_000,
      maxOutputBytes: 500,
    });
    expect(result.truncated).toBe(true);
    expect(Buffer.byteLength(result.output)).toBe(500);
    expect(result.output.startsWith('line-0\nline-1\n')).toBe(true);
    expect(result.exitCode).toBe(0);
    expect(await runOnceContainersLeft()).toBe(0);
  });

  it('kills a container that runs past the timeout and still removes it', async () => {
    const started = Date.now();
    const result = await builder.runOnce({
      image: baseImage,
      command: ['sh', '-c', 'echo started; sleep 60'],
      timeoutMs: 1_500,
      maxOutputBytes: 1000,
    });
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    expect(result.output).toContain('started');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await runOnceContainersLeft()).toBe(0);
  });

  it('leaves no container behind when the process that started it is SIGKILLed while it runs', async () => {
    // A runner of its own: it starts a container that runs for 2 s, and is killed while the container runs.
    const label = `labbot.test.killed-runner=${runId}`;
    const script = [
      `import { createBuilder } from ${JSON.stringify(path.join(import.meta.dirname, 'index.ts'))};`,
      `const builder = createBuilder({ labels: { 'labbot.test': '1', 'labbot.test.killed-runner': ${JSON.stringify(runId)} } });`,
      `await builder.runOnce({ image: ${JSON.stringify(baseImage)}, command: ['sh', '-c', 'echo started; sleep 2'], timeoutMs: 60000, maxOutputBytes: 100 });`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const ours = () => docker.listContainers({ all: true, filters: { label: [label] } });
    try {
      await vi.waitFor(async () => expect((await ours()).map((c) => c.State)).toEqual(['running']), {
        timeout: 30_000,
        interval: 100,
      });
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
    // The container ends on its own after the kill, and nobody is left to remove it but the daemon.
    await vi.waitFor(async () => expect(await ours()).toEqual([]), { timeout: 20_000, interval: 250 });
  });

  it('says which image is missing', async () => {
    const error = await caught(
      builder.runOnce({ image: `labbot/not-here-${runId}:1`, timeoutMs: 5_000, maxOutputBytes: 100 }),
    );
    expect(error.code).toBe('IMAGE_MISSING');
    expect(await runOnceContainersLeft()).toBe(0);
  });
});

describe('registry', () => {
  it('pushes a built image, the registry lists its tag, and another builder finds it there', async () => {
    const builder = newBuilder({ registry });
    const contextDir = await makeContext('CMD ["echo", "pushed"]');
    const result = await builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(result.tag).toBe(`${registry}/labbot/${lessonId}:${result.hash}`);
    expect(builder.stats()).toMatchObject({ builds: 1, pushes: 1 });

    const response = await fetch(`http://${registry}/v2/labbot/${lessonId}/tags/list`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { tags?: string[] };
    expect(body.tags).toContain(result.hash);

    const other = newBuilder({ registry });
    const again = await other.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' });
    expect(again).toMatchObject({ tag: result.tag, cached: true });
    expect(other.stats()).toMatchObject({ builds: 0, pushes: 0, cacheHits: 1 });

    // Without the local copy, runOnce fetches the image from the registry.
    await docker.getImage(result.tag).remove({ force: true });
    const run = await other.runOnce({ image: result.tag, timeoutMs: 20_000, maxOutputBytes: 100 });
    expect(run.output.trim()).toBe('pushed');
    expect(await other.imageExistsLocally(result.tag)).toBe(true);
  });

  it('reports an unreachable registry as PUSH_FAILED (retryable) after building', async () => {
    const builder = newBuilder({ registry: '127.0.0.1:1' });
    const contextDir = await makeContext('CMD ["echo", "nowhere"]');
    const error = await caught(builder.ensureImage({ lessonId, contextDir, dockerfile: 'Dockerfile' }));
    expect(error.code).toBe('PUSH_FAILED');
    expect(error.retryable).toBe(true);
    expect(builder.stats()).toMatchObject({ builds: 1, pushes: 1, failures: 1 });
  });
});
