import type { Redis } from 'ioredis';

/** The warm labs of each class not yet handed to a learner (Redis; one list per class, oldest first). */
export interface WarmPoolStore {
  /** Adds a prepared (or preparing) warm lab to its class's pool. */
  add(classId: string, labId: string): Promise<void>;
  /** Takes the oldest warm lab out of the pool: one atomic step, so two joins never get the same lab. */
  claim(classId: string): Promise<string | undefined>;
  /** Gives a taken warm lab back, first in line (the join that took it did not go through). */
  putBack(classId: string, labId: string): Promise<void>;
  /** The warm labs still in the pool, oldest first. */
  list(classId: string): Promise<string[]>;
  /** Empties the pool and returns what was in it (class end). */
  drain(classId: string): Promise<string[]>;
  /**
   * Takes the newest warm labs out of the pool (one atomic step) until at most `keep` are left, and returns them: the
   * ones a join looked at and found still being prepared are there too, the oldest (readiest) stay.
   */
  trim(classId: string, keep: number): Promise<string[]>;
  /** A new number for the class's next warm lab (never reused, so a warm lab's id is never a claimed one's). */
  nextNumber(classId: string): Promise<number>;
}

export interface WarmPoolStoreOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
}

const DRAIN = `
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return ids
`;

const TRIM = `
local taken = {}
while redis.call('LLEN', KEYS[1]) > tonumber(ARGV[1]) do
  table.insert(taken, redis.call('RPOP', KEYS[1]))
end
return taken
`;

export function createWarmPoolStore(options: WarmPoolStoreOptions): WarmPoolStore {
  const { redis } = options;
  const prefix = options.prefix ?? 'labbot';
  const poolKey = (classId: string) => `${prefix}:class:${classId}:warm`;
  const numberKey = (classId: string) => `${prefix}:class:${classId}:warm-number`;
  // A day at most: a class's pool outlives no class (class end drains it; this only bounds a forgotten key).
  const ttlSeconds = 24 * 3600;
  return {
    async add(classId, labId) {
      await redis.multi().rpush(poolKey(classId), labId).expire(poolKey(classId), ttlSeconds).exec();
    },
    async claim(classId) {
      return (await redis.lpop(poolKey(classId))) ?? undefined;
    },
    async putBack(classId, labId) {
      await redis.multi().lpush(poolKey(classId), labId).expire(poolKey(classId), ttlSeconds).exec();
    },
    list: (classId) => redis.lrange(poolKey(classId), 0, -1),
    async drain(classId) {
      return (await redis.eval(DRAIN, 1, poolKey(classId))) as string[];
    },
    async trim(classId, keep) {
      return (await redis.eval(TRIM, 1, poolKey(classId), Math.max(0, Math.floor(keep)))) as string[];
    },
    async nextNumber(classId) {
      const [[, number] = []] = (await redis
        .multi()
        .incr(numberKey(classId))
        .expire(numberKey(classId), ttlSeconds)
        .exec()) as [Error | null, number][];
      return Number(number);
    },
  };
}
