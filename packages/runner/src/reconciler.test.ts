import { LabbotError, type LabRecord, movePhase } from '@labbot/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { createReconciler, type ReconcilerOptions, SUPERSEDED_REASON } from './reconciler.js';
import { builtInLessons, createRunnerWorld, pod } from './testing/runner-fixtures.js';

type World = ReturnType<typeof createRunnerWorld>;
let world: World;
let reconcile: (labId: string, finalAttempt?: boolean, reason?: string) => Promise<void>;
let waitingForPods: string[];

/** A reconciler on the world's fakes; `builder` replaces the world's (e.g. one that holds a build). */
async function reconcilerOn(
  builder: World['builder'] = world.builder,
  maxConcurrentRuns?: number,
  extra: Partial<ReconcilerOptions> = {},
) {
  const reconciler = createReconciler({
    store: world.store,
    lessons: await builtInLessons(),
    builder,
    cluster: world.cluster,
    notices: world.notices,
    logger: world.logger,
    baseImage: 'labbot/busybox:1',
    ceilings: { cpu: '2', memory: '1Gi', pods: 10 },
    maxConcurrentBuilds: 2,
    ...(maxConcurrentRuns ? { maxConcurrentRuns } : {}),
    onWaitingForPods: (labId) => waitingForPods.push(labId),
    ...extra,
  });
  return (labId: string, finalAttempt = false, reason = 'test') =>
    reconciler.reconcile(labId, { reason, finalAttempt });
}

beforeEach(async () => {
  world = createRunnerWorld();
  waitingForPods = [];
  reconcile = await reconcilerOn();
});

const stored = async (lab: LabRecord) => {
  const record = await world.store.get(lab.labId);
  if (!record) throw new Error(`lab ${lab.labId} is gone`);
  return record;
};

/** A failure a retry cannot fix (e.g. a lesson's Dockerfile error). */
const permanent = (code: string) => new LabbotError(code, `${code} happened`, { userMessage: `${code} in words.` });
/** A failure a retry may fix (e.g. the API server was briefly away). */
const transient = (code: string) => new LabbotError(code, `${code} happened`, { retryable: true });

describe('reconcile: bringing a lab up', () => {
  it('provisions, builds, runs once and deploys, then waits for the pods', async () => {
    const lab = await world.newLab();
    await reconcile(lab.labId);
    const record = await stored(lab);
    expect(record.observed).toMatchObject({
      phase: 'waiting-for-pods',
      step: 'pods',
      generation: 0,
      imageCached: false,
      containerOutput: 'Hello from the container!\n',
      desiredReplicas: 3,
    });
    expect(record.observed.imageTag).toMatch(/^labbot\/docker-vs-kubernetes:[0-9a-f]{12}$/);
    expect(record.observed.buildLog?.length).toBeGreaterThan(0);
    expect(world.cluster.namespaces.get(lab.namespace)?.labId).toBe(lab.labId);
    const deployment = world.cluster.deployments.get(lab.namespace) as {
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    expect(deployment.spec.replicas).toBe(3);
    expect(deployment.spec.template.spec.containers.map((c) => c.image)).toEqual([record.observed.imageTag]);
    expect(world.builder.runs.map((run) => [run.image, run.user])).toEqual([[record.observed.imageTag, '10001']]);
    expect(waitingForPods).toEqual([lab.labId]);
    // The fake's container ends at once, before the lab is past building: the output is shown with the deploy (one
    // notice; running-once, deploying and the pods' phase back to back made the chat show a class lab's ready state
    // two or three times). A container still running then: next test.
    expect(world.phasesShown(lab.labId)).toEqual([
      'provisioning',
      'building',
      'building',
      'deploying',
      'waiting-for-pods',
    ]);
  });

  it('goes straight to ready when the pods recorded during the deploy are all ready', async () => {
    const lab = await world.newLab();
    // The pod watch records pods while the runner is still deploying (see the status watcher).
    world.cluster.failNext('applyDeployment', transient('CLUSTER_TIMEOUT'));
    await expect(reconcile(lab.labId)).rejects.toThrow(/CLUSTER_TIMEOUT happened/);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: { ...current.observed, pods: [pod('a', true), pod('b', true), pod('c', true)] },
    }));
    await reconcile(lab.labId);
    expect((await stored(lab)).observed.phase).toBe('ready');
    expect((await world.store.history(lab.labId)).map((entry) => entry.action)).toContain('observed.ready');
    expect(waitingForPods).toEqual([]);
  });

  it('reuses the image and skips the one-off container when a retried job finds them done', async () => {
    const lab = await world.newLab();
    world.cluster.failNext('applyDeployment', transient('CLUSTER_TIMEOUT'));
    await expect(reconcile(lab.labId)).rejects.toThrow();
    await reconcile(lab.labId);
    expect((await stored(lab)).observed).toMatchObject({ phase: 'waiting-for-pods', imageCached: true });
    expect(world.builder.stats()).toMatchObject({ builds: 1, cacheHits: 1 });
    expect(world.builder.runs).toHaveLength(1);
  });

  it('runs each lab its own container, at most the operator limit at once, the others in the order they asked', async () => {
    // Containers that keep running until the test lets them finish, each printing its own lab's line.
    const running: { image: string; finish: () => void }[] = [];
    let mostAtOnce = 0;
    let started = 0;
    const held = Object.assign(Object.create(world.builder) as World['builder'], {
      runOnce: async (options: Parameters<World['builder']['runOnce']>[0]) => {
        const output = `container ${++started}\n`;
        const result = await world.builder.runOnce(options);
        await new Promise<void>((resolve) => {
          running.push({ image: options.image, finish: resolve });
          mostAtOnce = Math.max(mostAtOnce, running.length);
        });
        return { ...result, output };
      },
    });
    const limited = await reconcilerOn(held, 2);
    const labs = [await world.newLab(), await world.newLab(), await world.newLab()];
    const done = Promise.all(labs.map((lab) => limited(lab.labId)));
    await vi.waitFor(() => expect(running).toHaveLength(2));
    // The third lab waits for a free run while two containers run.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(world.builder.runs).toHaveLength(2);
    // Its Deployment is applied meanwhile: the pods, not the queued container, decide its phase.
    expect((await stored(labs[2] as LabRecord)).observed).toMatchObject({ phase: 'waiting-for-pods' });
    expect((await stored(labs[2] as LabRecord)).observed.containerOutput).toBeUndefined();
    running.shift()?.finish();
    // One ended: the third lab's container starts.
    await vi.waitFor(() => expect(running).toHaveLength(2));
    expect(world.builder.runs).toHaveLength(3);
    for (const run of running.splice(0)) run.finish();
    await done;
    expect(mostAtOnce).toBe(2);
    // Applied while its container ran: the deploy and the pods' phase are told as they come, the output once more.
    expect(world.phasesShown(labs[0]?.labId ?? '')).toEqual([
      'provisioning',
      'building',
      'building',
      'deploying',
      'waiting-for-pods',
      'waiting-for-pods',
    ]);
    // Three containers, three outputs: no lab is shown another's run.
    const outputs = await Promise.all(labs.map(async (lab) => (await stored(lab)).observed.containerOutput));
    expect(new Set(outputs).size).toBe(3);
  });

  /** The world's builder whose one-off containers keep running until `finish` (with their output) or `fail`. */
  function slowContainers() {
    let finish: () => void = () => {};
    let fail: (error: Error) => void = () => {};
    const ended = new Promise<void>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    const builder: World['builder'] = Object.assign(Object.create(world.builder) as World['builder'], {
      runOnce: async (options: Parameters<World['builder']['runOnce']>[0]) => {
        const result = await world.builder.runOnce(options);
        await ended;
        return result;
      },
    });
    return { builder, finish: () => finish(), fail: (error: Error) => fail(error) };
  }

  /** The pod watch records the lab's three pods ready (it moves a lab whose Deployment is applied). */
  async function podsReady(lab: LabRecord) {
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: {
        ...movePhase('pods', current.observed, 'ready'),
        pods: [pod('a', true), pod('b', true), pod('c', true)],
      },
    }));
  }

  it('a lab whose container is slow is ready with its pods meanwhile; the output comes later, told once more', async () => {
    const { builder, finish } = slowContainers();
    const slow = await reconcilerOn(builder);
    const lab = await world.newLab();
    const done = slow(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('waiting-for-pods'));
    expect(world.cluster.deployments.has(lab.namespace)).toBe(true);
    await podsReady(lab);
    const ready = await stored(lab);
    expect(ready.observed).toMatchObject({ phase: 'ready', imageTag: expect.any(String) });
    expect(ready.observed.containerOutput).toBeUndefined();
    const shown = world.phasesShown(lab.labId);
    expect(shown).toEqual(['provisioning', 'building', 'building', 'deploying', 'waiting-for-pods']);

    finish();
    await done;
    expect((await stored(lab)).observed).toMatchObject({
      phase: 'ready',
      containerOutput: 'Hello from the container!\n',
    });
    // One notice more, with the output; nothing else.
    expect(world.phasesShown(lab.labId)).toEqual([...shown, 'ready']);
    expect(world.builder.runs).toHaveLength(1);
  });

  it('a container run that fails for good after the pods were ready fails the lab with its sentence', async () => {
    const { builder, fail } = slowContainers();
    const slow = await reconcilerOn(builder);
    const lab = await world.newLab();
    const done = slow(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('waiting-for-pods'));
    await podsReady(lab);
    fail(permanent('RUN_BROKEN'));
    await done;
    const record = await stored(lab);
    expect(record.observed.phase).toBe('failed');
    expect(record.observed.error).toEqual({ code: 'RUN_BROKEN', step: 'run-once', message: 'RUN_BROKEN in words.' });
    expect(world.phasesShown(lab.labId).at(-1)).toBe('failed');
  });

  it('provisions at most the limit of namespaces at once, the others in order (a burst would hold up the build)', async () => {
    const held: (() => void)[] = [];
    let mostAtOnce = 0;
    let active = 0;
    const cluster: World['cluster'] = Object.assign(Object.create(world.cluster) as World['cluster'], {
      provisionNamespace: async (provision: Parameters<World['cluster']['provisionNamespace']>[0]) => {
        active++;
        mostAtOnce = Math.max(mostAtOnce, active);
        await new Promise<void>((resolve) => held.push(resolve));
        active--;
        return world.cluster.provisionNamespace(provision);
      },
    });
    const limited = await reconcilerOn(world.builder, undefined, { cluster, maxConcurrentProvisions: 2 });
    const labs = [await world.newLab(), await world.newLab(), await world.newLab()];
    const done = Promise.all(labs.map((lab) => limited(lab.labId)));
    await vi.waitFor(() => expect(held).toHaveLength(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(held).toHaveLength(2);
    held.shift()?.();
    await vi.waitFor(() => expect(held).toHaveLength(2));
    for (const release of held.splice(0)) release();
    await done;
    expect(mostAtOnce).toBe(2);
    for (const lab of labs) expect((await stored(lab)).observed.phase).toBe('waiting-for-pods');
  });

  /** The world's cluster with namespace provisioning held until `release` (or failing with `error` then). */
  function heldProvisioning() {
    let release: (error?: Error) => void = () => {};
    const held = new Promise<Error | undefined>((resolve) => {
      release = resolve;
    });
    const cluster: World['cluster'] = Object.assign(Object.create(world.cluster) as World['cluster'], {
      provisionNamespace: async (provision: Parameters<World['cluster']['provisionNamespace']>[0]) => {
        const error = await held;
        if (error) throw error;
        return world.cluster.provisionNamespace(provision);
      },
    });
    return { cluster, release: (error?: Error) => release(error) };
  }

  it('runs the one-off container once the image is built, while the namespace is still provisioned, and records its output at once', async () => {
    const { cluster, release } = heldProvisioning();
    const early = await reconcilerOn(world.builder, undefined, { cluster });
    const lab = await world.newLab();
    const done = early(lab.labId);
    await vi.waitFor(() => expect(world.builder.runs).toHaveLength(1));
    await vi.waitFor(async () =>
      expect((await stored(lab)).observed).toMatchObject({
        phase: 'provisioning',
        containerOutput: 'Hello from the container!\n',
        imageTag: world.builder.runs[0]?.image,
      }),
    );
    release();
    await done;
    expect((await stored(lab)).observed).toMatchObject({
      phase: 'waiting-for-pods',
      containerOutput: expect.any(String),
    });
    expect(world.builder.runs).toHaveLength(1);
    // Its output is shown with the deploy, as for a lab whose output was recorded before.
    expect(world.phasesShown(lab.labId)).toEqual([
      'provisioning',
      'building',
      'building',
      'deploying',
      'waiting-for-pods',
    ]);
  });

  it('a lab whose container ran before its reconcile broke off does not run it again on the next one', async () => {
    const { cluster, release } = heldProvisioning();
    const first = await reconcilerOn(world.builder, undefined, { cluster });
    const lab = await world.newLab();
    const cutOff = first(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.containerOutput).toBeDefined());
    release(transient('CLUSTER_UNAVAILABLE'));
    await expect(cutOff).rejects.toThrow();
    // The next reconcile (a retry, or a runner taking the lab over) finds the output in the record.
    await reconcile(lab.labId);
    expect(world.builder.runs).toHaveLength(1);
    expect((await stored(lab)).observed).toMatchObject({
      phase: 'waiting-for-pods',
      containerOutput: 'Hello from the container!\n',
    });
  });

  it('labs asking for the same image at once share one ensureImage call (one context hash, one registry check)', async () => {
    let calls = 0;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const builder: World['builder'] = Object.assign(Object.create(world.builder) as World['builder'], {
      ensureImage: async (request: Parameters<World['builder']['ensureImage']>[0]) => {
        calls++;
        await held;
        return world.builder.ensureImage(request);
      },
    });
    const shared = await reconcilerOn(builder);
    const labs = [await world.newLab(), await world.newLab(), await world.newLab()];
    const done = Promise.all(labs.map((lab) => shared(lab.labId)));
    await vi.waitFor(async () => {
      for (const lab of labs) expect((await stored(lab)).observed.phase).toBe('building');
    });
    release();
    await done;
    expect(calls).toBe(1);
    const records = await Promise.all(labs.map(stored));
    expect(new Set(records.map((record) => record.observed.imageTag)).size).toBe(1);
    expect(records.map((record) => record.observed.imageCached).sort()).toEqual([false, true, true]);
    for (const record of records) expect(record.observed.buildLog?.length).toBeGreaterThan(0);
  });

  it('does nothing for a lab that is ready, degraded, waiting for its pods or failed', async () => {
    for (const phase of ['ready', 'degraded', 'waiting-for-pods', 'failed'] as const) {
      const lab = await world.newLab();
      await world.store.update(lab.labId, (current) => ({
        ...current,
        observed: { ...current.observed, phase, generation: 0 },
      }));
      await reconcile(lab.labId);
      expect((await stored(lab)).observed.phase).toBe(phase);
      expect(world.cluster.namespaces.has(lab.namespace)).toBe(false);
    }
    expect(world.builder.stats().builds).toBe(0);
    expect(world.events).toEqual([]);
  });

  it('ignores a reconcile of a lab that was deleted', async () => {
    await expect(reconcile('0123456789ab')).resolves.toBeUndefined();
    expect(world.events).toEqual([]);
  });
});

describe('reconcile: failures', () => {
  it.each([
    ['namespace', 'provisionNamespace', 'cluster'],
    ['deploy', 'applyDeployment', 'cluster'],
    ['build', 'ensureImage', 'builder'],
    ['run-once', 'runOnce', 'builder'],
  ] as const)(
    'a failure that a retry cannot fix in the %s step fails the lab at once, in words',
    async (step, method, where) => {
      const lab = await world.newLab();
      if (where === 'cluster') world.cluster.failNext(method as 'applyDeployment', permanent('STEP_BROKEN'));
      else world.builder.failNext(method as 'runOnce', permanent('STEP_BROKEN'));
      await reconcile(lab.labId);
      const record = await stored(lab);
      expect(record.observed.phase).toBe('failed');
      expect(record.observed.error).toEqual({ code: 'STEP_BROKEN', step, message: 'STEP_BROKEN in words.' });
      expect(world.phasesShown(lab.labId).at(-1)).toBe('failed');
      const failed = (await world.store.history(lab.labId)).find((entry) => entry.action === 'lab.failed');
      expect(failed?.detail).toEqual({ code: 'STEP_BROKEN', step });
    },
  );

  it('throws a retryable failure for the job to retry, and fails the lab on the final attempt', async () => {
    const lab = await world.newLab();
    world.cluster.failNext('provisionNamespace', transient('CLUSTER_UNAVAILABLE'));
    await expect(reconcile(lab.labId)).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'CLUSTER_UNAVAILABLE' && error.retryable,
    );
    expect((await stored(lab)).observed.phase).not.toBe('failed');

    world.cluster.failNext('provisionNamespace', transient('CLUSTER_UNAVAILABLE'));
    await reconcile(lab.labId, true);
    expect((await stored(lab)).observed).toMatchObject({
      phase: 'failed',
      error: { code: 'CLUSTER_UNAVAILABLE', step: 'namespace' },
    });
  });

  it('fails an unknown lesson in the lesson step, never retrying it', async () => {
    const lab = await world.newLab({ lessonId: 'no-such-lesson' });
    await reconcile(lab.labId);
    expect((await stored(lab)).observed).toMatchObject({ phase: 'failed', error: { step: 'lesson' } });
  });

  it('leaves a failed lab failed until a reset', async () => {
    const lab = await world.newLab();
    world.builder.failNext('ensureImage', permanent('BUILD_FAILED'));
    await reconcile(lab.labId);
    await reconcile(lab.labId);
    expect(world.builder.stats().builds).toBe(0);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      desired: { ...current.desired, generation: current.desired.generation + 1 },
    }));
    await reconcile(lab.labId);
    const record = await stored(lab);
    expect(record.observed).toMatchObject({ phase: 'waiting-for-pods', generation: 1 });
    expect(record.observed.error).toBeUndefined();
  });
});

describe('reconcile: two runs of one lab at once (a job taken back after its lock expired)', () => {
  /** The world's builder, whose first build waits until `release()`: the run that asked is held mid-build. */
  function heldBuilder() {
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let first = true;
    const builder: World['builder'] = {
      ...world.builder,
      ensureImage: async (request) => {
        if (first) {
          first = false;
          await held;
        }
        return world.builder.ensureImage(request);
      },
    };
    return { builder, release };
  }

  it('the stale run leaves the lab the other run brought up as it is: not failed, no failure told', async () => {
    const lab = await world.newLab();
    const { builder, release } = heldBuilder();
    const stale = (await reconcilerOn(builder))(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('building'));
    // The job, taken back, runs again and brings the lab up; the pod watch then records its pods ready.
    await reconcile(lab.labId);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: {
        ...movePhase('pods', current.observed, 'ready'),
        pods: [pod('a', true), pod('b', true), pod('c', true)],
      },
    }));
    release();
    await stale;
    const record = await stored(lab);
    expect(record.observed.phase).toBe('ready');
    expect(record.observed.error).toBeUndefined();
    expect((await world.store.history(lab.labId)).map((entry) => entry.action)).not.toContain('lab.failed');
    expect(world.phasesShown(lab.labId)).not.toContain('failed');
  });

  /**
   * Starts `staleRun` on a new lab with its build held, lets another run take the lab over, has the learner stop it
   * (the other run begins the teardown), then lets the stale run go on. Returns the lab and the stale run's outcome.
   */
  async function stoppedUnderAStaleRun(
    extra: Partial<ReconcilerOptions>,
    finalAttempt: boolean,
    reason?: string,
  ): Promise<{ lab: LabRecord; stale: Promise<void> }> {
    const lab = await world.newLab();
    const { builder, release } = heldBuilder();
    const staleRun = await reconcilerOn(builder, undefined, extra);
    const stale = staleRun(lab.labId, finalAttempt, reason);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('building'));
    await reconcile(lab.labId);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      desired: { ...current.desired, state: 'stopped' },
      observed: movePhase('reconciler', current.observed, 'stopping'),
    }));
    release();
    return { lab, stale };
  }

  it('when the lab still needs work (stopped meanwhile), the stale run asks for a retry; never fails the lab', async () => {
    const { lab, stale } = await stoppedUnderAStaleRun({}, false);
    await expect(stale).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'LAB_MOVED_ON' && error.retryable,
    );
    expect((await stored(lab)).observed.phase).toBe('stopping');
    // Its retry decides from the stored record: the teardown.
    await reconcile(lab.labId);
    expect((await stored(lab)).observed.phase).toBe('stopped');
    expect((await world.store.history(lab.labId)).map((entry) => entry.action)).not.toContain('lab.failed');
  });

  it('on its last attempt, the stale run asks for one more reconcile of the lab, which then stops it; only once', async () => {
    const requeued: [string, string][] = [];
    const requeue = async (labId: string, reason: string) => requeued.push([labId, reason]);
    const { lab, stale } = await stoppedUnderAStaleRun({ requeue }, true);
    // No retry is left to it: it resolves, and the lab is asked for again instead of waiting for a later event.
    await stale;
    expect(requeued).toEqual([[lab.labId, SUPERSEDED_REASON]]);
    expect((await stored(lab)).observed.phase).toBe('stopping');
    await reconcile(lab.labId, false, SUPERSEDED_REASON);
    expect((await stored(lab)).observed.phase).toBe('stopped');
    // A run asked for that way and superseded again on its last attempt does not ask once more.
    const again = await stoppedUnderAStaleRun({ requeue }, true, SUPERSEDED_REASON);
    await again.stale;
    expect(requeued).toHaveLength(1);
  });
});

describe('reconcile: a lab taken over from a runner that died does not redo what was done', () => {
  /** A lab whose first run got past the namespace, the build and its container, and failed to apply (retryable). */
  async function labLeftDeploying(): Promise<LabRecord> {
    const lab = await world.newLab();
    world.cluster.failNext('applyDeployment', transient('CLUSTER_TIMEOUT'));
    await expect(reconcile(lab.labId)).rejects.toThrow();
    expect((await stored(lab)).observed).toMatchObject({ phase: 'deploying', containerOutput: expect.any(String) });
    return lab;
  }
  /** The driver calls of one reconcile of the lab, and the phases it showed. */
  async function takeOver(lab: LabRecord) {
    const calls = world.cluster.calls.length;
    const shown = world.phasesShown(lab.labId).length;
    await reconcile(lab.labId);
    return { calls: world.cluster.calls.slice(calls), shown: world.phasesShown(lab.labId).slice(shown) };
  }

  it('does not provision a namespace again that one read finds standing as this lab made it', async () => {
    const lab = await labLeftDeploying();
    const { calls, shown } = await takeOver(lab);
    expect(calls).toContain('namespaceProvisioned');
    expect(calls).not.toContain('provisionNamespace');
    expect(shown).not.toContain('provisioning');
    expect((await stored(lab)).observed.phase).toBe('waiting-for-pods');
    expect(world.builder.runs).toHaveLength(1);
  });

  it('provisions the namespace again when the read finds it gone (or cannot tell)', async () => {
    const lab = await labLeftDeploying();
    world.cluster.removeNamespace(lab.namespace);
    const gone = await takeOver(lab);
    expect(gone.calls).toContain('provisionNamespace');
    expect(world.cluster.namespaces.get(lab.namespace)?.labId).toBe(lab.labId);
    expect((await stored(lab)).observed.phase).toBe('waiting-for-pods');

    const other = await labLeftDeploying();
    world.cluster.failNext('namespaceProvisioned', transient('CLUSTER_UNAVAILABLE'));
    expect((await takeOver(other)).calls).toContain('provisionNamespace');
    expect((await stored(other)).observed.phase).toBe('waiting-for-pods');
  });

  it('provisions the namespace again when a dead runner cut its provisioning off, though the lab was building', async () => {
    // The namespace and the image are made at once: a lab shows "building" while its RoleBindings may not be applied.
    const lab = await labLeftDeploying();
    world.cluster.cutProvisioning(lab.namespace);
    const { calls } = await takeOver(lab);
    expect(calls).toContain('provisionNamespace');
    const deploy = calls.findIndex((call) => call.startsWith('applyDeployment'));
    expect(calls.indexOf('provisionNamespace')).toBeLessThan(deploy);
    expect((await stored(lab)).observed.phase).toBe('waiting-for-pods');
    // Provisioned in full now: a further takeover finds it standing.
    expect((await takeOver(lab)).calls).not.toContain('provisionNamespace');
  });

  /** A runner that applied the lab's Deployment and died while its container ran (the output never recorded). */
  async function labOfDeadRunner(): Promise<LabRecord> {
    const lab = await world.newLab();
    const dying: World['builder'] = { ...world.builder, runOnce: () => new Promise(() => {}) };
    void (await reconcilerOn(dying))(lab.labId);
    await vi.waitFor(async () => expect((await stored(lab)).observed.phase).toBe('waiting-for-pods'));
    expect(world.cluster.deployments.has(lab.namespace)).toBe(true);
    return lab;
  }

  /** The same lab as a runner before the lab's phase followed its pods left it: held in running-once. */
  async function labOfDeadOlderRunner(): Promise<LabRecord> {
    const lab = await labOfDeadRunner();
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: { ...current.observed, phase: 'running-once', step: 'run-once' },
    }));
    return lab;
  }

  it('a lab ready without its output: only the container runs, once; the Deployment and namespace are left as they are', async () => {
    const lab = await labOfDeadRunner();
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: {
        ...movePhase('pods', current.observed, 'ready'),
        pods: [pod('a', true), pod('b', true), pod('c', true)],
      },
    }));
    // The learner scaled it meanwhile: a takeover must not undo that.
    (world.cluster.deployments.get(lab.namespace) as { spec: { replicas: number } }).spec.replicas = 5;
    const { calls, shown } = await takeOver(lab);
    expect(calls.filter((call) => call.startsWith('applyDeployment') || call === 'provisionNamespace')).toEqual([]);
    expect((world.cluster.deployments.get(lab.namespace) as { spec: { replicas: number } }).spec.replicas).toBe(5);
    expect(world.builder.runs).toHaveLength(1);
    expect((await stored(lab)).observed).toMatchObject({ phase: 'ready', containerOutput: expect.any(String) });
    // One notice: the output.
    expect(shown).toEqual(['ready']);
    // Done: a further reconcile does nothing.
    expect((await takeOver(lab)).calls).toEqual([]);
    expect(world.builder.runs).toHaveLength(1);
  });

  it('does not apply the Deployment again when it holds what would be applied; runs the unrecorded container once', async () => {
    const lab = await labOfDeadOlderRunner();
    const { calls } = await takeOver(lab);
    expect(calls).not.toContain('provisionNamespace');
    expect(calls).toContain('applyDeployment:skipped');
    expect(world.builder.runs).toHaveLength(1);
    expect((await stored(lab)).observed).toMatchObject({
      phase: 'waiting-for-pods',
      containerOutput: expect.any(String),
    });
  });

  it('applies the Deployment again when it differs from what would be applied (the learner scaled it)', async () => {
    const lab = await labOfDeadOlderRunner();
    (world.cluster.deployments.get(lab.namespace) as { spec: { replicas: number } }).spec.replicas = 5;
    const { calls } = await takeOver(lab);
    expect(calls).toContain('applyDeployment');
    expect(calls).not.toContain('applyDeployment:skipped');
    expect((world.cluster.deployments.get(lab.namespace) as { spec: { replicas: number } }).spec.replicas).toBe(3);
  });
});

describe('reconcile: stop and reset', () => {
  it('tears a lab down when it is asked to stop, and forgets its pods', async () => {
    const lab = await world.newLab();
    await reconcile(lab.labId);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      desired: { ...current.desired, state: 'stopped' },
      observed: { ...current.observed, pods: [pod('a', true)] },
    }));
    await reconcile(lab.labId);
    const record = await stored(lab);
    expect(record.observed).toMatchObject({ phase: 'stopped', step: 'teardown', pods: [] });
    expect(world.cluster.namespaces.has(lab.namespace)).toBe(false);
    expect(world.phasesShown(lab.labId).slice(-2)).toEqual(['stopping', 'stopped']);
    await reconcile(lab.labId);
    expect(world.phasesShown(lab.labId).slice(-2)).toEqual(['stopping', 'stopped']);
  });

  it('retries a teardown that failed for a moment, and stays stopping meanwhile', async () => {
    const lab = await world.newLab();
    await reconcile(lab.labId);
    await world.store.update(lab.labId, (current) => ({
      ...current,
      desired: { ...current.desired, state: 'stopped' },
    }));
    world.cluster.failNext('deleteNamespace', transient('CLUSTER_TIMEOUT'));
    await expect(reconcile(lab.labId)).rejects.toThrow();
    expect((await stored(lab)).observed.phase).toBe('stopping');
    await reconcile(lab.labId);
    expect((await stored(lab)).observed.phase).toBe('stopped');
  });

  it('starts a reset lab over from a fresh namespace, running the container again', async () => {
    const lab = await world.newLab();
    await reconcile(lab.labId);
    world.builder.setOutput('second run\n');
    await world.store.update(lab.labId, (current) => ({
      ...current,
      desired: { state: 'running', generation: current.desired.generation + 1 },
    }));
    await reconcile(lab.labId);
    const record = await stored(lab);
    expect(record.observed).toMatchObject({
      phase: 'waiting-for-pods',
      generation: 1,
      containerOutput: 'second run\n',
      imageCached: true,
    });
    expect(world.builder.runs).toHaveLength(2);
    expect(world.cluster.namespaces.has(lab.namespace)).toBe(true);
  });
});
