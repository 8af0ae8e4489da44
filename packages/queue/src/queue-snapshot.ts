import type { Queue } from 'bullmq';

/** A queue's jobs by state and the age of its oldest waiting job, for metrics. */
export interface QueueSnapshot {
  counts: Record<string, number>;
  oldestWaitingAgeSeconds: number;
}

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

/** Reads a BullMQ queue's depth (one round trip per state) and how long its oldest waiting job has waited. */
export async function snapshotQueue(queue: Queue, now: () => number = Date.now): Promise<QueueSnapshot> {
  const counts = await queue.getJobCounts(...STATES);
  // Waiting jobs are pushed on the left: the oldest is at either end depending on LIFO use, so read both.
  const ends = [
    ...(await queue.getJobs(['waiting', 'prioritized'], 0, 0, true)),
    ...(await queue.getJobs(['waiting', 'prioritized'], 0, 0, false)),
  ];
  const oldest = Math.min(...ends.map((job) => job.timestamp).filter((t) => Number.isFinite(t)));
  return { counts, oldestWaitingAgeSeconds: Number.isFinite(oldest) ? Math.max(0, (now() - oldest) / 1000) : 0 };
}
