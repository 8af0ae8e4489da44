import { randomBytes } from 'node:crypto';
import { LabbotError } from '@labbot/core';
import {
  DelayedError,
  type Job,
  Queue,
  RateLimitError,
  UnrecoverableError,
  WaitingChildrenError,
  WaitingError,
  Worker,
} from 'bullmq';
import type { z } from 'zod';
import { openConnection, type QueueConnection } from './connection.js';
import { RECONCILE_QUEUE, type ReconcileJob, ReconcileJobSchema } from './payloads.js';

/** Settings shared by every labbot worker. */
export interface WorkerTuning {
  /** Jobs processed at once by this worker (default 1). */
  concurrency?: number;
  /** How often the worker looks for jobs whose worker died, in ms (default 5 000). */
  stalledIntervalMs?: number;
  /**
   * How long a job's lock lives without renewal, in ms (default 15 000; BullMQ renews it every half of it while
   * the job runs): a job of a worker that vanished without closing its connection is free after this.
   */
  lockDurationMs?: number;
  /**
   * This worker's name, stored on each job it takes (BullMQ `processedBy`) and in its Redis client name, so
   * `releaseJobsOfDeadWorkers` can tell a dead worker's jobs (default: a random one).
   */
  workerName?: string;
  /**
   * For this long after Redis started, `releaseJobsOfDeadWorkers` releases nothing (default 30 000 ms): after a
   * Redis restart every worker is reconnecting, and one whose named connection is not back yet is alive.
   */
  redisStartGraceMs?: number;
  /** How many times one job may be taken back from a dead worker before it fails (default 2). */
  maxStalledCount?: number;
  /** How many times one job may be started, counting delays and retries, before it fails (default 100). */
  maxStartedAttempts?: number;
  /** Errors of the worker and of failed job attempts (default: one line on stderr). */
  onError?: (error: Error, jobId: string | undefined) => void;
}

export interface WorkerBaseOptions extends WorkerTuning {
  connection: QueueConnection;
  /** Key prefix of the queues (default `labbot`); must match the producers'. */
  prefix?: string;
}

/** What a processor knows about the job it runs. */
export interface JobContext {
  jobId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Attempts allowed in total. */
  attempts: number;
  /** Puts the job back to run again in `ms` without spending an attempt (e.g. waiting for a slot); throw what it returns. */
  later(ms: number): Promise<Error>;
}

/** A running worker; `close()` waits for the jobs in progress, then disconnects. */
export interface LabbotWorker {
  readonly worker: Worker;
  /**
   * Moves the active jobs of workers of this queue whose Redis connection is gone (a killed process) back to
   * waiting now, keeping their data, attempts and deduplication, instead of after their locks expire and two
   * stalled checks pass. Returns the ids of the jobs it released.
   */
  releaseJobsOfDeadWorkers(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Frees the lock of each given active job that still names the dead worker as its processor, and marks it as a
 * stalled candidate, in one atomic step, so a job a live worker has taken meanwhile keeps its lock.
 * KEYS: active list, stalled set, stalled-check key. ARGV[1]: the queue's key prefix; then job id, dead worker name.
 */
const RELEASE_SCRIPT = `
local released = {}
for i = 2, #ARGV, 2 do
  local jobId = ARGV[i]
  local jobKey = ARGV[1] .. jobId
  if redis.call('HGET', jobKey, 'pb') == ARGV[i + 1] and redis.call('LPOS', KEYS[1], jobId) then
    redis.call('DEL', jobKey .. ':lock')
    redis.call('SADD', KEYS[2], jobId)
    table.insert(released, jobId)
  end
end
if #released > 0 then redis.call('DEL', KEYS[3]) end
return released
`;

/** How long the Redis server has been up (INFO server's uptime_in_seconds), in ms. */
async function redisUptimeMs(client: { info(section: 'server'): Promise<string> }): Promise<number> {
  const seconds = /uptime_in_seconds:(\d+)/.exec(await client.info('server'))?.[1];
  return seconds === undefined ? Number.POSITIVE_INFINITY : Number(seconds) * 1000;
}

/** How long a lock renewal sent before a job was put back may take to answer "could not renew" (see `later`). */
const RENEWAL_ANSWER_MS = 1_000;

/** Errors that tell BullMQ what to do with a job, passed through as they are. */
function isJobControlError(error: unknown): boolean {
  return (
    error instanceof DelayedError ||
    error instanceof UnrecoverableError ||
    error instanceof RateLimitError ||
    error instanceof WaitingError ||
    error instanceof WaitingChildrenError
  );
}

/**
 * The error a processor's failure becomes: a LabbotError that says a retry cannot help becomes
 * BullMQ's UnrecoverableError (no further attempts), keeping the code and cause; others retry.
 */
export function toJobError(error: unknown): unknown {
  if (isJobControlError(error)) return error;
  if (error instanceof LabbotError && !error.retryable) {
    const unrecoverable = new UnrecoverableError(`${error.code}: ${error.message}`);
    unrecoverable.cause = error;
    return unrecoverable;
  }
  return error;
}

const defaultOnError = (name: string) => (error: Error, jobId: string | undefined) => {
  console.error(`[labbot queue ${name}]${jobId ? ` job ${jobId}:` : ''} ${error.message}`);
};

export interface CreateWorkerOptions<T> extends WorkerBaseOptions {
  queueName: string;
  schema: z.ZodType<T>;
  /** Runs one job with its validated payload; the BullMQ job and lock token are there for delays. */
  process: (payload: T, context: JobContext, job: Job, token: string | undefined) => Promise<unknown>;
}

/** A BullMQ worker that validates payloads, maps labbot errors to job fates and recovers stalled jobs. */
export function createLabbotWorker<T>(options: CreateWorkerOptions<T>): LabbotWorker {
  const connection = openConnection(options.connection, 'worker');
  const onError = options.onError ?? defaultOnError(options.queueName);
  const workerName = options.workerName ?? `worker-${randomBytes(6).toString('hex')}`;
  const prefix = options.prefix ?? 'labbot';
  // Reads the queue's active jobs and its live workers (BullMQ names each worker's Redis client after it).
  let inspector: Queue | undefined;
  // Jobs this worker put back itself (`later`), and until when a failed renewal of their lock is expected. BullMQ's
  // lock extender may have picked such a job for renewal before the move released its lock; its "could not renew
  // lock" for it is then no lost lock, only noise at warn in every runner (each class lab waiting for a provision
  // slot). A lock lost any other way is still reported.
  const putBack = new Map<string, number>();
  const putBackJustNow = (jobId: string) => (putBack.get(jobId) ?? 0) > Date.now();
  const worker = new Worker(
    options.queueName,
    async (job, token) => {
      const parsed = options.schema.safeParse(job.data);
      if (!parsed.success)
        throw new UnrecoverableError(`Invalid ${options.queueName} payload: ${parsed.error.message}`);
      const context: JobContext = {
        jobId: job.id ?? '',
        attempt: job.attemptsMade + 1,
        attempts: job.opts.attempts ?? 1,
        later: async (ms) => {
          // Marked before the move: the extender's failed renewal may be told before the move's own answer.
          const jobId = job.id ?? '';
          for (const [id, until] of putBack) if (until <= Date.now()) putBack.delete(id);
          // Until this run has ended (and a renewal sent meanwhile has had its answer; see the finally below).
          putBack.set(jobId, Number.POSITIVE_INFINITY);
          try {
            await job.moveToDelayed(Date.now() + ms, token);
          } catch (error) {
            putBack.delete(jobId);
            throw error;
          }
          return new DelayedError();
        },
      };
      try {
        return await options.process(parsed.data, context, job, token);
      } catch (error) {
        throw toJobError(error);
      } finally {
        // A lock this job loses in a later run is a real loss, once a renewal sent during this one has been answered.
        if (job.id && putBack.get(job.id) === Number.POSITIVE_INFINITY)
          putBack.set(job.id, Date.now() + RENEWAL_ANSWER_MS);
      }
    },
    {
      connection: connection.client,
      prefix: options.prefix ?? 'labbot',
      name: workerName,
      concurrency: options.concurrency ?? 1,
      stalledInterval: options.stalledIntervalMs ?? 5_000,
      lockDuration: options.lockDurationMs ?? 15_000,
      maxStalledCount: options.maxStalledCount ?? 2,
      maxStartedAttempts: options.maxStartedAttempts ?? 100,
    },
  );
  worker.on('error', (error) => {
    const renewed = /^could not renew lock for job (.+)$/.exec(error.message)?.[1];
    if (renewed !== undefined && putBackJustNow(renewed)) return;
    onError(error, undefined);
  });
  worker.on('failed', (job, error) => onError(error, job?.id));

  async function releaseJobsOfDeadWorkers(): Promise<string[]> {
    if (!inspector) {
      inspector = new Queue(options.queueName, { connection: connection.client, prefix });
      inspector.on('error', (error) => onError(error, undefined));
    }
    const active = await inspector.getActive();
    if (active.length === 0) return [];
    const live = new Set(
      (await inspector.getWorkers()).map((client) => String(client.rawname ?? '').split(':w:')[1] ?? ''),
    );
    // Unnamed workers (no processedBy), live ones and this one (alive: it is running this) keep their jobs; their
    // locks decide. A worker whose blocking connection is reconnecting is missing from the list for a moment.
    const orphaned = active.filter(
      (job) => job.id && job.processedBy && job.processedBy !== workerName && !live.has(job.processedBy),
    );
    if (orphaned.length === 0) return [];
    // Just after a Redis restart every connection is new: a worker not named yet is reconnecting, not dead.
    if ((await redisUptimeMs(connection.client)) < (options.redisStartGraceMs ?? 30_000)) return [];
    const released = (await connection.client.eval(
      RELEASE_SCRIPT,
      3,
      inspector.toKey('active'),
      inspector.toKey('stalled'),
      inspector.toKey('stalled-check'),
      inspector.toKey(''),
      ...orphaned.flatMap((job) => [job.id ?? '', job.processedBy ?? '']),
    )) as string[];
    // BullMQ's own stalled check moves the unlocked candidates back to waiting (same script, same events):
    // restarting its loop runs one check at once.
    if (released.length > 0) await worker.startStalledCheckTimer();
    return released;
  }

  return {
    worker,
    releaseJobsOfDeadWorkers,
    close: async () => {
      await worker.close();
      await inspector?.close();
      await connection.release();
    },
  };
}

export interface ReconcileWorkerOptions extends WorkerBaseOptions {
  /** Compares desired with observed state of one lab and does what is missing (idempotent). */
  process: (job: ReconcileJob, context: JobContext) => Promise<void>;
}

/**
 * The runner's reconcile loop. Requests for a lab are deduplicated by the producer: at most one
 * waiting and one running per lab, and a request made during a run causes exactly one more run.
 */
export function createReconcileWorker(options: ReconcileWorkerOptions): LabbotWorker {
  const { process, ...rest } = options;
  return createLabbotWorker({
    ...rest,
    queueName: RECONCILE_QUEUE,
    schema: ReconcileJobSchema,
    process: async (payload, context) => {
      await process(payload, context);
    },
  });
}
