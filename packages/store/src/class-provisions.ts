import type { Redis } from 'ioredis';
import { runScript } from './lua-script.js';

/**
 * A lab's turn to be provisioned, or its place in the line (1 = it gets the next slot given back). `grant` numbers the class's first
 * grants in the order they were given (join order); `reserved` are older labs granted a slot in the same step,
 * to be woken (they have not asked yet).
 */
export type ProvisionTurn =
  | { admitted: true; first: boolean; grant: number; reserved: string[] }
  | { admitted: false; place: number; inFlight: number };

/**
 * The per-class cap on labs provisioned at once, strictly FIFO by join order: a lab is in line from the moment
 * it joins (the roster's join puts it there in the same step that gives it its place), and a slot goes to a
 * younger lab only together with a slot for every older one still in line. A lab takes a slot for one reconcile
 * run and gives it back after (a retry waiting in back-off holds none, so it never holds the others back).
 * Slots and places are leases: a crashed runner's slot, or a lab nobody asks for any more, frees itself.
 */
export interface ClassProvisionSlots {
  /**
   * Takes a slot for `labId` (join place `seq`) when there is room for it and every earlier joiner still in
   * line (those get theirs in the same step, in join order); otherwise keeps (or puts) it in line and says its place.
   */
  acquire(classId: string, labId: string, seq: number, max: number): Promise<ProvisionTurn>;
  /**
   * Gives the slot back (the reconcile run ended, whatever its outcome), or leaves the line (nothing to bring up).
   * True when the lab held a slot (one is free now).
   */
  release(classId: string, labId: string): Promise<boolean>;
  /** Whether a lab waits in line now (false once it holds a slot, or has nothing to bring up). */
  isWaiting(classId: string, labId: string): Promise<boolean>;
  /** The lab first in line (the next to get a slot), if any. */
  head(classId: string): Promise<string | undefined>;
  /** Labs holding a slot and labs in line, now. */
  counts(classId: string): Promise<{ inFlight: number; waiting: number }>;
  /** The class ended: its slots, line and grant numbers go (a class lab's teardown needs no slot). */
  forget(classId: string): Promise<void>;
}

export interface ClassProvisionSlotsOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
  /** How long a slot lives without release (default 10 min: longer than a provision's time budget). */
  slotLeaseMs?: number;
  /**
   * How long a place in line, or a slot granted to a lab that has not asked yet, lives without its lab asking
   * (default 60 s; a waiting lab asks every 2 s at most, a woken one at once).
   */
  placeLeaseMs?: number;
  now?: () => number;
}

export const DEFAULT_PLACE_LEASE_MS = 60_000;

/**
 * Every write to a class's provision keys renews this TTL on them: a backstop for a class that is never ended or a
 * runner that asks for a slot just as its class ends (the keys are deleted at class end).
 */
export const PROVISION_KEYS_TTL_MS = 24 * 60 * 60_000;

/** The Redis keys of a class's provision line (shared with the roster, whose join puts a learner in line). */
export function provisionKeysOf(prefix: string, classId: string) {
  const base = `${prefix}:class:${classId}`;
  return {
    /** zset labId → lease end: labs holding a slot (or granted one, until they ask). */
    slots: `${base}:provisioning`,
    /** zset labId → join seq: labs waiting for a slot. */
    line: `${base}:line`,
    /** zset labId → place lease end. */
    seen: `${base}:line-seen`,
    /** set: labs that have announced their first slot (one audit entry each). */
    announced: `${base}:admitted`,
    /** hash labId → the number of its first grant in the class. */
    granted: `${base}:granted`,
    /** counter of grants in the class. */
    grants: `${base}:grants`,
  };
}

// KEYS: slots, line, seen, announced, granted, grants (see provisionKeysOf)
// ARGV: labId, seq, max, now, slot lease end, place lease end, keys' TTL
// Reply: {1, first, grant, reserved...} or {0, place, inFlight}
const ACQUIRE = `
for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], ARGV[7]) end
local now = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, lab in ipairs(stale) do
  redis.call('ZREM', KEYS[2], lab)
  redis.call('ZREM', KEYS[3], lab)
end
local reserved = {}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
  local inFlight = redis.call('ZCARD', KEYS[1])
  local ahead = redis.call('ZRANK', KEYS[2], ARGV[1])
  if inFlight + ahead >= tonumber(ARGV[3]) then
    -- Its place: 1 = it gets the next slot given back (the free slots, if any, go to those ahead of it).
    return {0, inFlight + ahead - tonumber(ARGV[3]) + 1, inFlight}
  end
  -- Room for this lab and everyone ahead of it: all of them are granted now, in line order.
  for _, lab in ipairs(redis.call('ZRANGE', KEYS[2], 0, ahead)) do
    redis.call('ZREM', KEYS[2], lab)
    redis.call('ZREM', KEYS[3], lab)
    redis.call('HSETNX', KEYS[5], lab, redis.call('INCR', KEYS[6]))
    if lab ~= ARGV[1] then
      redis.call('ZADD', KEYS[1], ARGV[6], lab)
      table.insert(reserved, lab)
    end
  end
end
redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
local first = redis.call('SADD', KEYS[4], ARGV[1])
local grant = tonumber(redis.call('HGET', KEYS[5], ARGV[1]) or '0')
local reply = {1, first, grant}
for _, lab in ipairs(reserved) do table.insert(reply, lab) end
return reply
`;

export function createClassProvisionSlots(options: ClassProvisionSlotsOptions): ClassProvisionSlots {
  const { redis } = options;
  const prefix = options.prefix ?? 'labbot';
  const now = options.now ?? Date.now;
  const slotLeaseMs = options.slotLeaseMs ?? 10 * 60_000;
  const placeLeaseMs = options.placeLeaseMs ?? DEFAULT_PLACE_LEASE_MS;
  const keysOf = (classId: string) => provisionKeysOf(prefix, classId);
  return {
    async acquire(classId, labId, seq, max) {
      const keys = keysOf(classId);
      const at = now();
      const reply = (await runScript(
        redis,
        ACQUIRE,
        6,
        keys.slots,
        keys.line,
        keys.seen,
        keys.announced,
        keys.granted,
        keys.grants,
        labId,
        seq,
        max,
        at,
        at + slotLeaseMs,
        at + placeLeaseMs,
        PROVISION_KEYS_TTL_MS,
      )) as [number, number, number, ...string[]];
      const [admitted, a, b, ...reserved] = reply;
      return admitted === 1
        ? { admitted: true, first: a === 1, grant: b, reserved }
        : { admitted: false, place: a, inFlight: b };
    },
    async release(classId, labId) {
      const keys = keysOf(classId);
      const replies = await redis.multi().zrem(keys.slots, labId).zrem(keys.line, labId).zrem(keys.seen, labId).exec();
      return Number(replies?.[0]?.[1] ?? 0) > 0;
    },
    isWaiting: async (classId, labId) => (await redis.zrank(keysOf(classId).line, labId)) !== null,
    async head(classId) {
      const [first] = await redis.zrange(keysOf(classId).line, '0', '0');
      return first;
    },
    async counts(classId) {
      const keys = keysOf(classId);
      const at = now();
      const [inFlight, waiting] = await Promise.all([redis.zcount(keys.slots, at, '+inf'), redis.zcard(keys.line)]);
      return { inFlight, waiting };
    },
    async forget(classId) {
      await redis.del(...Object.values(keysOf(classId)));
    },
  };
}
