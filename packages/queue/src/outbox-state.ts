import type { Redis } from 'ioredis';
import { type OutboxItem, OutboxItemSchema, type OutboxPlatform } from './payloads.js';

/** Stores the newest item under a thread + key with a sequence number (atomic: INCR and write together). */
const WRITE_LATEST = `
local seq = redis.call('INCR', KEYS[1])
redis.call('HSET', KEYS[2], 'seq', seq, 'item', ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return seq
`;

/**
 * Takes the thread's next delivery slot when it is free (returns 0), else returns the ms to wait.
 * KEYS[2] is the platform-wide hold (a global rate limit), which every thread respects.
 */
const RESERVE_SLOT = `
local nextAt = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(redis.call('GET', KEYS[2]) or '0'))
local now = tonumber(ARGV[1])
if now < nextAt then return nextAt - now end
local interval = tonumber(ARGV[2])
if interval > 0 then redis.call('SET', KEYS[1], now + interval, 'PX', interval) end
return 0
`;

/** Pushes the next slot of a thread (or of the platform) to at least ARGV[2] (a platform said "retry after"). */
const HOLD = `
local nextAt = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilAt = tonumber(ARGV[2])
local now = tonumber(ARGV[1])
if untilAt > nextAt and untilAt > now then redis.call('SET', KEYS[1], untilAt, 'PX', untilAt - now) end
return 0
`;

/** Raises the delivered sequence number, never lowers it. */
const MARK_DELIVERED = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 0
`;

export interface LatestItem {
  seq: number;
  item: OutboxItem;
}

/** The outbox's own Redis state beside the BullMQ queue: newest item per thread + key, and per-thread pacing. */
export interface OutboxState {
  /** The BullMQ deduplication id of a thread + key (keys cannot contain `@`). */
  dedupId(threadId: string, key: string): string;
  writeLatest(item: OutboxItem): Promise<number>;
  readLatest(threadId: string, key: string): Promise<LatestItem | undefined>;
  deliveredSeq(threadId: string, key: string): Promise<number>;
  markDelivered(threadId: string, key: string, seq: number): Promise<void>;
  /** The digest of the message last delivered under a thread + key (what the chat shows now, as far as we know). */
  shownDigest(threadId: string, key: string): Promise<string | undefined>;
  markShown(threadId: string, key: string, digest: string): Promise<void>;
  reserveSlot(threadId: string, nowMs: number, intervalMs: number): Promise<number>;
  holdThread(threadId: string, nowMs: number, untilMs: number): Promise<void>;
  /** Holds every thread of the platform (a global rate limit). */
  holdPlatform(nowMs: number, untilMs: number): Promise<void>;
  /** Counts one more failed delivery of a thread + key in a row and returns the count. */
  recordFailure(threadId: string, key: string): Promise<number>;
  /** A delivery went through: the next failure counts from one again. */
  clearFailures(threadId: string, key: string): Promise<void>;
}

export function createOutboxState(
  redis: Redis,
  prefix: string,
  platform: OutboxPlatform,
  latestTtlMs: number,
): OutboxState {
  const base = `${prefix}:outbox:${platform}`;
  const dedupId = (threadId: string, key: string) => `${key}@${threadId}`;
  const latestKey = (threadId: string, key: string) => `${base}:latest:${dedupId(threadId, key)}`;
  const deliveredKey = (threadId: string, key: string) => `${base}:delivered:${dedupId(threadId, key)}`;
  const slotKey = (threadId: string) => `${base}:next:${threadId}`;
  const failuresKey = (threadId: string, key: string) => `${base}:failures:${dedupId(threadId, key)}`;
  const shownKey = (threadId: string, key: string) => `${base}:shown:${dedupId(threadId, key)}`;
  // Thread ids never start with '*', so this cannot be a thread's key.
  const platformSlotKey = `${base}:next:*platform`;
  return {
    dedupId,
    writeLatest: async (item) =>
      Number(
        await redis.eval(
          WRITE_LATEST,
          2,
          `${base}:seq`,
          latestKey(item.threadId, item.key),
          JSON.stringify(item),
          latestTtlMs,
        ),
      ),
    readLatest: async (threadId, key) => {
      const [seq, raw] = await redis.hmget(latestKey(threadId, key), 'seq', 'item');
      if (seq === null || seq === undefined || raw === null || raw === undefined) return undefined;
      const parsed = OutboxItemSchema.safeParse(JSON.parse(raw));
      return parsed.success ? { seq: Number(seq), item: parsed.data } : undefined;
    },
    deliveredSeq: async (threadId, key) => Number((await redis.get(deliveredKey(threadId, key))) ?? '0'),
    markDelivered: async (threadId, key, seq) => {
      await redis.eval(MARK_DELIVERED, 1, deliveredKey(threadId, key), seq, latestTtlMs);
    },
    shownDigest: async (threadId, key) => (await redis.get(shownKey(threadId, key))) ?? undefined,
    markShown: async (threadId, key, digest) => {
      await redis.set(shownKey(threadId, key), digest, 'PX', latestTtlMs);
    },
    reserveSlot: async (threadId, nowMs, intervalMs) =>
      Number(await redis.eval(RESERVE_SLOT, 2, slotKey(threadId), platformSlotKey, nowMs, intervalMs)),
    holdThread: async (threadId, nowMs, untilMs) => {
      await redis.eval(HOLD, 1, slotKey(threadId), nowMs, untilMs);
    },
    holdPlatform: async (nowMs, untilMs) => {
      await redis.eval(HOLD, 1, platformSlotKey, nowMs, untilMs);
    },
    recordFailure: async (threadId, key) => {
      const replies = await redis
        .multi()
        .incr(failuresKey(threadId, key))
        .pexpire(failuresKey(threadId, key), latestTtlMs)
        .exec();
      return Number(replies?.[0]?.[1] ?? 1);
    },
    clearFailures: async (threadId, key) => {
      await redis.del(failuresKey(threadId, key));
    },
  };
}
