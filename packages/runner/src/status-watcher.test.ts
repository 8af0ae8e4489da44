import type { ClusterDriver } from '@labbot/cluster';
import type { LabRecord } from '@labbot/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReconciler } from './reconciler.js';
import { type StatusWatcher, startStatusWatcher } from './status-watcher.js';
import { builtInLessons, createRunnerWorld, pod } from './testing/runner-fixtures.js';

type World = ReturnType<typeof createRunnerWorld>;
let world: World;
let watcher: StatusWatcher | undefined;

beforeEach(() => {
  world = createRunnerWorld();
});
afterEach(async () => {
  await watcher?.stop();
  watcher = undefined;
});

const stored = async (lab: LabRecord) => {
  const record = await world.store.get(lab.labId);
  if (!record) throw new Error(`lab ${lab.labId} is gone`);
  return record;
};

/** The watcher on the world's fakes, checking a lab short of pods every 10 ms. */
function startShortfallWatcher(stalledAfterMs?: number): StatusWatcher {
  return startStatusWatcher({
    store: world.store,
    cluster: world.cluster,
    notices: world.notices,
    logger: world.logger,
    shortfallCheckMs: 10,
    ...(stalledAfterMs !== undefined ? { stalledAfterMs } : {}),
  });
}

/** A lab whose Deployment is applied and that waits for its pods, as the reconciler leaves it. */
async function waitingLab(): Promise<LabRecord> {
  const lab = await world.newLab();
  await world.cluster.provisionNamespace({
    labId: lab.labId,
    namespace: lab.namespace,
    owner: lab.owner,
    lessonId: lab.lessonId,
    expiresAt: lab.expiresAt,
    limits: { cpu: '500m', memory: '128Mi', pods: 4 },
  });
  return world.store.update(lab.labId, (current) => ({
    ...current,
    observed: { ...current.observed, phase: 'waiting-for-pods', step: 'pods', desiredReplicas: 3, generation: 0 },
  }));
}

const ready = [pod('web-a', true), pod('web-b', true), pod('web-c', true)];

describe('status watcher and reconciler: pods a lab must not miss', () => {
  it('turns a lab ready whose pods are all up the moment its Deployment is applied', async () => {
    // The virtual kubelet under load: the pods are Running before the runner's next step. Their one snapshot used
    // to arrive while the lab was still `building` and was dropped; the lab then waited for pods forever.
    const cluster: ClusterDriver = {
      ...world.cluster,
      applyDeployment: (apply) => {
        const applied = world.cluster.applyDeployment(apply);
        world.cluster.setPods(apply.labId, ready);
        return applied;
      },
    };
    watcher = startStatusWatcher({ store: world.store, cluster, notices: world.notices, logger: world.logger });
    const reconciler = createReconciler({
      store: world.store,
      lessons: await builtInLessons(),
      builder: world.builder,
      cluster,
      notices: world.notices,
      logger: world.logger,
      baseImage: 'labbot/busybox:1',
      ceilings: { cpu: '2', memory: '1Gi', pods: 10 },
      maxConcurrentBuilds: 2,
      onWaitingForPods: (labId) => watcher?.checkShortfall(labId),
    });
    const lab = await world.newLab();
    await reconciler.reconcile(lab.labId, { reason: 'test', finalAttempt: false });
    const record = await stored(lab);
    expect(record.observed.pods.map((each) => each.name)).toEqual(['web-a', 'web-b', 'web-c']);
    expect(record.observed.phase).toBe('ready');
    expect(world.phasesShown(lab.labId).at(-1)).toBe('ready');
  });

  it('records pods the shared watch holds but the lab record missed, when it checks a lab short of pods', async () => {
    const lab = await waitingLab();
    // The pods exist before this watcher subscribes: it never gets their snapshot, only the watch cache has them.
    world.cluster.setPods(lab.labId, ready);
    watcher = startShortfallWatcher();
    watcher.checkShortfall(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('ready'), { timeout: 2000 });
    expect(world.phasesShown(lab.labId)).toEqual(['ready']);
  });

  it('tells the learner when the pods do not come and the cluster says nothing about why', async () => {
    const lab = await waitingLab();
    watcher = startShortfallWatcher(100);
    watcher.checkShortfall(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('degraded'), { timeout: 3000 });
    const record = await stored(lab);
    expect(record.observed.diagnosis).toMatchObject({ reason: 'PodsMissing' });
    expect(record.observed.diagnosis?.summary).toMatch(/asks for 3 pods, but only 0 exist/);
    expect(world.phasesShown(lab.labId)).toEqual(['degraded']);
    // The pods come after all: the lab turns ready by itself and the diagnosis goes.
    world.cluster.setPods(lab.labId, ready);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('ready'), { timeout: 2000 });
    expect((await stored(lab)).observed.diagnosis).toBeUndefined();
  });

  it('leaves a lab short of pods alone while the wait is young, and stops checking once its pods come', async () => {
    const lab = await waitingLab();
    watcher = startShortfallWatcher(60_000);
    watcher.checkShortfall(lab.labId);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await stored(lab)).observed).toMatchObject({ phase: 'waiting-for-pods', pods: [] });
    world.cluster.setPods(lab.labId, ready);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('ready'), { timeout: 2000 });
    expect((await stored(lab)).observed.diagnosis).toBeUndefined();
  });
});
