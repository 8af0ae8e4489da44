import type { Redis } from 'ioredis';

/** A lab's turn to be provisioned, or its place in the line (1 = next). */
export type ProvisionTurn = { admitted: true; first: boolean } | { admitted: false; place: number; inFlight: number };

/**
 * The per-class cap on labs provisioned at once, FIFO by join order: a lab takes a slot for one reconcile
 * run and gives it back after (a retry waiting in back-off holds none, so it never holds the others back).
 * Slots and places are leases: a crashed runner's slot, or a lab nobody asks for any more, frees itself.
 */
export interface ClassProvisionSlots {
  /**
   * Takes a slot for `labId` (join place `seq`) when fewer than `max` labs of the class hold one and no
   * earlier joiner still waits; otherwise keeps (or puts) it in line and says its place.
   */
  acquire(classId: string, labId: string, seq: number, max: number): Promise<ProvisionTurn>;
  /** Puts a lab in line at its join place as the learner joins (before its runner asks, so join order holds). */
  enterLine(classId: string, labId: string, seq: number): Promise<void>;
  /** Gives the slot back (the reconcile run ended, whatever its outcome). */
  release(classId: string, labId: string): Promise<void>;
  /** The lab first in line (the next to get a slot), if any. */
  head(classId: string): Promise<string | undefined>;
  /** Labs holding a slot and labs in line, now. */
  counts(classId: string): Promise<{ inFlight: number; waiting: number }>;
}

export interface ClassProvisionSlotsOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
  /** How long a slot lives without release (default 10 min: longer than a provision's time budget). */
  slotLeaseMs?: number;
  /** How long a place in line lives without its lab asking again (default 30 s; a waiting lab asks every second or so). */
  placeLeaseMs?: number;
  now?: () => number;
}

// KEYS: slots zset (labId → lease end), line zset (labId → seq), seen zset (labId → place lease end), admitted set
// ARGV: labId, seq, max, now, slot lease end, place lease end
const ACQUIRE = `
local now = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local stale = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for _, lab in ipairs(stale) do
  redis.call('ZREM', KEYS[2], lab)
  redis.call('ZREM', KEYS[3], lab)
end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  return {1, 0, 0}
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
local inFlight = redis.call('ZCARD', KEYS[1])
local ahead = redis.call('ZRANK', KEYS[2], ARGV[1])
if inFlight + ahead < tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  local first = redis.call('SADD', KEYS[4], ARGV[1])
  return {1, first, 0}
end
return {0, ahead + 1, inFlight}
`;

export function createClassProvisionSlots(options: ClassProvisionSlotsOptions): ClassProvisionSlots {
  const { redis } = options;
  const prefix = options.prefix ?? 'labbot';
  const now = options.now ?? Date.now;
  const slotLeaseMs = options.slotLeaseMs ?? 10 * 60_000;
  const placeLeaseMs = options.placeLeaseMs ?? 30_000;
  const keys = (classId: string) => [
    `${prefix}:class:${classId}:provisioning`,
    `${prefix}:class:${classId}:line`,
    `${prefix}:class:${classId}:line-seen`,
    `${prefix}:class:${classId}:admitted`,
  ];
  return {
    async acquire(classId, labId, seq, max) {
      const at = now();
      const reply = (await redis.eval(
        ACQUIRE,
        4,
        ...keys(classId),
        labId,
        seq,
        max,
        at,
        at + slotLeaseMs,
        at + placeLeaseMs,
      )) as [number, number, number];
      return reply[0] === 1
        ? { admitted: true, first: reply[1] === 1 }
        : { admitted: false, place: reply[1], inFlight: reply[2] };
    },
    async enterLine(classId, labId, seq) {
      const [, line, seen] = keys(classId) as [string, string, string];
      await redis
        .multi()
        .zadd(line, 'NX', seq, labId)
        .zadd(seen, now() + placeLeaseMs, labId)
        .exec();
    },
    async release(classId, labId) {
      const [slots] = keys(classId);
      await redis.zrem(slots as string, labId);
    },
    async head(classId) {
      const [, line] = keys(classId) as [string, string];
      const [first] = await redis.zrange(line, '0', '0');
      return first;
    },
    async counts(classId) {
      const [slots, line] = keys(classId) as [string, string];
      const at = now();
      const [inFlight, waiting] = await Promise.all([redis.zcount(slots, at, '+inf'), redis.zcard(line)]);
      return { inFlight, waiting };
    },
  };
}
