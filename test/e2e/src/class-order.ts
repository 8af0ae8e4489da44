import { createClassRoster } from '@labbot/store';
import type { LabHarness } from './harness.js';

/**
 * In which order the learners' labs were granted their class provision slot (the runner's `class.provisioning`
 * audit entry carries the class's grant number, counted atomically in Redis), against join order: every pair
 * where the earlier joiner was granted after the later one. Exact: no clock or timing slack is involved.
 */
export async function provisioningOrder(
  harness: LabHarness,
  classId: string,
): Promise<{ started: number; outOfOrder: string[] }> {
  const members = await createClassRoster({ redis: harness.redis }).members(classId);
  const grantOf = new Map<string, number>();
  for (const member of members) {
    const entry = (await harness.store.history(member.labId)).find(
      (item) => item.action === 'class.provisioning' && item.detail?.classId === classId,
    );
    const grant = entry?.detail?.grant;
    if (typeof grant === 'number') grantOf.set(member.labId, grant);
  }
  const outOfOrder: string[] = [];
  for (const [i, early] of members.entries()) {
    for (const late of members.slice(i + 1)) {
      const a = grantOf.get(early.labId);
      const b = grantOf.get(late.labId);
      if (a !== undefined && b !== undefined && a > b) {
        outOfOrder.push(
          `#${early.seq} (${early.userId}) granted ${a}th, after #${late.seq} (${late.userId}) granted ${b}th`,
        );
      }
    }
  }
  return { started: grantOf.size, outOfOrder };
}
