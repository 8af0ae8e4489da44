import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type BuildLock, createRedisBuildLock } from './lock.js';
import { expectExclusiveWithWakeUp } from './lock.test-helpers.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const keyPrefix = `labbot:test:${randomBytes(4).toString('hex')}:lock:`;
const clients: Redis[] = [];

function redisLock(): { lock: BuildLock; redis: Redis } {
  const redis = new Redis(redisUrl);
  clients.push(redis);
  return { lock: createRedisBuildLock(redis, { keyPrefix, pollIntervalMs: 50 }), redis };
}

afterAll(async () => {
  const [cleaner] = clients;
  if (cleaner) {
    const keys = await cleaner.keys(`${keyPrefix}*`);
    if (keys.length) await cleaner.del(...keys);
  }
  for (const client of clients) client.disconnect();
});

describe('redis build lock', () => {
  it('lets one holder in at a time and wakes waiters on release', async () => {
    await expectExclusiveWithWakeUp(redisLock().lock);
  });
});

describe('redis build lock across clients', () => {
  it('is exclusive between two connections, renews while held and lets only the holder release', async () => {
    const a = redisLock();
    const b = redisLock();
    const key = `k-${randomBytes(4).toString('hex')}`;
    const release = await a.lock.acquire(key, 1_000);
    expect(release).not.toBeNull();
    expect(await b.lock.acquire(key, 1_000)).toBeNull();
    // Past the TTL the holder's renewal keeps the key alive.
    await sleep(2_200);
    expect(await b.lock.acquire(key, 1_000)).toBeNull();
    expect(await b.redis.pttl(`${keyPrefix}${key}`)).toBeGreaterThan(0);
    await release?.();
    expect(await b.lock.waitForRelease(key, 1_000)).toBe(true);
    const releaseB = await b.lock.acquire(key, 1_000);
    expect(releaseB).not.toBeNull();
    // A stale release by the former holder must not free B's lock.
    await release?.();
    expect(await a.lock.acquire(key, 1_000)).toBeNull();
    await releaseB?.();
  });

  it('frees a lock whose holder vanished once its TTL passes', async () => {
    const { redis, lock } = redisLock();
    const key = `k-${randomBytes(4).toString('hex')}`;
    // A holder that crashed: the key exists with a TTL and nobody renews it.
    await redis.set(`${keyPrefix}${key}`, 'crashed-holder', 'PX', 1_000);
    expect(await lock.acquire(key, 1_000)).toBeNull();
    expect(await lock.waitForRelease(key, 3_000)).toBe(true);
    const release = await lock.acquire(key, 1_000);
    expect(release).not.toBeNull();
    await release?.();
  });

  it("frees at once the lock of a holder whose connection is gone, long before its TTL, and never a live holder's", async () => {
    const dying = redisLock();
    const living = redisLock();
    const waiter = redisLock();
    const gone = `k-${randomBytes(4).toString('hex')}`;
    const held = `k-${randomBytes(4).toString('hex')}`;
    expect(await dying.lock.acquire(gone, 60_000)).not.toBeNull();
    const releaseHeld = await living.lock.acquire(held, 60_000);
    expect(releaseHeld).not.toBeNull();
    // The holder's process dies: its connection closes without a release.
    dying.redis.disconnect();
    expect(await waiter.lock.waitForRelease(gone, 5_000)).toBe(true);
    expect(await waiter.lock.acquire(gone, 60_000)).not.toBeNull();
    expect(await waiter.lock.waitForRelease(held, 1_500)).toBe(false);
    await releaseHeld?.();
  });
});
