import {
  type OutboxItem,
  OutboxItemSchema,
  type OutboxPlatform,
  OutboxPlatformSchema,
  outboxQueueName,
  RECONCILE_QUEUE,
  type ReconcileJob,
  ReconcileJobSchema,
} from '../payloads.js';
import { type EnqueuedJob, type LabQueues, parsePayload } from '../producers.js';

/** The queues in memory: what was asked, deduplicated as BullMQ does it, for a test to take and look at. */
export interface MemoryQueues extends LabQueues {
  /** Reconcile requests waiting (one per lab), in order; taking them empties the queue, as a worker would. */
  takeReconciles(): ReconcileJob[];
  /** The newest item of a thread + key, as the outbox would deliver it. */
  latestOutbox(threadId: string, key: string): (OutboxItem & { platform: OutboxPlatform; seq: number }) | undefined;
  /** Every outbox item in the order it was enqueued. */
  readonly outbox: (OutboxItem & { platform: OutboxPlatform; seq: number })[];
  /** Makes the next enqueue throw `error` (e.g. Redis down). */
  failNext(error: Error): void;
}

/**
 * The in-memory queues for unit tests of the bot. It passes the same contract suite
 * (`describeQueuesContract`) as the BullMQ producers on Redis.
 */
export function createMemoryQueues(): MemoryQueues {
  let nextJob = 1;
  let failure: Error | undefined;
  const waiting = new Map<string, { jobId: string; job: ReconcileJob }>();
  const outbox: MemoryQueues['outbox'] = [];
  const latest = new Map<string, (typeof outbox)[number]>();
  const waitingOutbox = new Map<string, string>();
  const seqs = new Map<string, number>();
  const failing = () => {
    if (failure) {
      const error = failure;
      failure = undefined;
      throw error;
    }
  };

  return {
    outbox,
    failNext: (error) => {
      failure = error;
    },
    enqueueReconcile: async (labId, reason): Promise<EnqueuedJob> => {
      failing();
      const job = parsePayload(ReconcileJobSchema, { labId, reason }, RECONCILE_QUEUE);
      const existing = waiting.get(job.labId);
      if (existing) return { jobId: existing.jobId };
      const jobId = String(nextJob++);
      waiting.set(job.labId, { jobId, job });
      return { jobId };
    },
    enqueueOutbox: async (platform, item) => {
      failing();
      const validPlatform = parsePayload(OutboxPlatformSchema, platform, 'chat-outbox');
      const payload = parsePayload(OutboxItemSchema, item, outboxQueueName(validPlatform));
      const key = `${validPlatform}|${payload.threadId}|${payload.key}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      const entry = { ...structuredClone(payload), platform: validPlatform, seq };
      outbox.push(entry);
      latest.set(`${payload.threadId}|${payload.key}`, entry);
      let jobId = waitingOutbox.get(key);
      if (!jobId) {
        jobId = String(nextJob++);
        waitingOutbox.set(key, jobId);
      }
      return { jobId, seq };
    },
    takeReconciles: () => {
      const jobs = [...waiting.values()].map((entry) => entry.job);
      waiting.clear();
      return jobs;
    },
    latestOutbox: (threadId, key) => latest.get(`${threadId}|${key}`),
  };
}
