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
  /**
   * How long a lab may stay short of pods with no event saying why before the learner is told so (a diagnosis,
   * `PodsMissing`); the checks before it come at growing intervals (default 120 s).
   */
  stalledAfterMs?: number;
}

/** The longest pause between two checks of a lab that is still short of pods. */
const MAX_SHORTFALL_CHECK_MS = 30_000;

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

  /** Records a snapshot after the lab's earlier ones (one at a time per lab, in order). */
  function record(labId: string, pods: PodSummary[], diagnosis: Diagnosis | undefined): Promise<void> {
    const previous = queues.get(labId) ?? Promise.resolve();
    const next = previous
      .then(() => apply(labId, pods, diagnosis))
      .catch((error: unknown) => logger.warn({ err: error, labId }, 'could not record a pod snapshot'));
    queues.set(labId, next);
    void next.finally(() => {
      if (queues.get(labId) === next) queues.delete(labId);
    });
    return next;
  }

  // Refused pods never exist, so no pod event says why; their reason is in the namespace's events. A lab still
  // short after that is checked again at growing intervals: it never waits silently for pods that do not come.
  const firstCheckMs = options.shortfallCheckMs ?? 2000;
  const stalledAfterMs = options.stalledAfterMs ?? 120_000;
  const shortfallChecks = new Map<string, NodeJS.Timeout>();
  /** Since when each lab checked is short of pods, and the pause before its next check. */
  const shortfalls = new Map<string, { since: number; nextMs: number }>();
  function checkShortfall(labId: string): void {
    if (shortfallChecks.has(labId)) return;
    const known = shortfalls.get(labId) ?? { since: Date.now(), nextMs: firstCheckMs };
    shortfalls.set(labId, known);
    const timer = setTimeout(() => {
      shortfallChecks.delete(labId);
      void diagnoseShortfall(labId)
        .catch((error: unknown) => {
          logger.warn({ err: error, labId }, 'could not diagnose missing pods');
          return true;
        })
        .then((stillShort) => {
          if (!stillShort) {
            shortfalls.delete(labId);
            return;
          }
          known.nextMs = Math.min(known.nextMs * 2, MAX_SHORTFALL_CHECK_MS);
          checkShortfall(labId);
        });
    }, known.nextMs);
    timer.unref();
    shortfallChecks.set(labId, timer);
  }

  const short = (current: LabRecord) =>
    current.desired.state === 'running' &&
    current.observed.phase === 'waiting-for-pods' &&
    !current.observed.diagnosis &&
    current.observed.pods.length < (current.observed.desiredReplicas ?? 0);

  /** Looks for why a lab is short of pods; true when it still is and nobody has told the learner why. */
  async function diagnoseShortfall(labId: string): Promise<boolean> {
    const lab = await store.get(labId);
    if (!lab || !short(lab)) return false;
    let diagnosis = await cluster.diagnoseNamespace(lab.namespace);
    if (!diagnosis) {
      // The shared watch may hold pods the record lacks (a snapshot that could not be recorded): record them now.
      const cached = watch.podsOf(labId);
      if (!sameJson(cached, lab.observed.pods)) {
        logger.warn({ labId, pods: cached.length }, 'pods missing from the lab record; recorded from the watch');
        await record(labId, cached, undefined);
        const after = await store.get(labId);
        if (!after || !short(after)) return false;
      }
      const since = shortfalls.get(labId)?.since ?? Date.now();
      const waitedMs = Date.now() - since;
      if (waitedMs < stalledAfterMs) return true;
      const desired = lab.observed.desiredReplicas ?? 0;
      diagnosis = {
        reason: 'PodsMissing',
        summary: `The Deployment asks for ${desired} pods, but only ${cached.length} exist after ${Math.round(waitedMs / 1000)} s, and the cluster gives no reason.`,
        hint: 'Try /lab reset; if the pods still do not come, tell your instructor (the cluster may be out of room or its controllers stuck).',
      };
      logger.warn({ labId, pods: cached.length, desired, waitedMs }, 'lab still short of pods; learner told');
    }
    let changed = false;
    const degraded = await store.update(labId, (current) => {
      changed = short(current);
      return changed
        ? { ...current, observed: { ...movePhase('pods', current.observed, 'degraded'), diagnosis } }
        : undefined;
    });
    if (changed) await notices.changed(degraded);
    return false;
  }

  const watch = cluster.watchLabPods({
    debounceMs: options.debounceMs ?? 250,
    onSnapshot: (labId, _namespace, pods, diagnosis) => void record(labId, pods, diagnosis),
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
