import { describe, expect, it } from 'vitest';
import { createClassProvisionSlots } from './class-provisions.js';
import { createClassRoster } from './class-roster.js';
import { useRedisKeys } from './testing/redis-keys.js';

const db = useRedisKeys('slots');
const { prefix } = db;
let clock = 1_000_000;
const slots = () =>
  createClassProvisionSlots({ redis: db.redis, prefix, now: () => clock, slotLeaseMs: 60_000, placeLeaseMs: 5_000 });
const roster = () => createClassRoster({ redis: db.redis, prefix, now: () => clock, placeLeaseMs: 5_000 });
const joinAs = async (classId: string, userId: string) => {
  const entry = { userId, labId: `lab-${userId}`, joinedAt: new Date(clock).toISOString() };
  const joined = await roster().join(classId, entry, 50);
  if (joined.outcome !== 'joined') throw new Error(`${userId} did not join`);
  return joined.entry;
};

describe('per-class provision slots (Redis)', () => {
  it('admits at most max labs of a class at once, then the earliest joiner first, whatever order they ask in', async () => {
    const s = slots();
    expect(await s.acquire('c1', 'lab-1', 1, 2)).toEqual({ admitted: true, first: true, grant: 1, reserved: [] });
    expect(await s.acquire('c1', 'lab-2', 2, 2)).toEqual({ admitted: true, first: true, grant: 2, reserved: [] });
    // The fourth joiner asks before the third: both wait, the third is first in line.
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toEqual({ admitted: false, place: 1, inFlight: 2 });
    expect(await s.acquire('c1', 'lab-3', 3, 2)).toEqual({ admitted: false, place: 1, inFlight: 2 });
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toEqual({ admitted: false, place: 2, inFlight: 2 });
    expect(await s.release('c1', 'lab-1')).toBe(true);
    // One slot is free: the fourth may not jump the third (the free slot is the third's; the fourth is next after).
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toMatchObject({ admitted: false, place: 1, inFlight: 1 });
    expect(await s.isWaiting('c1', 'lab-4')).toBe(true);
    expect(await s.acquire('c1', 'lab-3', 3, 2)).toEqual({ admitted: true, first: true, grant: 3, reserved: [] });
    expect(await s.counts('c1')).toEqual({ inFlight: 2, waiting: 1 });
  });

  it('the race seen in CI: a learner is in line from the join itself, so a later joiner whose runner asks first waits', async () => {
    const s = slots();
    // The earlier learner's join is done but their bot has not gone further (no request queued yet); the later
    // learner's lab already asks for the one slot. Before the fix the later one took it.
    const early = await joinAs('c5', 'early');
    const late = await joinAs('c5', 'late');
    expect(await s.acquire('c5', late.labId, late.seq, 1)).toEqual({ admitted: false, place: 1, inFlight: 0 });
    expect(await s.head('c5')).toBe(early.labId);
    expect(await s.acquire('c5', early.labId, early.seq, 1)).toMatchObject({ admitted: true, first: true, grant: 1 });
    expect(await s.head('c5')).toBe(late.labId);
    expect(await s.release('c5', early.labId)).toBe(true);
    expect(await s.acquire('c5', late.labId, late.seq, 1)).toMatchObject({ admitted: true, first: true, grant: 2 });
  });

  it('a later joiner who asks first, with room for all, is granted together with every earlier one, in join order', async () => {
    const s = slots();
    const ann = await joinAs('c6', 'ann');
    const bob = await joinAs('c6', 'bob');
    const cat = await joinAs('c6', 'cat');
    const dan = await joinAs('c6', 'dan');
    // Room for 3: cat asks first; ann and bob (in line, not asking yet) are granted before her, to be woken.
    expect(await s.acquire('c6', cat.labId, cat.seq, 3)).toEqual({
      admitted: true,
      first: true,
      grant: 3,
      reserved: [ann.labId, bob.labId],
    });
    // dan waits: the three slots are held (two of them for labs that have not asked yet).
    expect(await s.acquire('c6', dan.labId, dan.seq, 3)).toEqual({ admitted: false, place: 1, inFlight: 3 });
    expect(await s.acquire('c6', bob.labId, bob.seq, 3)).toEqual({
      admitted: true,
      first: true,
      grant: 2,
      reserved: [],
    });
    expect(await s.acquire('c6', ann.labId, ann.seq, 3)).toEqual({
      admitted: true,
      first: true,
      grant: 1,
      reserved: [],
    });
    expect(await s.isWaiting('c6', ann.labId)).toBe(false);
    // Asking again while holding the slot is not a new grant.
    expect(await s.acquire('c6', ann.labId, ann.seq, 3)).toEqual({
      admitted: true,
      first: false,
      grant: 1,
      reserved: [],
    });
  });

  it("a retry gives the slot back: the next learner goes while the first one's retry waits its turn again", async () => {
    const s = slots();
    expect(await s.acquire('c2', 'a', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c2', 'b', 2, 1)).toMatchObject({ admitted: false, place: 1 });
    expect(await s.release('c2', 'a')).toBe(true); // a's attempt failed and waits in back-off
    expect(await s.acquire('c2', 'b', 2, 1)).toEqual({ admitted: true, first: true, grant: 2, reserved: [] });
    // a's retry asks again: earlier join, but the slot is b's until b is done; a is not "first" any more.
    expect(await s.acquire('c2', 'a', 1, 1)).toMatchObject({ admitted: false, place: 1, inFlight: 1 });
    await s.release('c2', 'b');
    expect(await s.acquire('c2', 'a', 1, 1)).toEqual({ admitted: true, first: false, grant: 1, reserved: [] });
  });

  it('classes do not share slots, and a slot or a place nobody renews frees itself', async () => {
    const s = slots();
    expect(await s.acquire('c3', 'x', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c4', 'y', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c3', 'gone', 2, 1)).toMatchObject({ admitted: false, place: 1 });
    expect(await s.acquire('c3', 'z', 3, 1)).toMatchObject({ admitted: false, place: 2 });
    clock += 61_000; // x's runner died holding the slot; "gone" stopped asking
    expect(await s.acquire('c3', 'z', 3, 1)).toMatchObject({ admitted: true, first: true });
    // Giving back a slot it does not hold frees none.
    expect(await s.release('c3', 'gone')).toBe(false);
  });
});
