import type { Logger } from '@labbot/config';
import { decideReconcile, type LabRecord } from '@labbot/core';
import type { JobContext } from '@labbot/queue';
import type { ClassProvisionSlots, ClassRoster, LabStore } from '@labbot/store';

export interface ClassProvisionGateOptions {
  store: LabStore;
  roster: ClassRoster;
  slots: ClassProvisionSlots;
  /** Labs of one class provisioned at once when the class record does not say (LABBOT_CLASS_MAX_CONCURRENT_PROVISIONS). */
  defaultMaxConcurrent: number;
  logger: Logger;
  /** How long a lab in line waits before asking again: the first in line soon, later places less often. */
  retryDelayMs?: (place: number) => number;
  /** Starts a waiting lab's reconcile now (a slot was given back and it is first in line). */
  wake?: (labId: string) => Promise<void>;
  /**
   * A lab waits in line: its place (1 = next) and a rough wait in seconds once a slot of its class has been
   * held and given back (before that, none). Called on the first wait, then when the place fell to a quarter, at
   * most every `waitingNoticeMs`.
   */
  onWaiting?: (record: LabRecord, place: number, estimateSeconds: number | undefined) => Promise<void>;
  /** At most one place notice per lab in this time (default 5 s). */
  waitingNoticeMs?: number;
  now?: () => number;
  /** Told when a lab is put in line and when it is given a slot (a benchmark's timeline); must not throw. */
  onStep?: (labId: string, mark: 'queued' | 'slot') => void;
}

const defaultRetryDelay = (place: number) => Math.min(2000, 100 + 50 * place);

/** How many recent slot holds of a class the wait estimate averages. */
const HOLDS_AVERAGED = 10;

/**
 * Keeps each class to its cap of labs provisioned at once, in join order: a class lab that has work to do
 * waits for a slot (its job goes back to the queue without spending an attempt) and gives it back when the
 * run ends. Labs outside a class, and class labs with nothing to bring up (teardown, settled), pass at once.
 */
export function createClassProvisionGate(options: ClassProvisionGateOptions) {
  const { store, roster, slots, logger } = options;
  const retryDelayMs = options.retryDelayMs ?? defaultRetryDelay;
  const now = options.now ?? Date.now;
  const waitingNoticeMs = options.waitingNoticeMs ?? 5000;
  /** The last place told to each waiting lab, and when. */
  const told = new Map<string, { place: number; at: number }>();
  /** How long each class's recent labs held their slot (ms), newest last. */
  const holds = new Map<string, number[]>();

  /** Slots turn over at about `max` per average hold: the wait of the lab at `place`, rounded up to 5 s. */
  function estimateSeconds(classId: string, place: number, max: number): number | undefined {
    const recent = holds.get(classId);
    if (!recent?.length) return undefined;
    const average = recent.reduce((sum, ms) => sum + ms, 0) / recent.length;
    return Math.max(5, Math.ceil((Math.ceil(place / max) * average) / 5000) * 5);
  }

  async function tellPlace(record: LabRecord, classId: string, place: number, max: number): Promise<void> {
    if (!options.onWaiting) return;
    const last = told.get(record.labId);
    const at = now();
    // Told again only when the line moved at least three quarters of the way since the last notice, or the lab is
    // now within the class's next round of slots, and not within `waitingNoticeMs` of the last notice: a long wait
    // costs the learner two or three edits (bench/class.ts: with halving and 2 s, place notices were 3.5 of the 8.3
    // chat calls per learner of a 100-learner class), not one per slot. The next in line is usually woken straight
    // into a slot, so "1" alone would seldom be shown.
    const lastPlace = last?.place ?? 0;
    // Only a line that moved forward is news: a lab still first in line while every slot stays busy is not told "1st"
    // again (it was, every waitingNoticeMs, and each notice is an edit of the learner's thread).
    const moved =
      place < lastPlace && (place <= Math.max(1, Math.floor(lastPlace / 4)) || (place <= max && lastPlace > max));
    if (last && (!moved || at - last.at < waitingNoticeMs)) return;
    told.set(record.labId, { place, at });
    try {
      await options.onWaiting(record, place, estimateSeconds(classId, place, max));
    } catch (error) {
      logger.warn({ err: error, labId: record.labId }, 'could not tell a class lab its place in line');
    }
  }
  const wake = async (labId: string) => {
    try {
      await options.wake?.(labId);
    } catch (error) {
      // The woken lab still asks again after its own delay.
      logger.warn({ err: error, labId }, 'could not wake a class lab');
    }
  };

  /** Gives back the lab's slot (or place), and starts the next in line now rather than after its retry delay. */
  async function giveBack(classId: string, labId: string): Promise<void> {
    try {
      if (!(await slots.release(classId, labId))) return;
      const next = await slots.head(classId);
      if (next) await wake(next);
    } catch (error) {
      logger.warn({ err: error, labId }, 'could not give back a class provision slot');
    }
  }

  return {
    async run(labId: string, context: Pick<JobContext, 'later'>, work: () => Promise<void>): Promise<void> {
      const record = await store.get(labId);
      if (!record?.classId) return work();
      const classId = record.classId;
      // Nothing to bring up (or the class ended): a slot this lab still holds (its runner died after the work
      // and before giving it back) is given back now rather than when its lease runs out.
      const passThrough = async () => {
        await giveBack(classId, labId);
        return work();
      };
      // A warm lab handed over on Join has nothing to bring up either: only its namespace is relabelled.
      const action = decideReconcile(record).action;
      if (record.desired.state !== 'running' || action === 'none' || action === 'handover') return passThrough();
      const klass = await store.getClass(classId);
      if (klass?.state !== 'open') return passThrough();
      const member = await roster.member(klass.classId, record.owner.userId);
      const max = klass.maxConcurrentProvisions ?? options.defaultMaxConcurrent;
      const turn = await slots.acquire(klass.classId, labId, member?.seq ?? Number.MAX_SAFE_INTEGER, max);
      if (!turn.admitted) {
        logger.debug({ labId, classId: klass.classId, place: turn.place, inFlight: turn.inFlight }, 'class lab waits');
        options.onStep?.(labId, 'queued');
        await tellPlace(record, klass.classId, turn.place, max);
        throw await context.later(retryDelayMs(turn.place));
      }
      told.delete(labId);
      options.onStep?.(labId, 'slot');
      const heldFrom = now();
      try {
        // Older labs granted a slot in the same step have not asked yet: start them now, not after their delay.
        for (const reserved of turn.reserved) await wake(reserved);
        if (turn.first) {
          // `grant` counts the class's first grants (in Redis, atomically): the exact order slots were given in.
          await store.appendHistory(labId, {
            actor: 'runner',
            action: 'class.provisioning',
            detail: { classId: klass.classId, seq: member?.seq ?? 0, grant: turn.grant },
          });
        }
        await work();
      } finally {
        const recent = holds.get(klass.classId) ?? [];
        recent.push(now() - heldFrom);
        holds.set(klass.classId, recent.slice(-HOLDS_AVERAGED));
        await giveBack(klass.classId, labId);
      }
    },
  };
}
