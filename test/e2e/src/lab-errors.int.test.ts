import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '@labbot/cluster';
import { loadConfig } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import Docker from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RUNNER, type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

// Every way a start can go wrong ends in one clear sentence, and nothing is left half-made after /lab stop.
const suffix = randomBytes(3).toString('hex');
const broken = {
  dockerfile: `e2e-bad-dockerfile-${suffix}`,
  escape: `e2e-escape-${suffix}`,
  yaml: `e2e-bad-yaml-${suffix}`,
  // A copy of the built-in lesson with this run's nonce: never built before, whatever earlier runs left.
  cold: `e2e-cold-${suffix}`,
  noStart: `e2e-no-start-${suffix}`,
};
const lessons = makeLessonsDir([
  { id: broken.dockerfile, dockerfile: (text) => text.replace(/^USER /m, 'RUN echo "about to fail" && exit 3\nUSER ') },
  { id: broken.escape, lessonYaml: (text) => text.replace(/^ {2}context: \.$/m, '  context: ../../..') },
  { id: broken.yaml, lessonYaml: (text) => `${text}\nsteps: [unclosed\n` },
  { id: broken.cold },
  {
    id: broken.noStart,
    lessonYaml: (text) => text.replace('command: ["/bin/sh", "/app/hello.sh"]', 'command: ["/no-such-program"]'),
  },
]);

let harness: LabHarness;
let chat: LocalChat;
const stopAfter: (() => Promise<void>)[] = [];

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 3, kubelet: 'virtual', env: { LABBOT_LESSONS_DIR: lessons.dir } });
  chat = await harness.startChat();
});

afterEach(async () => {
  for (const stop of stopAfter.splice(0)) await stop();
});

afterAll(async () => {
  await harness?.stop();
  await lessons.remove();
});

const labOf = (userId: string, lessonId: string) =>
  labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId });
const lastAnswer = () => chat.adapter.channelTexts().at(-1) ?? '';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 1;
}

/** Stops a failed lab and checks that its namespace and pods are gone. */
async function stopAndCheckClean(userId: string, lessonId: string): Promise<void> {
  const labId = labOf(userId, lessonId);
  await chat.type(`stop ${lessonId}`, userId);
  const stopped = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
  const core = harness.kubeConfig.makeApiClient(CoreV1Api);
  await expect(core.readNamespace({ name: stopped.namespace })).rejects.toMatchObject({ code: 404 });
}

describe('refused before anything is made', () => {
  it.each([
    ['start ../../etc/passwd', /"\.\.\/\.\.\/etc\/passwd" is not a valid lesson id/],
    ['start no-such-lesson', /There is no lesson "no-such-lesson"\. Lessons: .*docker-vs-kubernetes/],
    [
      `start ${broken.escape}`,
      new RegExp(
        `The lesson "${broken.escape}" is not valid: lesson.yaml: build.context: .*leave the lesson folder`,
        'i',
      ),
    ],
    [`start ${broken.yaml}`, new RegExp(`The lesson "${broken.yaml}" is not valid: lesson.yaml`)],
    ['frobnicate', /Unknown subcommand "frobnicate"/],
    ['start <10 KB of x>', /too long/],
  ])('/lab %s', async (label, expected) => {
    const text = label === 'start <10 KB of x>' ? `start ${'x'.repeat(10_000)}` : label;
    await chat.type(text, 'eve');
    expect(lastAnswer()).toMatch(expected);
    expect(lastAnswer()).not.toMatch(/\bat .*\.ts:\d+/);
    expect(await harness.store.listByOwner({ platform: 'local', workspaceId: 'local', userId: 'eve' })).toEqual([]);
  });
});

describe('failures while the lab is made', () => {
  it('shows a Dockerfile error in the thread with the failing step, and cleans up on stop', async () => {
    const runner = await harness.startRunner();
    stopAfter.push(() => runner.stop());
    const labId = labOf('ada', broken.dockerfile);
    await chat.type(`start ${broken.dockerfile}`, 'ada');
    const failed = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'failed');
    expect(failed.observed.error).toMatchObject({ code: 'BUILD_FAILED', step: 'build' });
    const thread = await waitForValue(
      'the failure in the thread',
      () => chat.thread(failed),
      (texts) => (texts[0] ?? '').includes('failed'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain('❌');
    expect(thread[0]).toContain('The lesson image failed to build at step "RUN echo "about to fail" && exit 3"');
    expect(thread[0]).toContain('returned a non-zero code: 3');
    await stopAndCheckClean('ada', broken.dockerfile);
  });

  it('says the Docker engine is unreachable when it is down', async () => {
    const config = loadConfig({
      ...process.env,
      REDIS_URL: harness.redisUrl,
      KUBECONFIG: harness.kubeconfigPath,
      DOCKER_HOST: 'unix:///tmp/labbot-no-docker.sock',
      LABBOT_LESSONS_DIR: lessons.dir,
    });
    const runner = await harness.startRunner(FAST_RUNNER, config);
    stopAfter.push(() => runner.stop());
    const labId = labOf('bob', broken.cold);
    await chat.type(`start ${broken.cold}`, 'bob');
    const failed = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'failed');
    expect(failed.observed.error).toMatchObject({ code: 'DOCKER_UNAVAILABLE', step: 'build' });
    const thread = await waitForValue(
      'the failure in the thread',
      () => chat.thread(failed),
      (texts) => (texts[0] ?? '').includes('❌'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain(
      'The Docker engine is not reachable right now, so the lab image cannot be built. Try again shortly.',
    );
    await stopAndCheckClean('bob', broken.cold);
  });

  it('says the cluster is unreachable when it is down', async () => {
    const port = await closedPort();
    const downKubeConfig = loadKubeConfig({ mode: 'sim', server: `http://127.0.0.1:${port}` });
    const runner = await harness.startRunner(FAST_RUNNER, harness.config, downKubeConfig);
    const labId = labOf('cy', 'docker-vs-kubernetes');
    await chat.type('start docker-vs-kubernetes', 'cy');
    const failed = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'failed');
    await runner.stop();
    expect(failed.observed.error).toMatchObject({ code: 'CLUSTER_UNAVAILABLE', step: 'namespace' });
    const thread = await waitForValue(
      'the failure in the thread',
      () => chat.thread(failed),
      (texts) => (texts[0] ?? '').includes('❌'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain('The lab cluster is not reachable right now. Please try again in a minute.');
    // With the cluster back (a healthy runner), stop cleans up whatever was made.
    const healthy = await harness.startRunner();
    stopAfter.push(() => healthy.stop());
    await stopAndCheckClean('cy', 'docker-vs-kubernetes');
  });

  it('says the container could not start, and leaves no run-once container behind', async () => {
    const runner = await harness.startRunner();
    stopAfter.push(() => runner.stop());
    const labId = labOf('dee', broken.noStart);
    await chat.type(`start ${broken.noStart}`, 'dee');
    const failed = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'failed');
    expect(failed.observed.error).toMatchObject({ code: 'RUN_FAILED', step: 'run-once' });
    const thread = await waitForValue(
      'the failure in the thread',
      () => chat.thread(failed),
      (texts) => (texts[0] ?? '').includes('❌'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain('The lesson container could not start');
    // Every attempt's container is gone (only this lesson's image is looked at: other files run their own).
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const leftovers = await docker.listContainers({
      all: true,
      filters: { label: ['labbot.dev/run-once=true'], ancestor: [failed.observed.imageTag ?? 'no-image'] },
    });
    expect(failed.observed.imageTag).toContain(`labbot/${broken.noStart}:`);
    expect(leftovers).toEqual([]);
    await stopAndCheckClean('dee', broken.noStart);
  });
});
