import { judgeClassCapacity } from '@labbot/core';
import type { CapacityReports } from '@labbot/store';
import { Refusal } from './refusal.js';

export interface ClassCapacityCheckOptions {
  /** The cluster's room as the runner last published it. */
  reports: Pick<CapacityReports, 'latest'>;
  clock: () => Date;
  logger: { warn(fields: Record<string, unknown>, message: string): void };
}

/**
 * Before a class starts: refuses (one plain sentence) a class whose labs cannot fit in the cluster's room,
 * and returns a warning sentence when it would take more than 80% of it ('' when it fits or nothing is known).
 */
export async function checkClassCapacity(
  options: ClassCapacityCheckOptions,
  lessonId: string,
  maxLearners: number,
): Promise<string> {
  const verdict = judgeClassCapacity({
    lessonId,
    maxLearners,
    report: await options.reports.latest(),
    now: options.clock(),
  });
  switch (verdict.outcome) {
    case 'refused':
      throw new Refusal(verdict.sentence);
    case 'close':
      return verdict.sentence;
    case 'unknown':
      // No runner has reported the cluster (yet): the class starts as before, and the operator can see why.
      options.logger.warn({ lessonId, reason: verdict.reason }, 'class capacity not checked');
      return '';
    case 'fits':
      return '';
  }
}
