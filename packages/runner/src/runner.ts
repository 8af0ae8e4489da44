import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  type Builder,
  createBuilder,
  createDockerClient,
  createLearnerBuilder,
  createRedisBuildLock,
} from '@labbot/builder';
import { createClusterDriver, loadKubeConfig, observeKubeRequests, watchClusterRoom } from '@labbot/cluster';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';
import { type LessonCatalog, loadLessons } from '@labbot/lessons';
import {
  closeOnSignals,
  createQueues,
  createReconcileWorker,
  openRedis,
  publishLabEvent,
  type Queues,
} from '@labbot/queue';
import {
  createCapacityReports,
  createClassProvisionSlots,
  createClassRoster,
  createLabStore,
  type LabStore,
} from '@labbot/store';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import { createCapacityReporter, roomFromWatch } from './capacity-reporter.js';
import { createClassProvisionGate } from './class-provisions.js';
import { createLabNotices, type LabEventSink } from './events.js';
import { createJanitor, type Janitor } from './janitor.js';
import { createJanitorLease } from './janitor-lease.js';
import { createKubectlRunner } from './kubectl-worker.js';
import { createLearnerBuildRunner } from './learner-build-worker.js';
import { observeBuilder, observeLabEvents, type RunnerObserver } from './observer.js';
import { createReconciler, type LabStepListener } from './reconciler.js';
import { startStatusWatcher } from './status-watcher.js';

/** Timings a test or an operator may tune; the defaults suit production. */
export interface RunnerTuning {
  /** Reconcile attempts before a retryable failure marks the lab failed (default 5). */
  attempts?: number;
  /** First retry delay, doubled each time (default 1000 ms). */
  backoffMs?: number;
  /** Labs reconciled at once by this process (default LABBOT_RUNNER_CONCURRENCY, 16). */
  concurrency?: number;
  /** How often BullMQ looks for stalled jobs (default 5 s), and how long a job's lock lives unrenewed (default 15 s). */
  stalledIntervalMs?: number;
  lockDurationMs?: number;
  /**
   * How often this runner takes over the reconciles of runners whose Redis connection is gone (killed), besides
   * once at start-up (default 5 s; 0: only at start-up).
   */
  takeoverIntervalMs?: number;
  /** Take over a dead runner's reconciles at all (default true; false leaves it to the locks, for benchmarks). */
  takeover?: boolean;
  /** Janitor sweep period (default 30 s); 0 turns the periodic sweep off. */
  janitorIntervalMs?: number;
  orphanGraceMs?: number;
  /** Per-lab coalescing of pod snapshots (default 250 ms). */
  watchDebounceMs?: number;
  teardownTimeoutMs?: number;
  buildTimeoutMs?: number;
  /** How often the cluster's room is published for the class capacity check (default 15 s; 0: at start only). */
  capacityIntervalMs?: number;
}

export interface StartRunnerOptions {
  /** The cluster to drive; from the config when absent (a kubeconfig file, in-cluster, or an embedded kube-sim). */
  kubeConfig?: KubeConfig;
  lessons?: LessonCatalog;
  logger?: Logger;
  clock?: () => Date;
  tuning?: RunnerTuning;
  /** Told about ready labs, builds and Kubernetes API requests (the process's metrics). */
  observer?: RunnerObserver;
  /** Stop on SIGTERM/SIGINT (the runner process does; an embedding program handles signals itself). */
  handleSignals?: boolean;
  /** Told as each lab passes a step of its reconcile (bench/class.ts's per-lab timeline); must not throw. */
  onLabStep?: LabStepListener;
}

/** One dependency a readiness probe asks (the shape the metrics package's server takes). */
export interface ReadinessProbe {
  name: string;
  check(): Promise<unknown>;
}

export interface Runner {
  janitor: Janitor;
  /** The image builder (its stats() count builds, cache hits and waits). */
  builder: Builder;
  /** The store and queues this runner works on (metrics read lab phases and queue depths from them). */
  store: LabStore;
  queues: Queues;
  /** What /readyz asks: Redis, the Docker engine and the cluster answer. */
  readinessChecks: ReadinessProbe[];
  /** Resolves once the pod watch has listed the cluster and the start-up janitor sweep is done. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

async function clusterConfig(
  config: LabbotConfig,
  logger: Logger,
  docker: Docker,
): Promise<{ kubeConfig: KubeConfig; stop?: () => Promise<void> }> {
  const { mode, kubeconfigPath } = config.cluster;
  if (mode === 'in-cluster') {
    const kubeConfig = loadKubeConfig({ mode: 'in-cluster' });
    logger.info(
      { cluster: mode, server: kubeConfig.getCurrentCluster()?.server },
      'labs run on this cluster (in-cluster ServiceAccount)',
    );
    return { kubeConfig };
  }
  if (mode === 'kubeconfig') {
    const kubeConfig = loadKubeConfig({ mode: 'file', ...(kubeconfigPath ? { path: kubeconfigPath } : {}) });
    logger.info(
      {
        cluster: mode,
        kubeconfig: kubeconfigPath,
        context: kubeConfig.getCurrentContext(),
        server: kubeConfig.getCurrentCluster()?.server,
      },
      'labs run on the cluster of the kubeconfig',
    );
    return { kubeConfig };
  }
  // No cluster configured: the bundled simulator, embedded in this process.
  const { startKubeSim } = await import('@labbot/kube-sim');
  const sim = await startKubeSim({
    kubelet: config.cluster.simKubelet,
    nodes: config.cluster.simNodes,
    docker: { client: docker },
    ...(config.cluster.simPort ? { port: config.cluster.simPort } : {}),
    ...(config.registry ? { registry: config.registry } : {}),
  });
  logger.info({ url: sim.url }, 'no kubeconfig: labs run on the embedded kube-sim');
  return { kubeConfig: loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig }), stop: () => sim.stop() };
}

/** Wires the lab runner: reconcile worker, the shared pod watch, the janitor. */
export async function startRunner(config: LabbotConfig, options: StartRunnerOptions = {}): Promise<Runner> {
  const logger = options.logger ?? createLogger({ name: 'labbot-runner', level: config.logLevel });
  const clock = options.clock ?? (() => new Date());
  const tuning = options.tuning ?? {};
  // The cluster first: a bad kubeconfig fails start-up before any connection is open.
  // The Docker client of the config (no connection is opened yet): the builder's, and the embedded kube-sim's kubelet's.
  const docker = createDockerClient(config.docker);
  const cluster = options.kubeConfig ? { kubeConfig: options.kubeConfig } : await clusterConfig(config, logger, docker);
  const { observer } = options;
  const kubeConfig = observer ? observeKubeRequests(cluster.kubeConfig, observer) : cluster.kubeConfig;
  const redis = openRedis(config.redisUrl, (error) => logger.warn({ err: error }, 'Redis connection error'));
  const store = createLabStore({ redis, clock });
  const queues = createQueues({
    connection: redis,
    ...(tuning.attempts ? { attempts: tuning.attempts } : {}),
    ...(tuning.backoffMs ? { backoffMs: tuning.backoffMs } : {}),
  });
  const lessons =
    options.lessons ??
    (await loadLessons({ skipInvalid: true, ...(config.lessonsDir ? { extraDir: config.lessonsDir } : {}) }));
  for (const problem of lessons.problems) logger.warn({ err: problem }, 'a lesson is invalid and was skipped');
  const driver = createClusterDriver({
    kubeConfig,
    ceilings: config.limits.ceilings,
    logger,
    now: clock,
    ...(config.registry
      ? {
          imagePull: {
            registry: config.registry,
            ...(config.registryPull ? { pullRegistry: config.registryPull } : {}),
            ...(config.registryCredentials ? { credentials: config.registryCredentials } : {}),
          },
        }
      : {}),
  });
  // The build lock gets its own client: with BullMQ's maxRetriesPerRequest null a Redis outage would hang it.
  const lockRedis = new Redis(config.redisUrl);
  lockRedis.on('error', (error) => logger.warn({ err: error }, 'build lock Redis connection error'));
  const dockerBuilder = createBuilder({
    docker,
    ...(config.registry ? { registry: config.registry } : {}),
    ...(config.registryCredentials ? { registryCredentials: config.registryCredentials } : {}),
    lock: createRedisBuildLock(lockRedis),
    logger,
    ...(tuning.buildTimeoutMs ? { limits: { timeoutMs: tuning.buildTimeoutMs } } : {}),
  });
  const builder = observer ? observeBuilder(dockerBuilder, observer) : dockerBuilder;
  const learnerBuilder = createLearnerBuilder({
    docker: dockerBuilder.docker,
    allowedBaseImages: [config.baseImage],
    ...(config.registry ? { registry: config.registry } : {}),
    logger,
  });
  const queueSink: LabEventSink = {
    publish: (event, record) => publishLabEvent(queues, record.owner.platform, event),
  };
  const notices = createLabNotices(observer ? observeLabEvents(queueSink, observer, clock) : queueSink, clock);
  const reconciler = createReconciler({
    store,
    lessons,
    builder,
    cluster: driver,
    notices,
    logger,
    baseImage: config.baseImage,
    ceilings: config.limits.ceilings,
    maxConcurrentBuilds: config.limits.maxConcurrentBuilds,
    maxConcurrentRuns: config.limits.maxConcurrentRuns,
    ...(tuning.teardownTimeoutMs ? { teardownTimeoutMs: tuning.teardownTimeoutMs } : {}),
    onWaitingForPods: (labId) => watch.checkShortfall(labId),
    removeLearnerImages: (labId) => learnerBuilder.removeImagesOf(labId),
    ...(options.onLabStep ? { onStep: options.onLabStep } : {}),
    requeue: (labId, reason) => queues.enqueueReconcile(labId, reason),
  });
  const watch = startStatusWatcher({
    store,
    cluster: driver,
    notices,
    logger,
    ...(tuning.watchDebounceMs !== undefined ? { debounceMs: tuning.watchDebounceMs } : {}),
  });
  const classGate = createClassProvisionGate({
    store,
    roster: createClassRoster({ redis }),
    slots: createClassProvisionSlots({ redis }),
    defaultMaxConcurrent: config.classes.maxConcurrentProvisions,
    logger,
    wake: async (labId) => {
      await queues.wakeReconcile(labId);
    },
    // The learner sees their place in line in their thread (#14).
    onWaiting: (record, place, estimateSeconds) => notices.queued(record, place, estimateSeconds),
    ...(options.onLabStep ? { onStep: options.onLabStep } : {}),
  });
  const runnerName = `runner-${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const worker = createReconcileWorker({
    connection: redis,
    workerName: runnerName,
    concurrency: tuning.concurrency ?? config.runner.concurrency,
    // A class lab waiting for its class's provision slot is started again without spending an attempt.
    maxStartedAttempts: 100_000,
    ...(tuning.stalledIntervalMs ? { stalledIntervalMs: tuning.stalledIntervalMs } : {}),
    ...(tuning.lockDurationMs ? { lockDurationMs: tuning.lockDurationMs } : {}),
    onError: (error, jobId) => logger.warn({ err: error, jobId }, 'reconcile job failed'),
    process: (job, context) => {
      options.onLabStep?.(job.labId, 'job');
      return classGate.run(job.labId, context, () =>
        reconciler.reconcile(job.labId, {
          reason: job.reason,
          jobId: context.jobId,
          finalAttempt: context.attempt >= context.attempts,
        }),
      );
    },
  });
  const kubectlWorker = createKubectlRunner({
    connection: redis,
    store,
    cluster: driver,
    logger,
    lessons,
    onScaled: (labId) => watch.checkShortfall(labId),
  }).start();
  const learnerBuildWorker = createLearnerBuildRunner({
    connection: redis,
    store,
    lessons,
    builder: learnerBuilder,
    notices,
    logger,
  }).start();
  const janitor = createJanitor({
    store,
    cluster: driver,
    notices,
    enqueueReconcile: (labId, reason) => queues.enqueueReconcile(labId, reason),
    logger,
    clock,
    warningMs: config.limits.expiryWarningMinutes * 60_000,
    ...(tuning.orphanGraceMs !== undefined ? { orphanGraceMs: tuning.orphanGraceMs } : {}),
  });
  // Several runners share one Redis: a lease lets one of them sweep at a time.
  const lease = createJanitorLease({ redis: lockRedis });
  const leasedSweep = async () => {
    const outcome = await lease.runExclusive(async () => {
      // Times taken while holding the lease: two runners' sweeps never overlap.
      const startedAt = Date.now();
      const report = await janitor.sweep();
      return { ...report, startedAt, finishedAt: Date.now() };
    });
    if (outcome.ran) {
      const { warned, expired, orphansRemoved, repaired, startedAt, finishedAt } = outcome.value;
      logger.debug(
        {
          sweep: { startedAt, finishedAt },
          warned: warned.length,
          expired: expired.length,
          orphansRemoved: orphansRemoved.length,
          repaired: repaired.length,
        },
        'janitor sweep done',
      );
    } else logger.debug('janitor sweep skipped: another runner holds the lease');
  };
  // A killed runner's reconciles are taken over at once (its Redis connection is gone), not after its locks expire.
  const takeOver = async (when: 'start-up' | 'periodic') => {
    const released = await worker.releaseJobsOfDeadWorkers();
    if (released.length > 0) logger.info({ jobs: released, when }, 'took over the reconciles of a runner that is gone');
  };
  const takeoverOn = tuning.takeover ?? true;
  const takeoverDone = (takeoverOn ? takeOver('start-up') : Promise.resolve()).catch((error: unknown) =>
    logger.warn({ err: error }, "start-up takeover of dead runners' jobs failed"),
  );
  const takeoverInterval = tuning.takeoverIntervalMs ?? 5_000;
  const takeoverTimer =
    takeoverOn && takeoverInterval > 0
      ? setInterval(() => {
          takeOver('periodic').catch((error: unknown) => logger.warn({ err: error }, 'takeover check failed'));
        }, takeoverInterval)
      : undefined;
  takeoverTimer?.unref();
  // What the cluster has room for, for the class capacity check of the chat side: kept by a watch of nodes and pods.
  const roomWatch = watchClusterRoom(kubeConfig, {}, logger);
  const capacity = createCapacityReporter({
    readRoom: roomFromWatch(roomWatch),
    lessons,
    ceilings: config.limits.ceilings,
    reports: createCapacityReports({ redis }),
    clock,
    ...(tuning.capacityIntervalMs !== undefined ? { intervalMs: tuning.capacityIntervalMs } : {}),
    logger,
  });
  // After a restart, repair at once what changed while no runner watched (then every interval).
  const ready = Promise.all([watch.synced, takeoverDone, capacity.start()])
    .then(() => leasedSweep())
    .then(
      () => undefined,
      (error: unknown) => logger.warn({ err: error }, 'start-up janitor sweep failed'),
    );
  const interval = tuning.janitorIntervalMs ?? 30_000;
  let sweeping = false;
  const timer =
    interval > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          leasedSweep()
            .catch((error: unknown) => logger.warn({ err: error }, 'janitor sweep failed'))
            .finally(() => {
              sweeping = false;
            });
        }, interval)
      : undefined;
  timer?.unref();

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (timer) clearInterval(timer);
      if (takeoverTimer) clearInterval(takeoverTimer);
      capacity.stop();
      await roomWatch.stop();
      await worker.close();
      await kubectlWorker.close();
      await learnerBuildWorker.close();
      await watch.stop();
      await queues.close();
      await cluster.stop?.();
      redis.disconnect();
      lockRedis.disconnect();
      logger.info('runner stopped');
    })();
    return stopped;
  };
  if (options.handleSignals) closeOnSignals([{ close: stop }]);
  logger.info(
    {
      cluster: options.kubeConfig ? 'given' : config.cluster.mode,
      docker: config.docker.host ?? 'unix:///var/run/docker.sock',
    },
    'runner started',
  );
  const readinessChecks: ReadinessProbe[] = [
    { name: 'redis', check: () => lockRedis.ping() },
    { name: 'docker', check: () => dockerBuilder.docker.ping() },
    { name: 'cluster', check: () => driver.checkConnection() },
  ];
  return { janitor, builder, store, queues, readinessChecks, ready, stop };
}
