import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createWarmPoolStore } from './warm-pool.js';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390', { maxRetriesPerRequest: null });
const prefix = `test-warm-${randomBytes(4).toString('hex')}`;
const pool = createWarmPoolStore({ redis, prefix });

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
});

describe('the warm pool of a class (Redis)', () => {
  it('gives each warm lab to one claim only, oldest first, however many claim at once', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `warm${String(i).padStart(8, '0')}`);
    for (const id of ids) await pool.add('c1', id);
    const claims = await Promise.all(Array.from({ length: 30 }, () => pool.claim('c1')));
    const got = claims.filter((id): id is string => id !== undefined);
    expect(got).toHaveLength(20);
    expect(new Set(got).size).toBe(20);
    expect(await pool.claim('c1')).toBeUndefined();
  });

  it('numbers warm labs without reuse, keeps classes apart, and drains what is left', async () => {
    expect([await pool.nextNumber('c2'), await pool.nextNumber('c2'), await pool.nextNumber('c3')]).toEqual([1, 2, 1]);
    await pool.add('c2', 'a');
    await pool.add('c2', 'b');
    await pool.add('c3', 'z');
    expect(await pool.claim('c2')).toBe('a');
    expect(await pool.drain('c2')).toEqual(['b']);
    expect(await pool.list('c2')).toEqual([]);
    expect(await pool.list('c3')).toEqual(['z']);
  });

  it('trims the pool to a size from its newest end, returning what it took', async () => {
    for (const id of ['a', 'b', 'c', 'd']) await pool.add('c4', id);
    expect(await pool.trim('c4', 4)).toEqual([]);
    expect(await pool.trim('c4', 1)).toEqual(['d', 'c', 'b']);
    expect(await pool.list('c4')).toEqual(['a']);
    expect(await pool.trim('c4', 0)).toEqual(['a']);
    expect(await pool.trim('c4', 0)).toEqual([]);
  });
});
