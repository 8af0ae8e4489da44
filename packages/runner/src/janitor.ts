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
  /** Namespaces and lab records read per page in a sweep (default: the driver's and the store's own). */
  pageSize?: number;
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
  const pages = options.pageSize === undefined ? {} : { pageSize: options.pageSize };

  async function sweep(): Promise<SweepReport> {
    const report: SweepReport = { warned: [], expired: [], orphansRemoved: [], repaired: [] };
    const now = clock().getTime();

    for (const lab of await store.listRunningExpiringBefore(now + options.warningMs)) {
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

    // With 1,000 labs this runs every 30 s: both lists are read a page at a time and only names are kept across pages,
    // so the sweep never holds every decoded namespace and lab record at once. Namespaces first, then labs, as before.
    const present = new Set<string>();
    /** Namespaces old enough to be orphans: removed below unless a running lab points at them. */
    const candidates: { name: string; labId: string | undefined }[] = [];
    for await (const page of cluster.listLabNamespacePages(pages)) {
      for (const ns of page) {
        present.add(ns.name);
        if (ns.phase === 'Terminating') continue;
        const age = ns.createdAt ? now - Date.parse(ns.createdAt) : Number.POSITIVE_INFINITY;
        if (age >= graceMs) candidates.push({ name: ns.name, labId: ns.labId });
      }
    }
    // A namespace a running lab points at is never an orphan, even while it still carries another lab's label
    // (a warm lab's namespace just handed to a learner, before the learner's lab relabels it).
    const inUse = new Set<string>();
    /** Deployed labs by id (a lab listed twice counts once): their namespace must exist. */
    const deployed = new Map<string, string>();
    for await (const page of store.listAllInPages(pages)) {
      for (const lab of page) {
        if (lab.desired.state !== 'running') continue;
        inUse.add(lab.namespace);
        if (isPodPhase(lab.observed.phase)) deployed.set(lab.labId, lab.namespace);
      }
    }

    for (const ns of candidates) {
      if (inUse.has(ns.name)) continue;
      const lab = ns.labId ? await store.get(ns.labId) : undefined;
      const wanted = lab && lab.namespace === ns.name && lab.desired.state === 'running';
      if (!wanted && !(lab && lab.observed.phase === 'stopping')) {
        await cluster.deleteNamespace(ns.name, { wait: false });
        logger.info({ namespace: ns.name, labId: ns.labId }, 'janitor removed an orphaned lab namespace');
        report.orphansRemoved.push(ns.name);
      }
    }

    for (const [labId, namespace] of deployed) {
      // Once deployed, the namespace must exist; if it vanished, the lab is built again.
      if (present.has(namespace)) continue;
      // Made after its page of the list was read (a lab that got this far between the two lists): not vanished.
      if (await cluster.readLabNamespace(namespace)) continue;
      await store.update(
        labId,
        (current) =>
          isPodPhase(current.observed.phase)
            ? { ...current, observed: { ...movePhase('janitor', current.observed, 'pending'), pods: [] } }
            : undefined,
        {
          audit: { actor: 'janitor', action: 'observed.repaired', detail: { reason: 'namespace vanished' } },
        },
      );
      await options.enqueueReconcile(labId, 'janitor.repair');
      report.repaired.push(labId);
    }
    return report;
  }

  return { sweep };
}

export type Janitor = ReturnType<typeof createJanitor>;
