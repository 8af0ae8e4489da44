import { AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';

// Node capacity like the real scheduler: 2 nodes of 2 pods each. A pod no node has room for stays Pending
// (PodScheduled=False, Unschedulable) with a FailedScheduling event, and runs once a pod leaves.
let sim: KubeSim;
let config: KubeConfig;
const namespace = `full-${Date.now().toString(36)}`;

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'virtual', virtualReadyDelayMs: 10, nodes: { count: 2, podsPerNode: 2 } });
  config = new KubeConfig();
  config.loadFromString(sim.kubeconfig);
  await config.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await sim?.stop();
});

const scheduled = (pod: V1Pod) => pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');

describe('kube-sim scheduling with node capacity', () => {
  it('keeps a pod Pending as Unschedulable when every node is full, and runs it when room frees', async () => {
    const core = config.makeApiClient(CoreV1Api);
    const apps = config.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'fill' },
        spec: {
          replicas: 4,
          selector: { matchLabels: { app: 'fill' } },
          template: {
            metadata: { labels: { app: 'fill' } },
            spec: { containers: [{ name: 'app', image: 'labbot/busybox:1' }] },
          },
        },
      },
    });
    const pods = () => core.listNamespacedPod({ namespace }).then((list) => list.items);
    const running = await waitFor('4 pods running', async () => {
      const items = await pods();
      return items.filter((pod) => pod.status?.phase === 'Running').length === 4 ? items : undefined;
    });
    // Two on each node: the scheduler spreads them.
    expect(running.map((pod) => pod.spec?.nodeName).sort()).toEqual([
      'sim-node-1',
      'sim-node-1',
      'sim-node-2',
      'sim-node-2',
    ]);

    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: 'extra' }, spec: { containers: [{ name: 'app', image: 'labbot/busybox:1' }] } },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const extra = await core.readNamespacedPod({ namespace, name: 'extra' });
    expect(extra.status?.phase).toBe('Pending');
    expect(extra.spec?.nodeName).toBeUndefined();
    expect(scheduled(extra)).toMatchObject({ status: 'False', reason: 'Unschedulable' });
    expect(scheduled(extra)?.message).toMatch(/^0\/2 nodes are available: 2 Too many pods\./);
    const events = (await core.listNamespacedEvent({ namespace })).items.filter(
      (event) => event.involvedObject.name === 'extra' && event.reason === 'FailedScheduling',
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('Warning');
    expect(events[0]?.message).toMatch(/^0\/2 nodes are available: 2 Too many pods\./);

    // Room frees: one pod of the Deployment goes (scaled down), and the waiting pod is scheduled and runs.
    await apps.patchNamespacedDeploymentScale({
      namespace,
      name: 'fill',
      body: [{ op: 'replace', path: '/spec/replicas', value: 3 }],
    });
    const started = await waitFor('the extra pod running', async () => {
      const pod = await core.readNamespacedPod({ namespace, name: 'extra' });
      return pod.status?.phase === 'Running' ? pod : undefined;
    });
    expect(started.spec?.nodeName).toMatch(/^sim-node-[12]$/);
    expect(scheduled(started)?.status).toBe('True');
  });

  it('deletes a pod that never got a node at once (no kubelet to wait for)', async () => {
    const core = config.makeApiClient(CoreV1Api);
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: 'waiting' }, spec: { containers: [{ name: 'app', image: 'labbot/busybox:1' }] } },
    });
    expect((await core.readNamespacedPod({ namespace, name: 'waiting' })).spec?.nodeName).toBeUndefined();
    await core.deleteNamespacedPod({ namespace, name: 'waiting' });
    await waitFor('the pod gone', async () => {
      const names = (await core.listNamespacedPod({ namespace })).items.map((pod) => pod.metadata?.name);
      return !names.includes('waiting');
    });
  });
});
