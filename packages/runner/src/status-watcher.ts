import type { ClusterDriver, LabPodWatch } from '@labbot/cluster';
import type { Logger } from '@labbot/config';
import {
  type Diagnosis,
  isPodPhase,
  type LabRecord,
  movePhase,
  type PodSummary,
  PRE_POD_PHASES,
  phaseFromPods,
} from '@labbot/core';
import type { LabStore } from '@labbot/store';
import type { LabNotices } from './events.js';

export interface StatusWatcherOptions {
  store: LabStore;
  cluster: ClusterDriver;
  notices: LabNotices;
  logger: Logger;
  debounceMs?: number;
  /** How long a lab may have fewer pods than desired before the cluster's events are asked why (default 2 s). */
  shortfallCheckMs?: number;
}

/** The pod watch plus the one check the watch cannot do: pods that were never created (quota, Pod Security). */
export interface StatusWatcher extends LabPodWatch {
  /** Looks at the lab's events soon if it still has fewer pods than desired then (after a deploy or a scale). */
  checkShortfall(labId: string): void;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Turns the cluster's one shared pod watch into lab state and LabEvents: pods table, ready/degraded,
 * and a diagnosis in plain words. No polling: snapshots arrive from the watch, coalesced per lab.
 */
export function startStatusWatcher(options: StatusWatcherOptions): StatusWatcher {
  const { store, cluster, notices, logger } = options;
  // Snapshots of one lab are applied in order, one at a time.
  const queues = new Map<string, Promise<void>>();

  async function apply(labId: string, pods: PodSummary[], diagnosis: Diagnosis | undefined): Promise<void> {
    let before: LabRecord | undefined;
    let after: LabRecord | undefined;
    try {
      after = await store.update(labId, (current) => {
        before = current;
        if (current.desired.state !== 'running') return undefined;
        const early = PRE_POD_PHASES.includes(current.observed.phase);
        if (!early && !isPodPhase(current.observed.phase)) return undefined;
        const desired = current.observed.desiredReplicas ?? 0;
        // Before the runner finished its steps the pods are only recorded; it picks the phase from them.
        const phase = early ? current.observed.phase : phaseFromPods(pods, desired, diagnosis);
        const shownDiagnosis =
          phase === 'ready' || (early && phaseFromPods(pods, desired, diagnosis) === 'ready') ? undefined : diagnosis;
        if (
          phase === current.observed.phase &&
          sameJson(pods, current.observed.pods) &&
          sameJson(shownDiagnosis, current.observed.diagnosis)
        ) {
          return undefined;
        }
        return {
          ...current,
          observed: { ...movePhase('pods', current.observed, phase), pods, diagnosis: shownDiagnosis },
        };
      });
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'STORE_NOT_FOUND') return;
      throw error;
    }
    if (!before || !after || after.version === before.version) return;
    if (PRE_POD_PHASES.includes(after.observed.phase)) return;
    await notices.changed(after);
    if (after.observed.phase === 'ready' && before.observed.phase !== 'ready') {
      await store.appendHistory(labId, { actor: 'runner', action: 'observed.ready', detail: { pods: pods.length } });
    }
    const desired = after.observed.desiredReplicas ?? 0;
    if (after.observed.phase === 'waiting-for-pods' && pods.length < desired) checkShortfall(labId);
  }

  // Refused pods never exist, so no pod event says why; their reason is in the namespace's events.
  const shortfallChecks = new Map<string, NodeJS.Timeout>();
  function checkShortfall(labId: string): void {
    if (shortfallChecks.has(labId)) return;
    const timer = setTimeout(() => {
      shortfallChecks.delete(labId);
      void diagnoseShortfall(labId).catch((error: unknown) =>
        logger.warn({ err: error, labId }, 'could not diagnose missing pods'),
      );
    }, options.shortfallCheckMs ?? 2000);
    timer.unref();
    shortfallChecks.set(labId, timer);
  }

  async function diagnoseShortfall(labId: string): Promise<void> {
    const lab = await store.get(labId);
    const short = (current: LabRecord) =>
      current.desired.state === 'running' &&
      current.observed.phase === 'waiting-for-pods' &&
      !current.observed.diagnosis &&
      current.observed.pods.length < (current.observed.desiredReplicas ?? 0);
    if (!lab || !short(lab)) return;
    const diagnosis = await cluster.diagnoseNamespace(lab.namespace);
    if (!diagnosis) return;
    let changed = false;
    const degraded = await store.update(labId, (current) => {
      changed = short(current);
      return changed
        ? { ...current, observed: { ...movePhase('pods', current.observed, 'degraded'), diagnosis } }
        : undefined;
    });
    if (changed) await notices.changed(degraded);
  }

  const watch = cluster.watchLabPods({
    debounceMs: options.debounceMs ?? 250,
    onSnapshot: (labId, _namespace, pods, diagnosis) => {
      const previous = queues.get(labId) ?? Promise.resolve();
      const next = previous
        .then(() => apply(labId, pods, diagnosis))
        .catch((error: unknown) => logger.warn({ err: error, labId }, 'could not record a pod snapshot'));
      queues.set(labId, next);
      void next.finally(() => {
        if (queues.get(labId) === next) queues.delete(labId);
      });
    },
    onError: (error) => logger.warn({ err: error }, 'pod watch failed; retrying'),
  });
  return {
    synced: watch.synced,
    podsOf: (labId) => watch.podsOf(labId),
    checkShortfall,
    stop: async () => {
      for (const timer of shortfallChecks.values()) clearTimeout(timer);
      shortfallChecks.clear();
      await watch.stop();
    },
  };
}
