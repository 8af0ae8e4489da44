import { randomBytes } from 'node:crypto';
import { LabbotError, type LabRecord } from '@labbot/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLabStore } from './lab-store.js';
import { createRateLimiter } from './rate-limiter.js';
import { describeLabStoreContract } from './testing/contract.js';
import { describeRateLimiterContract } from './testing/rate-limiter-contract.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const prefix = `labbot-test-store-${randomBytes(4).toString('hex')}`;
const now = Date.parse('2026-11-25T12:00:00.000Z');
let redis: Redis;

beforeAll(() => {
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

describeLabStoreContract('Redis', {
  create: ({ clock, historyLimit }) =>
    createLabStore({ redis, prefix, clock, ...(historyLimit !== undefined ? { historyLimit } : {}) }),
});

describeRateLimiterContract('Redis', { create: (options) => createRateLimiter({ redis, prefix, ...options }) });

function labRecord(): LabRecord {
  const at = new Date(now).toISOString();
  return {
    labId: randomBytes(6).toString('hex'),
    owner: { platform: 'discord', workspaceId: 'guild-1', userId: 'alice' },
    lessonId: 'docker-vs-kubernetes',
    namespace: 'lab-x',
    desired: { state: 'running', generation: 0 },
    observed: { phase: 'pending', pods: [] },
    createdAt: at,
    updatedAt: at,
    expiresAt: new Date(now + 3600_000).toISOString(),
    version: 0,
  };
}

describe('the Redis store only', () => {
  it('keeps the audit trail of a deleted lab for a while, not forever', async () => {
    const store = createLabStore({ redis, prefix });
    const lab = labRecord();
    await store.create(lab);
    await store.delete(lab.labId, { actor: 'janitor' });
    expect((await store.history(lab.labId)).map((entry) => entry.action)).toEqual(['created', 'deleted']);
    expect(await redis.pttl(`${prefix}:lab:${lab.labId}:history`)).toBeGreaterThan(0);
  });

  it('leaves an unreadable record out of listings and says so, while get() refuses it', async () => {
    const reported: string[] = [];
    const watched = createLabStore({ redis, prefix, onInvalidRecord: (kind, id) => reported.push(`${kind}:${id}`) });
    const good = labRecord();
    const bad = labRecord();
    await watched.create(good);
    await watched.create(bad);
    await redis.set(`${prefix}:lab:${bad.labId}`, '{"labId": "half a record"');
    const listed = (await watched.listAll()).map((lab) => lab.labId);
    expect(listed).toContain(good.labId);
    expect(listed).not.toContain(bad.labId);
    expect(reported).toContain(`lab:${bad.labId}`);
    await expect(watched.get(bad.labId)).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'STORE_CORRUPT',
    );
    await redis.del(`${prefix}:lab:${bad.labId}`);
  });
});
