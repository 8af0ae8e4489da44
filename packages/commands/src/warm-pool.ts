import { awaitsContainerOutput, createLabRecord, type LabRecord, warmOwnerFor } from '@labbot/core';
import type { LabQueues } from '@labbot/queue';
import type { ClassRecord, ClassRoster, LabStore, WarmPoolStore } from '@labbot/store';

export interface WarmPoolOptions {
  store: LabStore;
  pool: WarmPoolStore;
  roster: Pick<ClassRoster, 'members'>;
  queues: Pick<LabQueues, 'enqueueReconcile'>;
  /** The lab lifetime of a class that set none: an unclaimed warm lab is removed when it runs out. */
  defaultTtlMinutes: number;
  clock: () => Date;
  logger: { warn(fields: Record<string, unknown>, message: string): void };
}

/** Below every learner's join number: the class provision gate serves learners first, warm labs after. */
const WARM_PRIORITY = 2_000_000;

/**
 * A class's warm pool: labs prepared before learners arrive (owned by nobody, labelled warm for the class),
 * handed over on Join (the pool gives each lab to one join only) and refilled up to the class size; drained at
 * class end. An unclaimed warm lab lives the class's lab lifetime, then the janitor removes it.
 */
export function createWarmPool(options: WarmPoolOptions) {
  const { store, pool, queues, clock } = options;

  // One fill at a time per class (joins come in bursts): two fills at once would both count the same gap.
  const filling = new Map<string, Promise<number>>();

  /** Tops the pool up to `warmLabs`, never beyond the places left in the class (warm labs beyond them go). */
  function fill(klass: ClassRecord): Promise<number> {
    const previous = filling.get(klass.classId) ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => fillNow(klass));
    filling.set(klass.classId, next);
    void next
      .finally(() => {
        if (filling.get(klass.classId) === next) filling.delete(klass.classId);
      })
      .catch(() => {});
    return next;
  }

  async function fillNow(klass: ClassRecord): Promise<number> {
    if (!klass.warmLabs || klass.state !== 'open') return 0;
    const [waiting, members] = await Promise.all([pool.list(klass.classId), options.roster.members(klass.classId)]);
    // Learners and warm labs together never outnumber the class's places.
    const placesLeft = Math.max(0, (klass.maxLearners ?? Number.MAX_SAFE_INTEGER) - members.length);
    const wanted = Math.min(klass.warmLabs, placesLeft);
    if (waiting.length > wanted) {
      // Learners joined while no warm lab was ready to hand over (the cold path): the warm labs beyond the places
      // left would hold cluster room no learner can take. The newest go, the readiest stay.
      for (const labId of await pool.trim(klass.classId, wanted))
        await stopWarmLab(klass, labId, 'warm-pool', 'class.warm-surplus');
      return 0;
    }
    const missing = wanted - waiting.length;
    for (let made = 0; made < missing; made++) {
      const record = createLabRecord({
        owner: warmOwnerFor(klass.instructor, klass.classId, await pool.nextNumber(klass.classId)),
        lessonId: klass.lessonId,
        ...(klass.variant ? { variant: klass.variant } : {}),
        ttlMinutes: klass.ttlMinutes ?? options.defaultTtlMinutes,
        classId: klass.classId,
        now: clock,
      });
      await store.create(record, { actor: 'warm-pool' });
      await pool.add(klass.classId, record.labId);
      await queues.enqueueReconcile(record.labId, 'class.warm', { priority: WARM_PRIORITY });
    }
    return Math.max(0, missing);
  }

  /** Tears down a warm lab taken out of the pool (class end, or beyond the class's places). */
  async function stopWarmLab(klass: ClassRecord, labId: string, actor: string, reason: string): Promise<void> {
    if (!(await store.get(labId))) return;
    await store.update(
      labId,
      (current) =>
        current.desired.state === 'stopped'
          ? undefined
          : { ...current, desired: { ...current.desired, state: 'stopped' } },
      { audit: { actor, action: 'desired.stopped', detail: { classId: klass.classId, warm: true, reason } } },
    );
    await queues.enqueueReconcile(labId, reason);
  }

  return {
    fill,
    /** Refills in the background (a join must not wait for it); failures are logged. */
    refill(klass: ClassRecord): void {
      fill(klass).catch((error: unknown) =>
        options.logger.warn({ err: error, classId: klass.classId }, 'could not refill the warm pool'),
      );
    },
    /**
     * Takes one ready warm lab out of the pool for a joining learner (atomic: each warm lab goes to one join only).
     * None ready: undefined, and the learner takes the cold path. The join then either gives it back or retires it.
     */
    async claim(klass: ClassRecord): Promise<LabRecord | undefined> {
      // At most one look at each warm lab now in the pool.
      for (let left = (await pool.list(klass.classId)).length; left > 0; left--) {
        const warmLabId = await pool.claim(klass.classId);
        if (!warmLabId) return undefined;
        const warm = await store.get(warmLabId);
        // Stopped or gone (expired, torn down): not a lab to hand over, and not one to keep.
        if (warm?.desired.state !== 'running' || warm.observed.phase === 'failed') continue;
        if (
          warm.observed.phase !== 'ready' ||
          warm.observed.pods.length === 0 ||
          awaitsContainerOutput(warm.observed)
        ) {
          // Still being prepared (its reconcile may be running, its container too: the output would be written to
          // the warm lab, not to the learner's): back into the pool, for a later join.
          await pool.add(klass.classId, warmLabId);
          continue;
        }
        return warm;
      }
      return undefined;
    },
    /** The join that took a warm lab did not go through (class full, joined already): first in the pool again. */
    giveBack: (klass: ClassRecord, warm: LabRecord) => pool.putBack(klass.classId, warm.labId),
    /**
     * The join that took a warm lab goes through: the warm lab's record goes (before the learner's lab takes its
     * namespace, so no two records ever name one namespace), and nothing of it (owner, thread) follows the learner.
     */
    retire: (warm: LabRecord, actor: string) => store.delete(warm.labId, { actor }),
    /** Class end: every unclaimed warm lab is torn down. */
    async drain(klass: ClassRecord, actor: string): Promise<number> {
      const ids = await pool.drain(klass.classId);
      for (const labId of ids) await stopWarmLab(klass, labId, actor, 'class.end');
      return ids.length;
    },
  };
}
