import { type ClusterRoom, type ClusterRoomWatch, labRequests } from '@labbot/cluster';
import type { CapacityReport, ResourceAmount } from '@labbot/core';
import type { LessonCatalog } from '@labbot/lessons';
import type { CapacityReports } from '@labbot/store';

export interface CapacityReporterOptions {
  /** Reads the cluster's room (nodes and pods); `roomFromWatch` of the runner's cluster room watch in production. */
  readRoom: () => Promise<ClusterRoom>;
  lessons: LessonCatalog;
  ceilings: { cpu: string; memory: string; pods: number };
  reports: CapacityReports;
  clock: () => Date;
  /** How often the report is renewed (default 15 s; 0: only when `publish` is called). */
  intervalMs?: number;
  logger: { warn(fields: Record<string, unknown>, message: string): void };
}

/**
 * The room as a cluster room watch keeps it (no API request per report): once its first lists are in, what it has
 * watched since (the runner's identity may list and watch nodes and pods, read-only).
 */
export const roomFromWatch = (watch: Pick<ClusterRoomWatch, 'synced' | 'room'>) => async (): Promise<ClusterRoom> => {
  await watch.synced;
  const room = watch.room();
  if (!room) throw new Error('the cluster room watch has not listed nodes and pods yet');
  return room;
};

/**
 * Publishes what the cluster has room for, and what one lab of each lesson takes, for the class capacity
 * check on the chat side (which has no cluster credentials). Renewed every interval; failures are logged.
 */
export function createCapacityReporter(options: CapacityReporterOptions) {
  const labs: Record<string, ResourceAmount> = {};
  for (const lesson of options.lessons.lessons) {
    labs[lesson.id] = labRequests(
      {
        cpu: lesson.spec.limits.containerCpu,
        memory: lesson.spec.limits.containerMemory,
        pods: Math.max(lesson.spec.deployment.replicas, lesson.spec.limits.pods - 1),
        replicas: lesson.spec.deployment.replicas,
      },
      options.ceilings,
    );
  }
  async function publish(): Promise<CapacityReport> {
    const room = await options.readRoom();
    const report: CapacityReport = { observedAt: options.clock().toISOString(), ...room, labs };
    await options.reports.publish(report);
    return report;
  }
  let inFlight: Promise<void> | undefined;
  // One report at a time: a slow cluster must not pile up list calls.
  const publishLogged = () => {
    inFlight ??= publish()
      .then(
        () => undefined,
        (error: unknown) => options.logger.warn({ err: error }, 'could not publish the cluster capacity'),
      )
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };
  const intervalMs = options.intervalMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  return {
    publish,
    /** Publishes now, then every interval; resolves after the first report (or its logged failure). */
    start(): Promise<void> {
      if (intervalMs > 0 && !timer) {
        timer = setInterval(publishLogged, intervalMs);
        timer.unref();
      }
      return publishLogged();
    },
    stop(): void {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
