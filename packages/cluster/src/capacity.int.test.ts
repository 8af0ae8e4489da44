// The cluster's room read from kube-sim (virtual kubelet), a page of pods at a time.
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readClusterRoom, roomOf } from './capacity.js';
import { loadKubeConfig } from './kubeconfig.js';

let sim: KubeSim;
const kubeConfig = () => loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'virtual', nodes: { count: 2, cpu: '4', memory: '8Gi', podsPerNode: 20 } });
}, 60_000);

afterAll(async () => {
  await sim?.stop();
});

describe('readClusterRoom', () => {
  it('counts every running pod when the pods come in several pages', async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const namespace = `room-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    for (let index = 0; index < 5; index++) {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: `web-${index}` },
          spec: {
            containers: [
              { name: 'web', image: 'labbot/busybox:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
            ],
          },
        },
      });
    }
    await waitFor('5 pods running', async () => {
      const pods = await core.listNamespacedPod({ namespace });
      return pods.items.length === 5 && pods.items.every((pod) => pod.status?.phase === 'Running');
    });
    const all = await core.listPodForAllNamespaces();
    const expected = roomOf((await core.listNode()).items, all.items);

    const room = await readClusterRoom(kubeConfig(), { podPageSize: 2 });

    expect(room).toEqual(expected);
    expect(room.allocatable).toEqual({ pods: 40, cpuMillicores: 8000, memoryBytes: 16 * 1024 ** 3 });
    expect(room.free.pods).toBe(40 - all.items.length);
    expect(room.free.cpuMillicores).toBeLessThanOrEqual(8000 - 500);
  });
});
