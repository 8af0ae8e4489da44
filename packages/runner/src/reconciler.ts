import type { ImageBuilder } from '@labbot/builder';
import type { ClusterDriver } from '@labbot/cluster';
import type { Logger } from '@labbot/config';
import {
  boundedOutput,
  decideReconcile,
  isPodPhase,
  isRetryable,
  isWarmOwner,
  LabbotError,
  type LabPhase,
  type LabRecord,
  movePhase,
  type ObservedState,
  ownerKeyFor,
  PRE_POD_PHASES,
  phaseFromPods,
  progressOf,
  userMessageOf,
} from '@labbot/core';
import {
  buildSpecFor,
  extraImageBuildsFor,
  type LessonCatalog,
  labImageName,
  renderDeployment,
  runSpecFor,
} from '@labbot/lessons';
import type { LabStore } from '@labbot/store';
import type { LabNotices } from './events.js';

type EnsureImageOptions = Parameters<ImageBuilder['ensureImage']>[0];
type EnsureImageResult = Awaited<ReturnType<ImageBuilder['ensureImage']>>;

export interface ReconcilerOptions {
  store: LabStore;
  lessons: LessonCatalog;
  builder: ImageBuilder;
  cluster: ClusterDriver;
  notices: LabNotices;
  logger: Logger;
  baseImage: string;
  ceilings: { cpu: string; memory: string; pods: number };
  /** At most this many image builds run at once in this process. */
  maxConcurrentBuilds: number;
  /** At most this many one-off container runs at once in this process (default 8); the others wait in order. */
  maxConcurrentRuns?: number;
  /**
   * At most this many lab namespaces are provisioned at once in this process (default 4; about ten API requests
   * each); the others wait in order. A burst of them (a runner taking over many labs) would otherwise hold the event
   * loop and the API server for seconds, and the shared build, the longest step, would start only after it.
   */
  maxConcurrentProvisions?: number;
  /** Time budget of namespace teardown. */
  teardownTimeoutMs?: number;
  /** Called once the Deployment is applied and the lab still waits for pods (to look for refused pods). */
  onWaitingForPods?: (labId: string) => void;
  /** Deletes the images a learner built for a lab (/lab build) when the lab is torn down. */
  removeLearnerImages?: (labId: string) => Promise<unknown>;
  /** Told as each bring-up step of a lab ends (a benchmark's per-lab timeline); must not throw. */
  onStep?: LabStepListener;
  /**
   * Asks for one more reconcile of a lab (the queue's enqueueReconcile). Used when a run's last attempt was
   * superseded while the lab still has work left: without it the lab would wait for some later event.
   */
  requeue?: (labId: string, reason: string) => Promise<unknown>;
}

/** The reason of a reconcile asked for because the last attempt of another was superseded: it is not asked twice. */
export const SUPERSEDED_REASON = 'reconcile.superseded';

/** The instants of a lab's bring-up a timeline shows, as the runner passes them. */
export type LabStepMark =
  | 'job'
  | 'queued'
  | 'slot'
  | 'provisioned'
  | 'built'
  | 'run-wait'
  | 'run-once'
  | 'ran-once'
  | 'applied'
  | 'reconciled';

/** Told when a lab passes a step (`mark`); must not throw. */
export type LabStepListener = (labId: string, mark: LabStepMark) => void;

export interface ReconcileContext {
  reason: string;
  /** The last attempt of a job: a retryable error now marks the lab failed instead of retrying. */
  finalAttempt: boolean;
  jobId?: string;
}

/** A failure of one step of one lab: the lab and step go along with the cause. */
class StepError extends LabbotError {
  constructor(
    readonly step: string,
    cause: unknown,
    labId: string,
  ) {
    super(
      cause instanceof LabbotError ? cause.code : 'STEP_FAILED',
      `lab ${labId}: step ${step} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      {
        cause,
        userMessage: userMessageOf(cause),
        retryable: isRetryable(cause),
        context: { labId, step },
      },
    );
  }
}

function createSemaphore(size: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await work();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/**
 * A semaphore whose callers with the same key share one slot: many labs of one lesson (a class) ask for the same
 * image at once, and the builder answers them with one build or one cache check, so they need not queue for slots.
 */
function createKeyedSemaphore(size: number) {
  const slot = createSemaphore(size);
  const holders = new Map<string, number>();
  const hold = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    holders.set(key, (holders.get(key) ?? 0) + 1);
    try {
      return await work();
    } finally {
      const left = (holders.get(key) ?? 1) - 1;
      if (left > 0) holders.set(key, left);
      else holders.delete(key);
    }
  };
  return <T>(key: string, work: () => Promise<T>): Promise<T> =>
    holders.has(key) ? hold(key, work) : slot(() => hold(key, work));
}

/**
 * The level-triggered heart of the runner: compares a lab's desired state with what was observed
 * and does what is missing. Every step is idempotent (server-side apply, content-addressed images),
 * so a retried job, a doubled command or a second runner after a crash converge on one result.
 */
export function createReconciler(options: ReconcilerOptions) {
  const { store, lessons, builder, cluster, notices, logger } = options;
  const buildSlot = createKeyedSemaphore(options.maxConcurrentBuilds);
  const sharedBuilds = new Map<
    string,
    { result: Promise<EnsureImageResult>; listeners: Set<(line: string) => void> }
  >();
  /**
   * Labs asking for the same image at once (a class, or a runner taking over many labs) share one ensureImage call:
   * one context hash and one registry check instead of one per lab, which made the build start seconds later.
   * The others get the result as cached, as the builder answers a call that waited on another's build.
   */
  function ensureShared(request: EnsureImageOptions): Promise<EnsureImageResult> {
    // One build per context, Dockerfile and build arguments.
    const key = `${request.contextDir}\0${request.dockerfile ?? ''}\0${JSON.stringify(request.buildArgs ?? {})}`;
    const existing = sharedBuilds.get(key);
    if (existing) {
      const { onLog } = request;
      if (onLog) existing.listeners.add(onLog);
      return existing.result
        .then((result) => ({ ...result, cached: true }))
        .finally(() => {
          if (onLog) existing.listeners.delete(onLog);
        });
    }
    const listeners = new Set<(line: string) => void>(request.onLog ? [request.onLog] : []);
    const result = buildSlot(key, () =>
      builder.ensureImage({
        ...request,
        onLog: (line) => {
          for (const listener of listeners) listener(line);
        },
      }),
    ).finally(() => sharedBuilds.delete(key));
    sharedBuilds.set(key, { result, listeners });
    return result;
  }
  const mark = options.onStep ?? (() => {});
  // Each lab runs its own container; many at once, up to the operator's limit.
  const runSlot = createSemaphore(options.maxConcurrentRuns ?? 8);
  const provisionSlot = createSemaphore(options.maxConcurrentProvisions ?? 4);

  /** Writes part of the observed state (not the phase); `when` can refuse the write (returns the record unchanged). */
  async function observe(
    labId: string,
    patch: Partial<Omit<ObservedState, 'phase'>>,
    when: (record: LabRecord) => boolean = () => true,
  ): Promise<LabRecord> {
    return store.update(labId, (current) =>
      when(current) ? { ...current, observed: { ...current.observed, ...patch } } : undefined,
    );
  }

  /** Moves the lab to `phase` (checked by core's transition table) with the rest of `patch`, and tells the chat. */
  async function enterPhase(
    record: LabRecord,
    phase: LabPhase,
    step: string,
    patch: Partial<ObservedState> = {},
    { tell = true }: { tell?: boolean } = {},
  ): Promise<LabRecord> {
    if (record.observed.phase === phase && record.observed.step === step && Object.keys(patch).length === 0) {
      return record;
    }
    const next = await store.update(record.labId, (current) => ({
      ...current,
      observed: { ...movePhase('reconciler', current.observed, phase), step, ...patch },
    }));
    if (tell) await notices.changed(next);
    return next;
  }

  async function fail(record: LabRecord, error: StepError): Promise<void> {
    const next = await enterPhase(record, 'failed', error.step, {
      error: { code: error.code, step: error.step, message: error.userMessage ?? userMessageOf(error) },
    });
    await store.appendHistory(next.labId, {
      actor: 'runner',
      action: 'lab.failed',
      detail: { code: error.code, step: error.step },
    });
  }

  async function step<T>(record: LabRecord, name: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new StepError(name, error, record.labId);
    }
  }

  async function teardown(record: LabRecord): Promise<void> {
    const current = await enterPhase(record, 'stopping', 'teardown');
    await step(current, 'teardown', () =>
      cluster.deleteNamespace(current.namespace, { wait: true, timeoutMs: options.teardownTimeoutMs ?? 60_000 }),
    );
    await options
      .removeLearnerImages?.(current.labId)
      .catch((error: unknown) =>
        logger.warn({ err: error, labId: current.labId }, "could not delete the learner's images"),
      );
    const stopped = await enterPhase(current, 'stopped', 'teardown', { pods: [], diagnosis: undefined });
    await store.appendHistory(stopped.labId, { actor: 'runner', action: 'lab.stopped' });
  }

  /** A reset (desired generation bumped): the old namespace goes, the lab starts over. */
  async function startOver(record: LabRecord): Promise<LabRecord> {
    await step(record, 'reset', () =>
      cluster.deleteNamespace(record.namespace, { wait: true, timeoutMs: options.teardownTimeoutMs ?? 60_000 }),
    );
    // Nothing observed of the old generation is kept: a fresh namespace, image run and pods.
    return store.update(record.labId, (current) => ({
      ...current,
      observed: {
        ...movePhase('reconciler', { phase: current.observed.phase }, 'pending'),
        pods: [],
        generation: current.desired.generation,
      },
    }));
  }

  /** The lab's namespace and guard rails, labelled with the lab, its learner, lesson and class. */
  function namespaceOf(record: LabRecord, lesson: ReturnType<LessonCatalog['get']>) {
    return {
      labId: record.labId,
      namespace: record.namespace,
      owner: record.owner,
      lessonId: record.lessonId,
      classId: record.classId,
      warm: isWarmOwner(record.owner),
      expiresAt: record.expiresAt,
      // Per pod: the lesson's container limits; the lesson's pod count already holds the rolling-update surge pod.
      limits: {
        cpu: lesson.spec.limits.containerCpu,
        memory: lesson.spec.limits.containerMemory,
        pods: Math.max(lesson.spec.deployment.replicas, lesson.spec.limits.pods - 1),
      },
    };
  }

  /**
   * A ready warm lab's namespace handed to this lab on Join: the Namespace alone is labelled again for this lab and
   * learner (the warm label goes), so the pod watch follows its pods for this lab. Its guard rails, Deployment and
   * pods name no lab, so they stay as they are: one read and one apply, no build, no new pods.
   */
  async function adoptNamespace(record: LabRecord): Promise<void> {
    const lesson = await step(record, 'lesson', async () => lessons.get(record.lessonId));
    await step(record, 'handover', () => cluster.relabelNamespace(namespaceOf(record, lesson)));
    await store.update(record.labId, (current) =>
      current.observed.handedOver
        ? { ...current, observed: { ...current.observed, handedOver: undefined } }
        : undefined,
    );
  }

  /**
   * Whether the lab's namespace and guard rails stand as provisioning them now would leave them: one GET finds the
   * namespace this lab's, Active, and marked provisioned for exactly these objects (the mark comes after the last
   * guard rail, so a provisioning a dead runner cut off does not count, and neither do older guard rails). A retried
   * or taken-over reconcile then skips the ten applies; otherwise (gone, cut off, changed, the read failed) everything
   * is applied again. A lab not yet past provisioning has nothing standing to find.
   */
  async function namespaceStands(record: LabRecord, lesson: ReturnType<LessonCatalog['get']>): Promise<boolean> {
    if (progressOf(record.observed.phase) <= progressOf('provisioning')) return false;
    return cluster.namespaceProvisioned(namespaceOf(record, lesson)).catch((error: unknown) => {
      logger.debug({ err: error, labId: record.labId }, 'namespace read failed: provisioning it again');
      return false;
    });
  }

  async function bringUp(initial: LabRecord): Promise<void> {
    let record = initial;
    const lesson = await step(record, 'lesson', async () => lessons.get(record.lessonId));
    if (isPodPhase(record.observed.phase)) {
      await runOwedContainer(record, lesson);
      return;
    }

    // The namespace and the image do not depend on each other: make both at once.
    const standing = namespaceStands(record, lesson);
    const provisioning = (async () => {
      if (await standing) return;
      record = await enterPhase(record, 'provisioning', 'namespace');
      await step(record, 'namespace', () =>
        provisionSlot(() => cluster.provisionNamespace(namespaceOf(record, lesson))),
      );
    })();
    // Awaited below; this only keeps a failure from being unhandled while the build starts.
    provisioning.catch(() => {});
    if (lesson.spec.learnerBuild?.learnerDeploys) {
      // The learner builds and applies their own Deployment: the lab waits for the pods it brings.
      await provisioning;
      // Through deploying (the learner's Deployment is the one expected), as the state machine walks every lab.
      const deploying = await enterPhase(record, 'deploying', 'deploy');
      await enterPhase(deploying, 'waiting-for-pods', 'pods', { desiredReplicas: lesson.spec.deployment.replicas });
      return;
    }
    const { building, logTail } = buildLessonImage(record, lesson);
    // Awaited below; this only keeps a build failure from being unhandled while the namespace step runs.
    building.catch(() => {});
    // The lesson's extra images (e.g. the v2 of a rolling update) for the learner's own manifests.
    const extras = extraImageBuildsFor(lesson, { baseImage: options.baseImage });
    const buildingExtras = step(record, 'build', () =>
      Promise.all(
        extras.map(async ({ name, build: extra }) => {
          const built = await ensureShared({
            lessonId: lesson.id,
            contextDir: extra.contextDir,
            dockerfile: extra.dockerfile,
            buildArgs: extra.args,
            network: extra.network,
          });
          return [labImageName(lesson, name), built.tag] as const;
        }),
      ),
    );
    buildingExtras.catch(() => {});

    // The one-off container needs the image only, not the namespace: it starts as soon as the image is there, while
    // the namespace may still be provisioned, so the engine's slow container starts overlap the applies. Its output
    // is recorded as soon as it ends, so a runner that takes the lab over later finds it and does not run it again.
    const running =
      record.observed.containerOutput === undefined
        ? building.then((image) => runContainer(initial, lesson, image, logTail))
        : undefined;
    // Awaited below; this only keeps a failure from being unhandled while the namespace step runs.
    running?.catch(() => {});
    await provisioning;
    mark(record.labId, 'provisioned');

    // Forward only: a lab taken over past building stays where it was while its image is found in the cache.
    if (progressOf(record.observed.phase) < progressOf('building'))
      record = await enterPhase(record, 'building', 'build');
    const image = await building;
    mark(record.labId, 'built');
    const buildLog = (image.logTail.length ? image.logTail : logTail).slice(-12);
    const images = Object.fromEntries([
      [labImageName(lesson, lesson.spec.imageName), image.tag],
      ...(await buildingExtras),
    ]);
    record = await observe(record.labId, { imageTag: image.tag, imageCached: image.cached, buildLog, images });
    await notices.changed(record);

    // The one-off container and the Deployment do not depend on each other either: the apply starts at once, and the
    // pods, not the container, decide when the lab is ready.
    const replicas = lesson.spec.deployment.replicas;
    // Nothing per lab or learner on the Deployment, its pods or its selector (the namespace says whose lab it is):
    // a warm lab's Deployment serves the learner it is handed to as it is.
    const { manifest } = renderDeployment(lesson, { image: image.tag, labels: { 'labbot.dev/lesson': lesson.id } });
    record = await observe(record.labId, { desiredReplicas: replicas });
    // The lab is in a phase whose pods the status watcher records (deploying) before the apply starts: a snapshot of
    // pods that came up while it was still `building` was dropped, and pods that never change again send no other, so
    // the lab waited for pods forever with 0 recorded (bench/class.ts, 1 in 100). A container that ended already is
    // shown with this notice; one still running shows "running…" in it.
    record = await enterPhase(record, 'deploying', 'deploy');
    await step(record, 'deploy', () =>
      cluster.applyDeployment({
        namespace: record.namespace,
        labId: record.labId,
        manifest,
        image: image.tag,
        readOnlyRootFilesystem: lesson.spec.deployment.readOnlyRootFilesystem,
        // A run that got as far as the apply before (retried, or taken over from a dead runner) reads it first.
        unlessUnchanged: PRE_POD_PHASES.includes(initial.observed.phase),
      }),
    );
    mark(record.labId, 'applied');
    // The pod watcher recorded the pods meanwhile; from here the pods own the phase.
    const before = record;
    record = await store.update(record.labId, (current) =>
      PRE_POD_PHASES.includes(current.observed.phase)
        ? {
            ...current,
            observed: {
              ...movePhase(
                'reconciler',
                current.observed,
                phaseFromPods(current.observed.pods, replicas, current.observed.diagnosis),
              ),
              step: 'pods',
            },
          }
        : undefined,
    );
    await notices.changed(record);
    if (record.observed.phase === 'ready' && before.observed.phase !== 'ready') {
      await store.appendHistory(record.labId, {
        actor: 'runner',
        action: 'observed.ready',
        detail: { pods: record.observed.pods.length },
      });
    }
    if (record.observed.phase === 'waiting-for-pods') options.onWaitingForPods?.(record.labId);
    if (running) await tellOutput(record, running);
    mark(record.labId, 'reconciled');
  }

  /**
   * Runs the lab's one-off container from its built image (in order, at most maxConcurrentRuns at once) and records
   * its output with the image it ran (so no status shows a container that ran from an image not yet built); not into
   * a lab reset meanwhile (its next generation runs its own container). Resolves with the record as written.
   */
  async function runContainer(
    initial: LabRecord,
    lesson: ReturnType<LessonCatalog['get']>,
    image: EnsureImageResult,
    logTail: readonly string[],
  ): Promise<LabRecord> {
    const run = runSpecFor(lesson, initial.variant);
    mark(initial.labId, 'run-wait');
    const result = await step(initial, 'run-once', () =>
      runSlot(() => {
        mark(initial.labId, 'run-once');
        return builder.runOnce({
          image: image.tag,
          ...(run.command ? { command: run.command } : {}),
          timeoutMs: (run.timeoutSeconds ?? 30) * 1000,
          maxOutputBytes: 8192,
          user: '10001',
        });
      }),
    );
    mark(initial.labId, 'ran-once');
    return observe(
      initial.labId,
      {
        containerOutput: boundedOutput(result.output),
        imageTag: image.tag,
        imageCached: image.cached,
        buildLog: (image.logTail.length ? image.logTail : logTail).slice(-12),
      },
      (current) => current.observed.generation === initial.observed.generation,
    );
  }

  /**
   * Waits for the container's output (the job, and the class provision slot, are held until it is in, so a runner
   * that dies meanwhile leaves the lab to a takeover) and tells the chat once more, only when it came after `told`
   * (the last notice, which showed it otherwise): one notice per change, not the lab's newest state twice. A run that
   * fails for good throws its step error, which fails the lab (ready or not) with its sentence.
   */
  async function tellOutput(told: LabRecord, running: Promise<LabRecord>): Promise<void> {
    const ran = await running;
    if (ran.version > told.version && ran.observed.containerOutput !== undefined) await notices.changed(ran);
  }

  /** The lab's lesson image (its variant's), built once for every lab that needs it now, and the build's last lines. */
  function buildLessonImage(
    record: LabRecord,
    lesson: ReturnType<LessonCatalog['get']>,
  ): { building: Promise<EnsureImageResult>; logTail: string[] } {
    const build = buildSpecFor(lesson, record.variant, { baseImage: options.baseImage });
    const logTail: string[] = [];
    const building = step(record, 'build', () =>
      ensureShared({
        lessonId: lesson.id,
        contextDir: build.contextDir,
        dockerfile: build.dockerfile,
        buildArgs: build.args,
        network: build.network,
        onLog: (line) => {
          logTail.push(line);
          if (logTail.length > 20) logTail.shift();
        },
      }),
    );
    return { building, logTail };
  }

  /**
   * A lab whose Deployment is applied (the pods own its phase, it may be ready) but whose container's output never
   * came: its runner died while the container ran, or the run failed for a moment. Only the container runs; the
   * namespace and the Deployment are left as they are (the learner may have scaled it).
   */
  async function runOwedContainer(record: LabRecord, lesson: ReturnType<LessonCatalog['get']>): Promise<void> {
    const { building, logTail } = buildLessonImage(record, lesson);
    const image = await building;
    mark(record.labId, 'built');
    await tellOutput(record, runContainer(record, lesson, image, logTail));
    mark(record.labId, 'reconciled');
  }

  /** Reconciles one lab. Throws only retryable errors that are not on their last attempt (the job retries). */
  async function reconcile(labId: string, context: ReconcileContext): Promise<void> {
    let record = await store.get(labId);
    if (!record) {
      logger.info({ labId, reason: context.reason }, 'reconcile: no such lab (deleted)');
      return;
    }
    // learner: a hash of the owner, so logs tie a learner's labs together without their chat user id.
    const log = logger.child({
      labId,
      jobId: context.jobId,
      learner: ownerKeyFor(record.owner),
      lessonId: record.lessonId,
      reason: context.reason,
    });
    try {
      let decision = decideReconcile(record);
      if (decision.action === 'continue' && decision.adoptGeneration !== undefined) {
        record = await observe(labId, { generation: decision.adoptGeneration });
        decision = decideReconcile(record);
      }
      switch (decision.action) {
        case 'none':
          log.info({ why: decision.why, phase: record.observed.phase }, 'reconcile: nothing to do');
          return;
        case 'teardown':
          await teardown(record);
          return;
        case 'restart':
          log.info({ generation: decision.generation }, 'reset: starting the lab over');
          record = await startOver(record);
          break;
        case 'handover':
          await adoptNamespace(record);
          log.info('reconciled: a warm lab handed over');
          return;
        case 'continue':
          break;
      }
      await bringUp(record);
      log.info({ phase: (await store.get(labId))?.observed.phase }, 'reconciled');
    } catch (error) {
      const stepError = error instanceof StepError ? error : new StepError('reconcile', error, labId);
      if (stepError.code === 'LAB_PHASE_TRANSITION') {
        await superseded(labId, stepError, context, log);
        return;
      }
      log.warn({ err: error, step: stepError.step, retryable: stepError.retryable }, 'reconcile step failed');
      if (stepError.retryable && !context.finalAttempt) throw stepError;
      const current = await store.get(labId);
      if (current) await fail(current, stepError);
    }
  }

  /**
   * A phase move of this run was refused: another run of the same lab moved it on meanwhile (its job was taken
   * back after the lock expired, on a loaded machine or across a Redis restart, while this run went on). This
   * run's view is stale, and failing the lab would undo the other run's work: the lab is left as it is, and the
   * job decides again from the stored record on a retry when something is still to do.
   */
  async function superseded(labId: string, refusal: StepError, context: ReconcileContext, log: Logger): Promise<void> {
    const current = await store.get(labId);
    const next = current ? decideReconcile(current).action : 'none';
    log.info(
      { err: refusal, phase: current?.observed.phase, next },
      'reconcile superseded: the lab moved on meanwhile, left as it is',
    );
    if (next === 'none') return;
    if (context.finalAttempt) {
      // No retry is left: a new reconcile decides from the stored record, once (a run asked for this way that is
      // superseded again on its last attempt only logs, so a lab can never keep asking).
      if (options.requeue && context.reason !== SUPERSEDED_REASON) {
        await options.requeue(labId, SUPERSEDED_REASON);
        log.info({ phase: current?.observed.phase, next }, 'reconcile superseded on its last attempt: asked again');
        return;
      }
      log.warn(
        { phase: current?.observed.phase, next },
        'reconcile superseded on its last attempt: nothing retries it',
      );
      return;
    }
    throw new LabbotError('LAB_MOVED_ON', `lab ${labId} moved on during a reconcile: deciding again`, {
      cause: refusal,
      retryable: true,
      context: { labId, phase: current?.observed.phase, next },
    });
  }

  return { reconcile, observe };
}
