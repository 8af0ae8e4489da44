import { CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';

// The whole lab through the local chat, the runner, kube-sim with real containers, real Redis and Docker.
const lesson = 'docker-vs-kubernetes';
const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: lesson });

let harness: LabHarness;
let chat: LocalChat;
let runner: Runner;
const imageRequests = () => {
  const stats = runner.builder.stats();
  return stats.builds + stats.cacheHits + stats.waits;
};

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 1 });
  runner = await harness.startRunner();
  chat = await harness.startChat();
});

afterAll(async () => {
  await harness?.stop();
});

describe('a lab from the local chat', () => {
  it('builds the image, runs one container, applies 3 replicas and shows 3/3 Running in the thread; stop removes the namespace', async () => {
    const labId = labOf('ada');
    await chat.type(`start ${lesson}`, 'ada');
    expect(chat.adapter.channelTexts().join('\n')).toContain('Follow it in the thread');

    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');
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
    expect((await rbac.listNamespacedRoleBinding({ namespace: ready.namespace })).items).toHaveLength(1);
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
      (texts) => (texts[0] ?? '').includes('CrashLoopBackOff'),
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(thread[0]).toContain('needs attention');
    expect(thread[0]).toMatch(/⚠️ CrashLoopBackOff: .*(exit|ended|finish)/i);
    await chat.type(`stop ${lesson}`, 'bob');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
  });

  it('turns two starts of the same lab at once into one namespace, one build and one thread', async () => {
    const labId = labOf('cy');
    const channelBefore = chat.adapter.channelTexts().length;
    const requestsBefore = imageRequests();
    await Promise.all([chat.type(`start ${lesson}`, 'cy'), chat.type(`start ${lesson}`, 'cy')]);
    const ready = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');
    expect(imageRequests() - requestsBefore).toBe(1);
    const answers = chat.adapter.channelTexts().slice(channelBefore);
    expect(answers.filter((text) => text.includes('thread') && text.includes('opened'))).toHaveLength(1);
    expect(answers.filter((text) => text.includes('already'))).toHaveLength(1);
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const namespaces = await core.listNamespace({ labelSelector: `labbot.dev/lab=${labId}` });
    expect(namespaces.items).toHaveLength(1);
    expect((await core.listNamespacedPod({ namespace: ready.namespace })).items).toHaveLength(3);
    const history = await harness.store.history(labId);
    expect(history.filter((entry) => entry.action === 'created')).toHaveLength(1);
    await chat.type('stop', 'cy');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
  });
});
