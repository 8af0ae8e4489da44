import { RECONCILE_QUEUE } from '@labbot/queue';
import { createClassRoster } from '@labbot/store';
import { Queue } from 'bullmq';
import type { LabHarness } from './harness.js';

/** How far apart two joins must be for their provisioning order to be asserted (joins closer than this race). */
export const ORDER_SLACK_MS = 250;

/**
 * When each learner's lab started provisioning (the runner took its `class.join` reconcile job), against join
 * order: every pair where the earlier learner joined at least ORDER_SLACK_MS before the later one but was taken later.
 */
export async function provisioningOrder(
  harness: LabHarness,
  classId: string,
): Promise<{ started: number; outOfOrder: string[] }> {
  const members = await createClassRoster({ redis: harness.redis }).members(classId);
  const connection = harness.redis.duplicate();
  const queue = new Queue(RECONCILE_QUEUE, { connection, prefix: 'labbot' });
  try {
    const jobs = await queue.getJobs(['completed', 'active', 'failed', 'waiting', 'prioritized', 'delayed']);
    const takenAt = new Map<string, number>();
    for (const job of jobs) {
      const labId = (job.data as { labId?: string }).labId;
      if ((job.data as { reason?: string }).reason !== 'class.join' || !labId || !job.processedOn) continue;
      takenAt.set(labId, Math.min(takenAt.get(labId) ?? Number.POSITIVE_INFINITY, job.processedOn));
    }
    const outOfOrder: string[] = [];
    for (const [i, early] of members.entries()) {
      for (const late of members.slice(i + 1)) {
        const apart = Date.parse(late.joinedAt) - Date.parse(early.joinedAt);
        const a = takenAt.get(early.labId);
        const b = takenAt.get(late.labId);
        if (apart >= ORDER_SLACK_MS && a !== undefined && b !== undefined && a > b) {
          outOfOrder.push(`#${early.seq} (${early.userId}) taken ${a - b} ms after #${late.seq} (${late.userId})`);
        }
      }
    }
    return { started: takenAt.size, outOfOrder };
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
