// The cluster's room kept by the room watch on kube-sim (virtual kubelet): listed a page at a time, then watched, as
// the class capacity check sees it (judgeClassCapacity on a report of that room).
import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { type CapacityReport, judgeClassCapacity, type ResourceAmount } from '@labbot/core';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { waitFor, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterRoom, roomOf } from './capacity.js';
import { loadKubeConfig } from './kubeconfig.js';
import { type ClusterRoomWatch, watchClusterRoom } from './room-watch.js';

let sim: KubeSim;
const kubeConfig = () => loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
const watches: ClusterRoomWatch[] = [];
const LAB: ResourceAmount = { pods: 3, cpuMillicores: 300, memoryBytes: 3 * 64 * 1024 ** 2 };

beforeAll(async () => {
  // A short watch history, so a watch cut long enough must re-list (410 Gone) rather than resume.
  sim = await startKubeSim({
    kubelet: 'virtual',
    watchHistory: 60,
    nodes: { count: 2, cpu: '4', memory: '8Gi', podsPerNode: 20 },
  });
}, 60_000);

afterAll(async () => {
  for (const watch of watches) await watch.stop();
  await sim?.stop();
});

const podBody = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  spec: {
    restartPolicy: 'Never',
    containers: [{ name: 'web', image: 'labbot/busybox:1', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
  },
});

async function namespaceWithPods(count: number): Promise<string> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const namespace = `room-${randomBytes(4).toString('hex')}`;
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  for (let index = 0; index < count; index++)
    await core.createNamespacedPod({ namespace, body: podBody(`web-${index}`) });
  await waitFor(`${count} pods running in ${namespace}`, async () => {
    const pods = await core.listNamespacedPod({ namespace });
    return pods.items.length === count && pods.items.every((pod) => pod.status?.phase === 'Running');
  });
  return namespace;
}

/** What a full list of nodes and pods says the room is (the old read, every 15 s). */
async function listedRoom(): Promise<ClusterRoom> {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  return roomOf((await core.listNode()).items, (await core.listPodForAllNamespaces()).items);
}

/** What `/lab class start <lesson> <minutes> <learners>` is told from a report of this room. */
function classVerdict(room: ClusterRoom, learners: number) {
  const report: CapacityReport = { observedAt: new Date().toISOString(), ...room, labs: { lesson: LAB } };
  return judgeClassCapacity({ lessonId: 'lesson', maxLearners: learners, report, now: new Date() });
}

const freePods = (watch: ClusterRoomWatch, pods: number) =>
  waitForValue(
    `the watched room to have ${pods} pods free`,
    () => watch.room(),
    (room) => room?.free.pods === pods,
    {
      timeoutMs: 15_000,
    },
  );

describe('the cluster room watch', () => {
  it('lists pods a page at a time, then follows a lab: its pods take room, finished or deleted pods give it back', async () => {
    await namespaceWithPods(5);
    const errors: string[] = [];
    const watch = watchClusterRoom(kubeConfig(), {
      podPageSize: 2,
      retryDelayMs: 50,
      onError: (error) => errors.push(error.message),
    });
    watches.push(watch);
    await watch.synced;
    const before = await listedRoom();
    expect(watch.room()).toEqual(before);
    expect(before.allocatable).toEqual({ pods: 40, cpuMillicores: 8000, memoryBytes: 16 * 1024 ** 3 });
    expect(before.free.pods).toBeLessThanOrEqual(40 - 5);

    // A class that takes every pod left still starts (with a warning) before the lab runs.
    const learners = Math.floor(before.free.pods / 3);
    expect(classVerdict(before, learners).outcome).toBe('close');

    // A lab: a namespace and a 3-replica Deployment, as the runner makes it.
    const apps = kubeConfig().makeApiClient(AppsV1Api);
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const lab = `room-lab-${randomBytes(4).toString('hex')}`;
    await core.createNamespace({ body: { metadata: { name: lab } } });
    await apps.createNamespacedDeployment({
      namespace: lab,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: podBody('web').spec },
        },
      },
    });
    const running = await freePods(watch, before.free.pods - 3);
    expect(running).toEqual(await listedRoom());
    expect(running?.free.cpuMillicores).toBe(before.free.cpuMillicores - 300);
    // While the lab runs, the same class no longer fits: the learner-facing refusal names the room left.
    const refused = classVerdict(running as ClusterRoom, learners);
    expect(refused).toMatchObject({ outcome: 'refused' });
    expect(refused.outcome === 'refused' && refused.sentence).toContain(
      `the cluster has room for ${before.free.pods - 3} more`,
    );

    // A pod whose container exits (Succeeded) holds no room any more.
    const single = await namespaceWithPods(1);
    await freePods(watch, before.free.pods - 4);
    const pod = await core.readNamespacedPod({ namespace: single, name: 'web-0' });
    await core.replaceNamespacedPodStatus({
      namespace: single,
      name: 'web-0',
      body: { ...pod, status: { ...pod.status, phase: 'Succeeded' } },
    });
    await freePods(watch, before.free.pods - 3);

    // The lab stops: its namespace goes, with its pods; the room is back and the class fits again.
    await core.deleteNamespace({ name: lab });
    const after = await freePods(watch, before.free.pods);
    expect(after).toEqual(await listedRoom());
    expect(classVerdict(after as ClusterRoom, learners).outcome).toBe('close');
    // Both watches (nodes and pods) ran without a failure.
    expect(errors).toEqual([]);
  });

  it('stays right across a cut watch: resumed from its version, or re-listed when that version is gone (410)', async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const errors: string[] = [];
    // Retries 1 s after the first cut and 2 s after the second: time to change the cluster while no watch is open.
    const watch = watchClusterRoom(kubeConfig(), { retryDelayMs: 1000, onError: (error) => errors.push(error.code) });
    watches.push(watch);
    await watch.synced;
    const start = (await freePods(watch, (await listedRoom()).free.pods))?.free.pods ?? 0;

    // Cut: a pod made while no watch is open is replayed when the watch resumes.
    expect(sim.dropWatches(true)).toBeGreaterThan(0);
    const first = await namespaceWithPods(2);
    await freePods(watch, start - 2);

    // Cut, then push the history past the watch's version: only a new list shows that a pod is gone.
    const cutAt = errors.length;
    sim.dropWatches(true);
    await waitFor('the cut to be reported', () => errors.length > cutAt);
    sim.resetStats();
    await core.deleteNamespacedPod({ namespace: first, name: 'web-0' });
    for (let index = 0; index < 70; index++)
      await core.createNamespacedConfigMap({ namespace: first, body: { metadata: { name: `filler-${index}` } } });
    await freePods(watch, start - 1);
    // The room watch listed pods again (a resumed watch would have been refused: its version was gone). How many
    // times depends on when its retries fall against the history being pushed (1 on a quiet machine, 4 seen under
    // load): what matters is that it listed and that the room is right.
    expect(sim.stats().byVerbResource['list pods']).toBeGreaterThanOrEqual(1);
    expect(watch.room()).toEqual(await listedRoom());
  });
});
