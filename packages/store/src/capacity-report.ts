import { type CapacityReport, CapacityReportSchema } from '@labbot/core';
import type { Redis } from 'ioredis';

/** The cluster's room as the runner last saw it, kept in Redis for the chat side (which has no cluster access). */
export interface CapacityReports {
  /** Replaces the report (the newest wins; several runners publish the same cluster). */
  publish(report: CapacityReport): Promise<void>;
  /** The last report, or undefined when none was published or it no longer parses. */
  latest(): Promise<CapacityReport | undefined>;
}

export interface CapacityReportsOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
}

export function createCapacityReports(options: CapacityReportsOptions): CapacityReports {
  const key = `${options.prefix ?? 'labbot'}:cluster:capacity`;
  return {
    async publish(report) {
      // An hour at most: a report no runner renews stops counting long before (CAPACITY_REPORT_MAX_AGE_MS).
      await options.redis.set(key, JSON.stringify(CapacityReportSchema.parse(report)), 'EX', 3600);
    },
    async latest() {
      const raw = await options.redis.get(key);
      if (!raw) return undefined;
      try {
        const parsed = CapacityReportSchema.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
