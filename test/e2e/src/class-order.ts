import { createClassRoster } from '@labbot/store';
import type { LabHarness } from './harness.js';

/** How far apart two joins must be for their provisioning order to be asserted (joins closer than this race). */
export const ORDER_SLACK_MS = 250;

/**
 * When each learner's lab took its class provision slot (the runner's `class.provisioning` audit entry), against
 * join order: every pair where the earlier learner joined at least ORDER_SLACK_MS before the later one but was
 * taken later.
 */
export async function provisioningOrder(
  harness: LabHarness,
  classId: string,
): Promise<{ started: number; outOfOrder: string[] }> {
  const members = await createClassRoster({ redis: harness.redis }).members(classId);
  const takenAt = new Map<string, number>();
  for (const member of members) {
    const entry = (await harness.store.history(member.labId)).find((item) => item.action === 'class.provisioning');
    if (entry) takenAt.set(member.labId, Date.parse(entry.at));
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
}
