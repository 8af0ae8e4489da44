import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { LabbotError, type LabRecord } from '@labbot/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createLabStore } from './lab-store.js';
import { createRateLimiter } from './rate-limiter.js';
import { describeLabStoreContract } from './testing/contract.js';
import { describeRateLimiterContract } from './testing/rate-limiter-contract.js';
import { redisUrl, useRedisKeys } from './testing/redis-keys.js';

const db = useRedisKeys('store');
const { prefix } = db;

const now = Date.parse('2026-11-25T12:00:00.000Z');
describeLabStoreContract('Redis', {
  create: ({ clock, historyLimit }) =>
    createLabStore({ redis: db.redis, prefix, clock, ...(historyLimit !== undefined ? { historyLimit } : {}) }),
});

// The chat processes read through a client of their own with auto-pipelining (commands' chat-app): the same answers.
let pipelinedReads: Redis | undefined;
afterAll(() => pipelinedReads?.disconnect());
describeLabStoreContract('Redis, reads auto-pipelined on a client of their own', {
  create: ({ clock, historyLimit }) => {
    pipelinedReads ??= new Redis(redisUrl, { enableAutoPipelining: true });
    return createLabStore({
      redis: db.redis,
      reads: pipelinedReads,
      prefix: `${prefix}-pipelined`,
      clock,
      ...(historyLimit !== undefined ? { historyLimit } : {}),
    });
  },
  cleanup: async () => {
    const keys = await db.redis.keys(`${prefix}-pipelined:*`);
    if (keys.length > 0) await db.redis.del(...keys);
  },
});

describeRateLimiterContract('Redis', {
  create: (options) => createRateLimiter({ redis: db.redis, prefix, ...options }),
});

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
    const store = createLabStore({ redis: db.redis, prefix });
    const lab = labRecord();
    await store.create(lab);
    await store.delete(lab.labId, { actor: 'janitor' });
    expect((await store.history(lab.labId)).map((entry) => entry.action)).toEqual(['created', 'deleted']);
    expect(await db.redis.pttl(`${prefix}:lab:${lab.labId}:history`)).toBeGreaterThan(0);
  });

  it('keeps a stopped lab out of the expiry index, so expiry sweeps do not read it again and again', async () => {
    const store = createLabStore({ redis: db.redis, prefix });
    const lab = labRecord();
    await store.create(lab);
    const indexed = async () => (await db.redis.zscore(`${prefix}:labs:expiry`, lab.labId)) !== null;
    expect(await indexed()).toBe(true);
    await store.update(lab.labId, (current) => ({ ...current, desired: { ...current.desired, state: 'stopped' } }));
    expect(await indexed()).toBe(false);
    // One indexed before this rule (stopped, still in the index) is left out of the listing all the same.
    await db.redis.zadd(`${prefix}:labs:expiry`, Date.parse(lab.expiresAt), lab.labId);
    expect((await store.listRunningExpiringBefore(Date.parse(lab.expiresAt))).map((each) => each.labId)).not.toContain(
      lab.labId,
    );
  });

  it('leaves an unreadable record out of listings and says so, while get() refuses it', async () => {
    const reported: string[] = [];
    const watched = createLabStore({
      redis: db.redis,
      prefix,
      onInvalidRecord: (kind, id) => reported.push(`${kind}:${id}`),
    });
    const good = labRecord();
    const bad = labRecord();
    await watched.create(good);
    await watched.create(bad);
    await db.redis.set(`${prefix}:lab:${bad.labId}`, '{"labId": "half a record"');
    const listed = (await watched.listAll()).map((lab) => lab.labId);
    expect(listed).toContain(good.labId);
    expect(listed).not.toContain(bad.labId);
    expect(reported).toContain(`lab:${bad.labId}`);
    await expect(watched.get(bad.labId)).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'STORE_CORRUPT',
    );
    await db.redis.del(`${prefix}:lab:${bad.labId}`);
  });

  it('counts a write whose reply was lost and that the client sent again as done once (a Redis restart)', async () => {
    // Between the store's client and Redis: once armed, the next reply from Redis is dropped together with the
    // connection, as when Redis is killed after it wrote a command to its AOF but before it answered. ioredis then
    // reconnects and sends the unanswered command again.
    const target = new URL(redisUrl);
    let armed = false;
    const sockets = new Set<Socket>();
    const proxy: Server = createServer((client) => {
      const upstream = connect(Number(target.port || 6379), target.hostname);
      sockets.add(client).add(upstream);
      client.on('data', (chunk) => upstream.write(chunk));
      upstream.on('data', (chunk) => {
        if (!armed) return void client.write(chunk);
        armed = false;
        client.destroy();
        upstream.destroy();
      });
      for (const socket of [client, upstream]) socket.on('error', () => {}).on('close', () => sockets.delete(socket));
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const { port } = proxy.address() as { port: number };
    const flaky = new Redis({ host: '127.0.0.1', port, db: Number(target.pathname.slice(1) || 0) });
    flaky.on('error', () => {});
    try {
      await flaky.ping();
      const store = createLabStore({ redis: flaky, prefix });
      const lab = labRecord();
      armed = true;
      // The learner's /lab start: the record is written once, and this request knows it made it (so it opens the
      // thread and enqueues the reconcile instead of answering "already starting" to itself).
      expect(await store.create(lab, { actor: 'alice' })).toEqual({ created: true, record: lab });
      expect(armed).toBe(false);
      armed = true;
      // A /lab reset: applied once (generation 1, not 2), with one audit entry.
      const reset = await store.update(
        lab.labId,
        (current) => ({ ...current, desired: { state: 'running', generation: current.desired.generation + 1 } }),
        { audit: { actor: 'alice', action: 'desired.reset' } },
      );
      expect(armed).toBe(false);
      expect(reset.desired.generation).toBe(1);
      expect((await store.get(lab.labId))?.version).toBe(1);
      expect((await store.history(lab.labId)).map((entry) => entry.action)).toEqual(['created', 'desired.reset']);
    } finally {
      flaky.disconnect();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});
