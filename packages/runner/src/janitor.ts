import type { ClusterDriver } from '@labbot/cluster';
import type { Logger } from '@labbot/config';
import { isPodPhase, movePhase } from '@labbot/core';
import type { LabStore } from '@labbot/store';
import type { LabNotices } from './events.js';

export interface JanitorOptions {
  store: LabStore;
  cluster: ClusterDriver;
  notices: LabNotices;
  enqueueReconcile: (labId: string, reason: string) => Promise<unknown>;
  logger: Logger;
  clock?: () => Date;
  /** How long before expiry the learner is warned. */
  warningMs: number;
  /** A namespace without a lab record is removed only when older than this (a lab may be starting). */
  orphanGraceMs?: number;
}

export interface SweepReport {
  warned: string[];
  expired: string[];
  orphansRemoved: string[];
  repaired: string[];
}

/** TTL warnings and expiry, orphaned namespaces, and records whose namespace vanished. */
export function createJanitor(options: JanitorOptions) {
  const { store, cluster, notices, logger } = options;
  const clock = options.clock ?? (() => new Date());
  const graceMs = options.orphanGraceMs ?? 60_000;

  async function sweep(): Promise<SweepReport> {
    const report: SweepReport = { warned: [], expired: [], orphansRemoved: [], repaired: [] };
    const now = clock().getTime();

    for (const lab of await store.listExpiringBefore(now + options.warningMs)) {
      if (lab.desired.state !== 'running') continue;
      if (Date.parse(lab.expiresAt) <= now) {
        await store.update(
          lab.labId,
          (current) =>
            current.desired.state === 'running'
              ? { ...current, desired: { ...current.desired, state: 'stopped' } }
              : undefined,
          { audit: { actor: 'janitor', action: 'desired.stopped', detail: { reason: 'ttl' } } },
        );
        await options.enqueueReconcile(lab.labId, 'janitor.ttl');
        report.expired.push(lab.labId);
      } else if (!lab.observed.expiryWarnedAt) {
        const warned = await store.update(lab.labId, (current) =>
          current.observed.expiryWarnedAt
            ? undefined
            : { ...current, observed: { ...current.observed, expiryWarnedAt: clock().toISOString() } },
        );
        await notices.expiring(warned);
        report.warned.push(lab.labId);
      }
    }

    const namespaces = await cluster.listLabNamespaces();
    const present = new Set(namespaces.map((ns) => ns.name));
    const labs = await store.listAll();
    // A namespace a running lab points at is never an orphan, even while it still carries another lab's label
    // (a warm lab's namespace just handed to a learner, before the learner's lab relabels it).
    const inUse = new Set(labs.filter((lab) => lab.desired.state === 'running').map((lab) => lab.namespace));
    for (const ns of namespaces) {
      if (inUse.has(ns.name)) continue;
      if (ns.phase === 'Terminating') continue;
      const age = ns.createdAt ? now - Date.parse(ns.createdAt) : Number.POSITIVE_INFINITY;
      if (age < graceMs) continue;
      const lab = ns.labId ? await store.get(ns.labId) : undefined;
      const wanted = lab && lab.namespace === ns.name && lab.desired.state === 'running';
      if (!wanted && !(lab && lab.observed.phase === 'stopping')) {
        await cluster.deleteNamespace(ns.name, { wait: false });
        logger.info({ namespace: ns.name, labId: ns.labId }, 'janitor removed an orphaned lab namespace');
        report.orphansRemoved.push(ns.name);
      }
    }

    for (const lab of labs) {
      // Once deployed, the namespace must exist; if it vanished, the lab is built again.
      if (lab.desired.state !== 'running' || !isPodPhase(lab.observed.phase)) continue;
      if (present.has(lab.namespace)) continue;
      await store.update(
        lab.labId,
        (current) =>
          isPodPhase(current.observed.phase)
            ? { ...current, observed: { ...movePhase('janitor', current.observed, 'pending'), pods: [] } }
            : undefined,
        {
          audit: { actor: 'janitor', action: 'observed.repaired', detail: { reason: 'namespace vanished' } },
        },
      );
      await options.enqueueReconcile(lab.labId, 'janitor.repair');
      report.repaired.push(lab.labId);
    }
    return report;
  }

  return { sweep };
}

export type Janitor = ReturnType<typeof createJanitor>;
