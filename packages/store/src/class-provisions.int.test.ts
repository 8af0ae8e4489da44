import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassProvisionSlots } from './class-provisions.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const prefix = `labbot-test-slots-${randomBytes(4).toString('hex')}`;
let redis: Redis;
let clock = 1_000_000;
const slots = () =>
  createClassProvisionSlots({ redis, prefix, now: () => clock, slotLeaseMs: 60_000, placeLeaseMs: 5_000 });

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describe('per-class provision slots (Redis)', () => {
  it('admits at most max labs of a class at once, then the earliest joiner first, whatever order they ask in', async () => {
    const s = slots();
    expect(await s.acquire('c1', 'lab-1', 1, 2)).toEqual({ admitted: true, first: true });
    expect(await s.acquire('c1', 'lab-2', 2, 2)).toEqual({ admitted: true, first: true });
    // The fourth joiner asks before the third: both wait, the third is first in line.
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toEqual({ admitted: false, place: 1, inFlight: 2 });
    expect(await s.acquire('c1', 'lab-3', 3, 2)).toEqual({ admitted: false, place: 1, inFlight: 2 });
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toEqual({ admitted: false, place: 2, inFlight: 2 });
    await s.release('c1', 'lab-1');
    // One slot is free: the fourth may not jump the third.
    expect(await s.acquire('c1', 'lab-4', 4, 2)).toMatchObject({ admitted: false, place: 2 });
    expect(await s.acquire('c1', 'lab-3', 3, 2)).toEqual({ admitted: true, first: true });
    expect(await s.counts('c1')).toEqual({ inFlight: 2, waiting: 1 });
  });

  it('a learner put in line as they joined keeps their place against a later joiner who asks first', async () => {
    const s = slots();
    await s.enterLine('c5', 'early', 1);
    await s.enterLine('c5', 'late', 2);
    expect(await s.acquire('c5', 'late', 2, 1)).toMatchObject({ admitted: false, place: 2, inFlight: 0 });
    expect(await s.head('c5')).toBe('early');
    expect(await s.acquire('c5', 'early', 1, 1)).toEqual({ admitted: true, first: true });
    expect(await s.head('c5')).toBe('late');
  });

  it("a retry gives the slot back: the next learner goes while the first one's retry waits its turn again", async () => {
    const s = slots();
    expect(await s.acquire('c2', 'a', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c2', 'b', 2, 1)).toMatchObject({ admitted: false, place: 1 });
    await s.release('c2', 'a'); // a's attempt failed and waits in back-off
    expect(await s.acquire('c2', 'b', 2, 1)).toEqual({ admitted: true, first: true });
    // a's retry asks again: earlier join, but the slot is b's until b is done; a is not "first" any more.
    expect(await s.acquire('c2', 'a', 1, 1)).toMatchObject({ admitted: false, place: 1, inFlight: 1 });
    await s.release('c2', 'b');
    expect(await s.acquire('c2', 'a', 1, 1)).toEqual({ admitted: true, first: false });
  });

  it('classes do not share slots, and a slot or a place nobody renews frees itself', async () => {
    const s = slots();
    expect(await s.acquire('c3', 'x', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c4', 'y', 1, 1)).toMatchObject({ admitted: true });
    expect(await s.acquire('c3', 'gone', 2, 1)).toMatchObject({ admitted: false, place: 1 });
    expect(await s.acquire('c3', 'z', 3, 1)).toMatchObject({ admitted: false, place: 2 });
    clock += 61_000; // x's runner died holding the slot; "gone" stopped asking
    expect(await s.acquire('c3', 'z', 3, 1)).toEqual({ admitted: true, first: true });
  });
});
