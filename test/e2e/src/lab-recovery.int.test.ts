import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunnerProcess, startRunnerProcess } from './fixture-process.js';
import { type LabHarness, type LocalChat, labWait, PRODUCTION_LOCKS, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

// A lesson whose build takes a few seconds, so a runner can be killed in the middle of a reconcile.
const slowLesson = `e2e-slow-${randomBytes(3).toString('hex')}`;
const takeoverLesson = `e2e-takeover-${randomBytes(3).toString('hex')}`;
// A lesson whose one-off container takes a while: its lab is ready (the pods) before the output is in.
const slowRunLesson = `e2e-slow-run-${randomBytes(3).toString('hex')}`;
const lessons = makeLessonsDir([
  { id: slowLesson, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 4\nUSER ') },
  { id: takeoverLesson, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 2\nUSER ') },
  {
    id: slowRunLesson,
    lessonYaml: (text) =>
      text.replace(
        'command: ["/bin/sh", "/app/hello.sh"]',
        'command: ["/bin/sh", "-c", "sleep 8 && /bin/sh /app/hello.sh"]',
      ),
  },
]);
// Both runners (the child that dies and its replacement) build through the same registry.
const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';

let harness: LabHarness;
let chat: LocalChat;
/** The runner in its own process (fixtures/runner-process.ts) that each test SIGKILLs. */
let child: RunnerProcess | undefined;

beforeAll(async () => {
  harness = await startLabHarness({
    redisDb: 2,
    kubelet: 'virtual',
    env: { LABBOT_LESSONS_DIR: lessons.dir, LABBOT_EXPIRY_WARNING_MINUTES: '5', LABBOT_REGISTRY: registry },
  });
  chat = await harness.startChat();
});

afterAll(async () => {
  await child?.stop('SIGKILL');
  await harness?.stop();
  await lessons.remove();
});

const labOf = (userId: string, lessonId: string) =>
  labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId });

describe('a runner that dies mid-reconcile', () => {
  it('is replaced by a second runner that finishes the lab with nothing duplicated', async () => {
    child = await startRunnerProcess(harness);

    const labId = labOf('ada', slowLesson);
    await chat.type(`start ${slowLesson}`, 'ada');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'building', 30_000);
    await child.stop('SIGKILL');

    const second: Runner = await harness.startRunner();
    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 120_000);
    expect(ready.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
    // The child died mid-build, before any push: the replacement took the build over and made it, once.
    expect(second.builder.stats()).toMatchObject({ builds: 1, pushes: 1, cacheHits: 0 });
    expect(ready.observed.imageTag).toMatch(new RegExp(`^${registry.replaceAll('.', '\\.')}/labbot/${slowLesson}:`));

    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    expect((await core.listNamespace({ labelSelector: `labbot.dev/lab=${labId}` })).items).toHaveLength(1);
    expect((await core.listNamespacedPod({ namespace: ready.namespace })).items).toHaveLength(3);
    const thread = await waitForValue(
      '3/3 in the thread',
      () => chat.thread(ready),
      (texts) => (texts[0] ?? '').includes('Pods ready: 3/3'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread).toHaveLength(1);
    expect(chat.adapter.channelTexts().filter((text) => text.includes('opened'))).toHaveLength(1);
  });
});

describe('20 labs starting when their runner is SIGKILLed', () => {
  it('are taken over by a new runner with production job locks: every lab ready, each with one namespace, thread and status post', async () => {
    child = await startRunnerProcess(harness, { LABBOT_TEST_RUNNER_LOCKS: 'production' });
    const users = Array.from({ length: 20 }, (_, index) => `takeover-${index}`);
    await Promise.all(users.map((user) => chat.type(`start ${takeoverLesson}`, user)));
    const labIds = users.map((user) => labOf(user, takeoverLesson));
    // Killed while it holds reconciles (the shared build takes a few seconds).
    await waitForValue(
      'the runner to be building',
      () => Promise.all(labIds.map((labId) => harness.store.get(labId))),
      (labs) => labs.some((lab) => lab?.observed.phase === 'building'),
      { ...labWait, timeoutMs: 30_000 },
    );
    await child.stop('SIGKILL');

    // The speed (target: all ready within 15 s of the new runner's start) is measured by bench/recovery.ts.
    await harness.startRunner(PRODUCTION_LOCKS);
    const ready = await Promise.all(
      labIds.map((labId) => harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 120_000)),
    );

    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const namespaces = (await core.listNamespace({ labelSelector: 'app.kubernetes.io/managed-by=labbot' })).items;
    for (const lab of ready) {
      expect(namespaces.filter((ns) => ns.metadata?.labels?.['labbot.dev/lab'] === lab.labId)).toHaveLength(1);
      const thread = await waitForValue(
        `3/3 in the thread of ${lab.owner.userId}`,
        () => chat.thread(lab),
        (texts) => (texts[0] ?? '').includes('Pods ready: 3/3'),
        { ...labWait, timeoutMs: 20_000 },
      );
      expect(thread).toHaveLength(1);
    }
    const announcements = chat.adapter.channelTexts().filter((text) => text.includes(takeoverLesson));
    expect(announcements).toHaveLength(20);
  });
});

describe('a lab ready while its one-off container runs, when its runner is SIGKILLed', () => {
  it('is taken over: its container runs again and its output comes into the one status message', async () => {
    child = await startRunnerProcess(harness, { LABBOT_TEST_RUNNER_LOCKS: 'production' });
    const labId = labOf('grace', slowRunLesson);
    await chat.type(`start ${slowRunLesson}`, 'grace');
    // Ready with its pods while the container still runs: the Kubernetes step does not wait for the Docker step.
    const early = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 60_000);
    expect(early.observed.containerOutput).toBeUndefined();
    await child.stop('SIGKILL');

    await harness.startRunner(PRODUCTION_LOCKS);
    const done = await harness.waitForLab(labId, (lab) => lab.observed.containerOutput !== undefined, 120_000);
    expect(done.observed.phase).toBe('ready');
    expect(done.observed.containerOutput).toContain('Hello from inside the Docker container!');

    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    expect((await core.listNamespace({ labelSelector: `labbot.dev/lab=${labId}` })).items).toHaveLength(1);
    const thread = await waitForValue(
      'the output in the thread',
      () => chat.thread(done),
      (texts) => (texts[0] ?? '').includes('Hello from inside the Docker container!'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread).toHaveLength(1);
    expect(thread[0]).toContain('Pods ready: 3/3');
    expect(chat.adapter.channelTexts().filter((text) => text.includes(slowRunLesson))).toHaveLength(1);
  });
});

describe('the janitor', () => {
  it('warns before a lab expires, then tears it down', async () => {
    const runner = await harness.startRunner();
    const labId = labOf('bob', 'docker-vs-kubernetes');
    await chat.type('start docker-vs-kubernetes', 'bob');
    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');

    await harness.store.update(labId, (lab) => ({
      ...lab,
      expiresAt: new Date(Date.now() + 2 * 60_000).toISOString(),
    }));
    const first = await runner.janitor.sweep();
    expect(first.warned).toEqual([labId]);
    expect((await runner.janitor.sweep()).warned).toEqual([]);
    const warned = await waitForValue(
      'the warning',
      () => chat.thread(ready),
      (texts) => texts.some((text) => text.includes('⏰')),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(warned.find((text) => text.includes('⏰'))).toMatch(/expires in about 2 min/);

    await harness.store.update(labId, (lab) => ({ ...lab, expiresAt: new Date(Date.now() - 1000).toISOString() }));
    expect((await runner.janitor.sweep()).expired).toEqual([labId]);
    const stopped = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    await expect(core.readNamespace({ name: stopped.namespace })).rejects.toMatchObject({ code: 404 });
    expect((await harness.store.history(labId)).map((entry) => entry.action)).toContain('desired.stopped');
  });

  it('removes a lab namespace that no lab record owns, and leaves other namespaces alone', async () => {
    const runner = await harness.startRunner();
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const orphan = 'lab-0123456789ab';
    await core.createNamespace({
      body: {
        metadata: {
          name: orphan,
          labels: { 'app.kubernetes.io/managed-by': 'labbot', 'labbot.dev/lab': '0123456789ab' },
        },
      },
    });
    await core.createNamespace({ body: { metadata: { name: 'team-tools' } } });
    const report = await runner.janitor.sweep();
    expect(report.orphansRemoved).toEqual([orphan]);
    await waitForValue(
      'the orphan to go',
      () =>
        core.readNamespace({ name: orphan }).then(
          () => 'present',
          (error: { code?: number }) => (error.code === 404 ? 'gone' : 'error'),
        ),
      (state) => state === 'gone',
      { ...labWait, timeoutMs: 30_000 },
    );
    expect((await core.readNamespace({ name: 'team-tools' })).metadata?.name).toBe('team-tools');
  });

  it('repairs a lab whose namespace vanished behind its back', async () => {
    const runner = await harness.startRunner();
    const labId = labOf('cy', 'docker-vs-kubernetes');
    await chat.type('start docker-vs-kubernetes', 'cy');
    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    await core.deleteNamespace({ name: ready.namespace });
    await waitForValue(
      'the namespace to go',
      () =>
        core.readNamespace({ name: ready.namespace }).then(
          () => 'present',
          () => 'gone',
        ),
      (state) => state === 'gone',
      { ...labWait, timeoutMs: 30_000 },
    );
    expect((await runner.janitor.sweep()).repaired).toEqual([labId]);
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready' && lab.version > ready.version);
    expect((await core.listNamespacedPod({ namespace: ready.namespace })).items).toHaveLength(3);
  });
});
