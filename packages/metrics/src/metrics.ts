import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** How a build request ended: a Docker build ran, an existing image answered, or it failed. */
export type BuildResult = 'built' | 'cached' | 'failed';

export interface MetricsOptions {
  /** The process's name, a constant `process` label on every series (`runner`, `discord`, `slack`). */
  process: string;
  /** Node's own series (event loop lag, heap, GC); default true. */
  defaultMetrics?: boolean;
}

/** Counts of one queue's jobs by state, and how long the oldest waiting job has waited. */
export interface QueueSnapshot {
  counts: Record<string, number>;
  oldestWaitingAgeSeconds: number;
}

/**
 * labbot's series in one prom-client registry. The methods match the observer interfaces the product
 * packages take as options (RunnerObserver, OutboxObserver, KubeRequestObserver), so a process passes
 * this object itself as each observer.
 */
export interface LabbotMetrics {
  readonly registry: Registry;
  /** Runs `collect` before every scrape (gauges read from Redis or BullMQ at that moment). */
  onScrape(collect: () => Promise<void>): void;
  /** Every registered collector, then the exposition text. */
  scrape(): Promise<string>;
  setLabsByPhase(counts: Record<string, number>): void;
  labReady(secondsSinceStart: number): void;
  buildFinished(result: BuildResult, seconds: number): void;
  setQueue(queue: string, snapshot: QueueSnapshot): void;
  kubeRequest(verb: string, failed: boolean): void;
  chatCall(platform: string, failed: boolean): void;
  chatRateLimited(platform: string, waitMs: number): void;
  outboxDelivered(platform: string, lagMs: number): void;
}

/** A collector reading an unreachable Redis must not hold the scrape (its series keep their last values). */
const COLLECT_TIMEOUT_MS = 2000;

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const SECONDS_BUCKETS = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];

/** A fresh registry with labbot's series (one per process; tests make their own). */
export function createMetrics(options: MetricsOptions): LabbotMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ process: options.process });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'labbot_' });
  const registers = [registry];

  const labsByPhase = new Gauge({
    name: 'labbot_labs',
    help: 'Labs in the store by observed phase',
    labelNames: ['phase'],
    registers,
  });
  const timeToReady = new Histogram({
    name: 'labbot_lab_time_to_ready_seconds',
    help: 'From /lab start (the record was created) to all pods ready',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const buildDuration = new Histogram({
    name: 'labbot_build_duration_seconds',
    help: 'Time to have a lesson image, by result (built, cached, failed)',
    labelNames: ['result'],
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const builds = new Counter({
    name: 'labbot_builds_total',
    help: 'Image requests by result (built, cached, failed)',
    labelNames: ['result'],
    registers,
  });
  const queueJobs = new Gauge({
    name: 'labbot_queue_jobs',
    help: 'Jobs of each queue by state (waiting, delayed, active, failed...)',
    labelNames: ['queue', 'state'],
    registers,
  });
  const queueOldest = new Gauge({
    name: 'labbot_queue_oldest_waiting_job_age_seconds',
    help: 'Age of the oldest waiting job of each queue (0 when none waits)',
    labelNames: ['queue'],
    registers,
  });
  const kubeRequests = new Counter({
    name: 'labbot_kube_api_requests_total',
    help: 'Kubernetes API requests by HTTP verb',
    labelNames: ['verb'],
    registers,
  });
  const kubeErrors = new Counter({
    name: 'labbot_kube_api_errors_total',
    help: 'Kubernetes API requests that failed (no answer or a status >= 400) by HTTP verb',
    labelNames: ['verb'],
    registers,
  });
  const chatCalls = new Counter({
    name: 'labbot_chat_api_calls_total',
    help: 'Chat API calls made to post or edit messages, by platform',
    labelNames: ['platform'],
    registers,
  });
  const chatErrors = new Counter({
    name: 'labbot_chat_api_errors_total',
    help: 'Chat API calls that failed (other than rate limits), by platform',
    labelNames: ['platform'],
    registers,
  });
  const chatRateLimits = new Counter({
    name: 'labbot_chat_rate_limit_waits_total',
    help: 'Times a chat platform answered 429 and labbot waited, by platform',
    labelNames: ['platform'],
    registers,
  });
  const chatRateLimitSeconds = new Counter({
    name: 'labbot_chat_rate_limit_wait_seconds_total',
    help: 'Seconds labbot was told to wait by 429 answers, by platform',
    labelNames: ['platform'],
    registers,
  });
  const outboxLag = new Histogram({
    name: 'labbot_outbox_lag_seconds',
    help: 'From a message entering the chat outbox to its delivery, by platform',
    labelNames: ['platform'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });

  const collectors: Array<() => Promise<void>> = [];

  return {
    registry,
    onScrape: (collect) => {
      collectors.push(collect);
    },
    scrape: async () => {
      // A failing collector leaves its series as they were; the scrape itself still answers.
      await Promise.allSettled(collectors.map((collect) => withTimeout(collect(), COLLECT_TIMEOUT_MS)));
      return registry.metrics();
    },
    setLabsByPhase: (counts) => {
      labsByPhase.reset();
      for (const [phase, count] of Object.entries(counts)) labsByPhase.set({ phase }, count);
    },
    labReady: (seconds) => timeToReady.observe(Math.max(0, seconds)),
    buildFinished: (result, seconds) => {
      builds.inc({ result });
      buildDuration.observe({ result }, Math.max(0, seconds));
    },
    setQueue: (queue, snapshot) => {
      for (const [state, count] of Object.entries(snapshot.counts)) queueJobs.set({ queue, state }, count);
      queueOldest.set({ queue }, snapshot.oldestWaitingAgeSeconds);
    },
    kubeRequest: (verb, failed) => {
      kubeRequests.inc({ verb });
      if (failed) kubeErrors.inc({ verb });
    },
    chatCall: (platform, failed) => {
      chatCalls.inc({ platform });
      if (failed) chatErrors.inc({ platform });
    },
    chatRateLimited: (platform, waitMs) => {
      chatRateLimits.inc({ platform });
      chatRateLimitSeconds.inc({ platform }, Math.max(0, waitMs) / 1000);
    },
    outboxDelivered: (platform, lagMs) => outboxLag.observe({ platform }, Math.max(0, lagMs) / 1000),
  };
}
