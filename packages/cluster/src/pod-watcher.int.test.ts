// The shared pod watch on kube-sim (virtual kubelet) with a lab started before labbot labelled pods as its own: a
// runner upgraded under running labs still follows their pods, also the ones their old ReplicaSet makes again.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterDriver, createClusterDriver } from './driver.js';
import { loadKubeConfig } from './kubeconfig.js';
import type { LabPodWatch } from './pod-watcher.js';
import type { PodSummary } from './types.js';
import { hardenDeployment } from './workload.js';

let sim: KubeSim;
let driver: ClusterDriver;
let watch: LabPodWatch | undefined;
const wait = { timeoutMs: 30_000, intervalMs: 50 };

const newLab = () => {
  const labId = randomBytes(6).toString('hex');
  return {
    labId,
    namespace: `lab-${labId}`,
    owner: { platform: 'local' as const, workspaceId: 'machine', userId: 'ada' },
    lessonId: 'docker-vs-kubernetes',
    expiresAt: new Date(Date.now() + 3600_000),
    limits: { cpu: '100m', memory: '32Mi', pods: 4 },
  };
};

const lessonDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'hello', labels: { app: 'hello' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'hello' } },
    template: { metadata: { labels: { app: 'hello' } }, spec: { containers: [{ name: 'hello' }] } },
  },
};

/** The Deployment as labbot made it before pods carried its label: the lab in its selector and template, no managed-by. */
function deploymentFromBefore(namespace: string, labId: string): V1Deployment {
  const today = hardenDeployment(lessonDeployment, { namespace, labId, image: 'labbot/busybox:1' }) as V1Deployment;
  const spec = today.spec as NonNullable<V1Deployment['spec']>;
  spec.selector = { matchLabels: { app: 'hello', 'labbot.dev/lab': labId } };
  spec.template.metadata = { labels: { app: 'hello', 'labbot.dev/lab': labId } };
  return today;
}

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'virtual' });
  const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
  driver = createClusterDriver({ kubeConfig, ceilings: { cpu: '2', memory: '1Gi', pods: 10 } });
}, 60_000);

afterAll(async () => {
  await watch?.stop();
  await sim?.stop();
});

describe('the shared pod watch on kube-sim', () => {
  it('follows a lab started before pods carried labbot’s label, and each of today’s labs’ pods once', async () => {
    const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const old = newLab();
    const today = newLab();
    await driver.provisionNamespace(old);
    await apps.createNamespacedDeployment({
      namespace: old.namespace,
      body: deploymentFromBefore(old.namespace, old.labId),
    });
    await driver.provisionNamespace(today);
    await driver.applyDeployment({
      namespace: today.namespace,
      labId: today.labId,
      manifest: lessonDeployment,
      image: 'labbot/busybox:1',
    });
    // The runner starts (upgraded) with both labs running.
    const seen = new Map<string, PodSummary[]>();
    watch = driver.watchLabPods({ debounceMs: 50, onSnapshot: (labId, _namespace, pods) => seen.set(labId, pods) });
    await watch.synced;
    const readyNames = (labId: string) => () =>
      (seen.get(labId) ?? []).filter((pod) => pod.ready).map((pod) => pod.name);
    const oldPods = await waitForValue(
      'the old lab’s 2 pods ready',
      readyNames(old.labId),
      (n) => n.length === 2,
      wait,
    );
    await waitForValue('today’s lab’s 2 pods ready', readyNames(today.labId), (n) => n.length === 2, wait);

    // The learner deletes a pod of the old lab: its old ReplicaSet makes a new one from the old template.
    await core.deleteNamespacedPod({ name: oldPods[0] ?? '', namespace: old.namespace, gracePeriodSeconds: 0 });
    const healed = await waitForValue(
      'the old lab healed',
      readyNames(old.labId),
      (names) => names.length === 2 && !names.includes(oldPods[0] ?? ''),
      wait,
    );
    expect(healed).toContain(oldPods[1]);
    expect(watch.podsOf(today.labId)).toHaveLength(2);
  }, 60_000);
});
