import { randomBytes } from 'node:crypto';
import { CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { waitForValue } from '@labbot/test-support';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, labWait, readyWithOutput, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

// The whole lab through the local chat, the runner, kube-sim with real containers, real Redis and Docker.
// Each test that claims a build uses its own copy of the lesson, new to this run, so a build really happens.
const suffix = randomBytes(3).toString('hex');
const lesson = `e2e-flow-${suffix}`;
const twiceLesson = `e2e-flow-twice-${suffix}`;
const lessons = makeLessonsDir([{ id: lesson }, { id: twiceLesson }]);
const labOf = (userId: string, lessonId = lesson) =>
  labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId });

let harness: LabHarness;
let chat: LocalChat;
let runner: Runner;

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 1, env: { LABBOT_LESSONS_DIR: lessons.dir } });
  runner = await harness.startRunner();
  chat = await harness.startChat();
});

afterAll(async () => {
  await harness?.stop();
  await lessons.remove();
});

describe('a lab from the local chat', () => {
  it('builds the image, runs one container, applies 3 replicas and shows 3/3 Running in the thread; stop removes the namespace', async () => {
    const labId = labOf('ada');
    const buildsBefore = runner.builder.stats().builds;
    await chat.type(`start ${lesson}`, 'ada');
    expect(chat.adapter.channelTexts().join('\n')).toContain('Follow it in the thread');

    const ready = await harness.waitForLab(labId, readyWithOutput);
    // Built now (one real build of a lesson new to this run), not found in a cache.
    expect(runner.builder.stats().builds - buildsBefore).toBe(1);
    expect(ready.observed.buildLog?.length ?? 0).toBeGreaterThan(0);
    // The run-once container is removed after it printed.
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const runOnceLeft = await docker.listContainers({
      all: true,
      filters: { label: ['labbot.dev/run-once=true'], ancestor: [ready.observed.imageTag ?? 'no-image'] },
    });
    expect(runOnceLeft).toEqual([]);
    expect(ready.observed.containerOutput).toContain('Hello from inside the Docker container!');
    expect(ready.observed.pods.filter((pod) => pod.ready && pod.phase === 'Running')).toHaveLength(3);

    const thread = await waitForValue(
      'the thread to show 3/3',
      () => chat.thread(ready),
      (texts) => (texts[0] ?? '').includes('Pods ready: 3/3'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread).toHaveLength(1);
    const status = thread[0] ?? '';
    expect(status).toContain('Docker vs Kubernetes · ready');
    expect(status).toContain('Hello from inside the Docker container!');
    expect(status).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(status.match(/^hello-\S+\s+1\/1\s+Running\s+0/gm)).toHaveLength(3);
    expect(status).toContain(`Image \`labbot/${lesson}:`);

    // Every guard rail of the sandbox is in the lab's namespace.
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const namespace = await core.readNamespace({ name: ready.namespace });
    expect(namespace.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'labbot',
      'labbot.dev/lab': labId,
      'labbot.dev/lesson': lesson,
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(namespace.metadata?.annotations?.['labbot.dev/expires-at']).toBe(ready.expiresAt);
    const [quota] = (await core.listNamespacedResourceQuota({ namespace: ready.namespace })).items;
    expect(quota?.spec?.hard).toMatchObject({ 'services.nodeports': '0', 'services.loadbalancers': '0' });
    expect(Number(quota?.spec?.hard?.pods)).toBeGreaterThanOrEqual(4);
    const [limits] = (await core.listNamespacedLimitRange({ namespace: ready.namespace })).items;
    expect(limits?.spec?.limits[0]?._default).toMatchObject({ cpu: '100m', memory: '64Mi' });
    const policies = await harness.kubeConfig
      .makeApiClient(NetworkingV1Api)
      .listNamespacedNetworkPolicy({ namespace: ready.namespace });
    expect(policies.items.map((policy) => policy.metadata?.name).sort()).toEqual([
      'allow-dns',
      'allow-same-namespace',
      'default-deny',
    ]);
    const account = await core.readNamespacedServiceAccount({ namespace: ready.namespace, name: 'lab-learner' });
    expect(account.automountServiceAccountToken).toBe(false);
    const rbac = harness.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    expect((await rbac.listNamespacedRole({ namespace: ready.namespace })).items).toHaveLength(1);
    // The learner's binding, and the runner's own (its lab-manager ClusterRole, in this namespace only).
    const bindings = (await rbac.listNamespacedRoleBinding({ namespace: ready.namespace })).items;
    expect(bindings.map((binding) => `${binding.metadata?.name}:${binding.roleRef.name}`).sort()).toEqual([
      'lab-learner:lab-learner',
      'labbot-runner:labbot-lab-manager',
    ]);
    const pods = await core.listNamespacedPod({ namespace: ready.namespace });
    for (const pod of pods.items) {
      const container = pod.spec?.containers[0];
      expect(container?.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.spec?.securityContext?.runAsNonRoot).toBe(true);
    }

    await chat.type('stop', 'ada');
    const stopped = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
    await expect(core.readNamespace({ name: stopped.namespace })).rejects.toMatchObject({ code: 404 });
    await waitForValue(
      'the thread to say stopped',
      () => chat.thread(stopped),
      (texts) => (texts[0] ?? '').includes('Lab stopped.'),
      { ...labWait, timeoutMs: 10_000 },
    );
  });

  it('explains CrashLoopBackOff in plain words when the image prints and exits', async () => {
    const labId = labOf('bob');
    await chat.type(`start ${lesson} exits`, 'bob');
    const degraded = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'degraded');
    expect(degraded.observed.diagnosis?.reason).toBe('CrashLoopBackOff');
    expect(degraded.observed.containerOutput).toContain('Hello from inside the Docker container!');
    const thread = await waitForValue(
      'the diagnosis in the thread',
      () => chat.thread(degraded),
      // The lesson's explanation names CrashLoopBackOff even while the lab is ready: wait for the diagnosis line.
      (texts) => (texts[0] ?? '').includes('⚠️ CrashLoopBackOff'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain('needs attention');
    expect(thread[0]).toMatch(/⚠️ CrashLoopBackOff: .*(exit|ended|finish)/i);
    await chat.type(`stop ${lesson}`, 'bob');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
  });

  it('turns two starts of the same lab at once into one namespace, one build and one thread', async () => {
    const labId = labOf('cy', twiceLesson);
    const channelBefore = chat.adapter.channelTexts().length;
    const statsBefore = runner.builder.stats();
    await Promise.all([chat.type(`start ${twiceLesson}`, 'cy'), chat.type(`start ${twiceLesson}`, 'cy')]);
    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');
    // A lesson new to this run: exactly one real build, and nobody waited on it or found it cached.
    const stats = runner.builder.stats();
    expect(stats.builds - statsBefore.builds).toBe(1);
    expect(stats.waits - statsBefore.waits).toBe(0);
    expect(stats.cacheHits - statsBefore.cacheHits).toBe(0);
    const answers = chat.adapter.channelTexts().slice(channelBefore);
    expect(answers.filter((text) => text.includes('thread') && text.includes('opened'))).toHaveLength(1);
    expect(answers.filter((text) => text.includes('already'))).toHaveLength(1);
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace({ labelSelector: `labbot.dev/lab=${labId}` });
    expect(namespaces.items).toHaveLength(1);
    expect((await core.listNamespacedPod({ namespace: ready.namespace })).items).toHaveLength(3);
    const history = await harness.store.history(labId);
    expect(history.filter((entry) => entry.action === 'created')).toHaveLength(1);
    await chat.type(`stop ${twiceLesson}`, 'cy');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
  });
});
