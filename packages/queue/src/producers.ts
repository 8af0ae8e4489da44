import { LabbotError } from '@labbot/core';
import { type DefaultJobOptions, Queue } from 'bullmq';
import type { z } from 'zod';
import { openConnection, type QueueConnection } from './connection.js';
import { createOutboxState, type OutboxState } from './outbox-state.js';
import {
  type OutboxItem,
  OutboxItemSchema,
  type OutboxPlatform,
  OutboxPlatformSchema,
  outboxQueueName,
  RECONCILE_QUEUE,
  ReconcileJobSchema,
} from './payloads.js';

export interface QueuesOptions {
  connection: QueueConnection;
  /** Key prefix of the queues (default `labbot`); workers must use the same. */
  prefix?: string;
  /** Attempts per job before it fails (default 5). */
  attempts?: number;
  /** First retry delay; each next one doubles (default 1000 ms). */
  backoffMs?: number;
  /** How long the newest outbox item of a thread + key is kept for delivery (default 1 day). */
  outboxTtlMs?: number;
}

export interface EnqueuedJob {
  /** The job that will run it: an existing one when the request was absorbed by deduplication. */
  jobId: string;
}

/** What the bot asks of the queues: a reconcile of a lab, a message in a thread (the port its fake implements). */
export type LabQueues = Pick<Queues, 'enqueueReconcile' | 'enqueueOutbox'>;

/** The producers of labbot's queues. */
export interface Queues {
  /**
   * Asks for a reconcile of one lab; absorbed while one is waiting, queued once more while one runs.
   * `priority` (1 first) orders waiting requests, e.g. a class's labs in join order.
   */
  enqueueReconcile(labId: string, reason: string, options?: { priority?: number }): Promise<EnqueuedJob>;
  /**
   * Starts a lab's reconcile now when it waits out a delay (a class lab put back to wait for a provision slot). False
   * when none was delayed: none queued, or it is waiting or running already, also when its delay ended (or another
   * runner woke it) between the look and the wake.
   */
  wakeReconcile(labId: string): Promise<boolean>;
  /** Shows `item.message` as the `item.key` message of a thread; a newer item for the same thread + key wins. */
  enqueueOutbox(platform: OutboxPlatform, item: OutboxItem): Promise<EnqueuedJob & { seq: number }>;
  /** The BullMQ queue behind a name (counts, events, admin). */
  queue(name: string): Queue;
  close(): Promise<void>;
}

export function parsePayload<T>(schema: z.ZodType<T>, value: unknown, queueName: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new LabbotError('QUEUE_INVALID_PAYLOAD', `Invalid ${queueName} payload: ${parsed.error.message}`, {
      cause: parsed.error,
      context: { queue: queueName },
    });
  }
  return parsed.data;
}

export function createQueues(options: QueuesOptions): Queues {
  const connection = openConnection(options.connection, 'producer');
  const prefix = options.prefix ?? 'labbot';
  const outboxTtlMs = options.outboxTtlMs ?? 24 * 3600_000;
  const defaultJobOptions: DefaultJobOptions = {
    attempts: options.attempts ?? 5,
    backoff: { type: 'exponential', delay: options.backoffMs ?? 1000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
  const queues = new Map<string, Queue>();
  const outboxStates = new Map<OutboxPlatform, OutboxState>();

  const queue = (name: string): Queue => {
    let existing = queues.get(name);
    if (!existing) {
      existing = new Queue(name, { connection: connection.client, prefix, defaultJobOptions });
      // Redis down: the adds fail and say so; the connection's own errors need a listener (else printed).
      existing.on('error', () => {});
      queues.set(name, existing);
    }
    return existing;
  };

  const idOf = (jobId: string | undefined, queueName: string): string => {
    if (jobId === undefined) throw new LabbotError('QUEUE_NO_JOB_ID', `BullMQ returned no job id on ${queueName}.`);
    return jobId;
  };

  return {
    enqueueReconcile: async (labId, reason, enqueueOptions = {}) => {
      const payload = parsePayload(ReconcileJobSchema, { labId, reason }, RECONCILE_QUEUE);
      // keepLastIfActive: a request while a run is active is kept and started after it (exactly once).
      const job = await queue(RECONCILE_QUEUE).add('reconcile', payload, {
        deduplication: { id: payload.labId, keepLastIfActive: true },
        ...(enqueueOptions.priority ? { priority: Math.min(enqueueOptions.priority, 2_097_152) } : {}),
      });
      return { jobId: idOf(job.id, RECONCILE_QUEUE) };
    },

    wakeReconcile: async (labId) => {
      const reconcile = queue(RECONCILE_QUEUE);
      const jobId = await reconcile.getDeduplicationJobId(labId);
      const job = jobId ? await reconcile.getJob(jobId) : undefined;
      if (!job || !(await job.isDelayed())) return false;
      try {
        await job.promote();
        return true;
      } catch (error) {
        // BullMQ refuses to promote a job that is no longer delayed: it left the delayed set by itself meanwhile.
        if (await job.isDelayed()) {
          throw new LabbotError('QUEUE_WAKE_FAILED', `Could not wake the reconcile of lab ${labId}.`, {
            cause: error,
            context: { labId, jobId: job.id },
          });
        }
        return false;
      }
    },

    enqueueOutbox: async (platform, item) => {
      const validPlatform = parsePayload(OutboxPlatformSchema, platform, 'chat-outbox');
      const name = outboxQueueName(validPlatform);
      const payload = parsePayload(OutboxItemSchema, item, name);
      let state = outboxStates.get(validPlatform);
      if (!state) {
        state = createOutboxState(connection.client, prefix, validPlatform, outboxTtlMs);
        outboxStates.set(validPlatform, state);
      }
      // The newest item is written before the job is added: whichever job runs next delivers it.
      const seq = await state.writeLatest(payload);
      const job = await queue(name).add('deliver', payload, {
        deduplication: { id: state.dedupId(payload.threadId, payload.key), keepLastIfActive: true },
      });
      return { jobId: idOf(job.id, name), seq };
    },

    queue,

    close: async () => {
      await Promise.all([...queues.values()].map((q) => q.close()));
      await connection.release();
    },
  };
}
