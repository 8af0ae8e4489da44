import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createJanitorLease } from './janitor-lease.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390');
const key = () => `labbot:test:lease:${randomBytes(6).toString('hex')}`;

afterAll(() => redis.disconnect());

describe('the janitor lease (real Redis)', () => {
  it('lets one holder work at a time; the other is told at once and may work after release', async () => {
    const leaseKey = key();
    const first = createJanitorLease({ redis, key: leaseKey });
    const second = createJanitorLease({ redis, key: leaseKey });
    let release: () => void = () => {};
    const holding = first.runExclusive(() => new Promise<string>((resolve) => (release = () => resolve('swept'))));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await second.runExclusive(async () => 'swept twice')).toEqual({ ran: false });
    release();
    expect(await holding).toEqual({ ran: true, value: 'swept' });
    expect(await second.runExclusive(async () => 'next sweep')).toEqual({ ran: true, value: 'next sweep' });
    expect(await redis.exists(leaseKey)).toBe(0);
  });

  it('expires when its holder died without releasing it', async () => {
    const leaseKey = key();
    await redis.set(leaseKey, 'a runner that crashed', 'PX', 200);
    const lease = createJanitorLease({ redis, key: leaseKey });
    expect(await lease.runExclusive(async () => 1)).toEqual({ ran: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await lease.runExclusive(async () => 2)).toEqual({ ran: true, value: 2 });
  });

  it('is kept while a sweep outlasts its time to live, and not released by someone else', async () => {
    const leaseKey = key();
    const lease = createJanitorLease({ redis, key: leaseKey, ttlMs: 300 });
    const other = createJanitorLease({ redis, key: leaseKey, ttlMs: 300 });
    const outcome = await lease.runExclusive(async () => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      return other.runExclusive(async () => 'overlap');
    });
    expect(outcome).toEqual({ ran: true, value: { ran: false } });
  });
});
