import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/** At most `limit` uses in any `windowMs` (a sliding window). */
export const RateLimitRuleSchema = z.object({
  limit: z.number().int().min(1),
  windowMs: z.number().int().min(1),
});
export type RateLimitRule = z.output<typeof RateLimitRuleSchema>;

/** The answer to one use: allowed, or refused with how long until the oldest use leaves the window. */
export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterMs: number; rule: RateLimitRule };

/** Counts what each user does per action, shared by every bot process (Redis), so a limit holds across replicas. */
export interface RateLimiter {
  /**
   * Records one use of `action` by `userKey` when the rule of `action` allows it; a refused use is not
   * counted. An action without a rule is always allowed.
   */
  take(action: string, userKey: string): Promise<RateLimitVerdict>;
}

export interface RateLimiterOptions {
  redis: Redis;
  /** The rule of each limited action, e.g. `{ start: { limit: 5, windowMs: 60_000 } }`. */
  rules: Readonly<Record<string, RateLimitRule>>;
  /** Prefix of every key (default `labbot`). */
  prefix?: string;
  /** The clock of the windows (a seam for tests). */
  clock?: () => Date;
}

/**
 * A sliding-window log in one sorted set per user and action, trimmed and counted atomically: returns
 * {1, 0} when the use is recorded, {0, ms until the oldest use leaves the window} when refused.
 */
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { redis, rules } = options;
  const prefix = options.prefix ?? 'labbot';
  const clock = options.clock ?? (() => new Date());
  return {
    async take(action, userKey) {
      const rule = rules[action];
      if (!rule) return { allowed: true };
      const now = clock().getTime();
      const reply = await redis.eval(
        TAKE_SCRIPT,
        1,
        `${prefix}:ratelimit:${action}:${userKey}`,
        String(now),
        String(rule.windowMs),
        String(rule.limit),
        `${now}-${randomBytes(4).toString('hex')}`,
      );
      const [allowed, retryAfterMs] = Array.isArray(reply) ? reply.map(Number) : [1, 0];
      return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: Math.max(1, retryAfterMs ?? 1), rule };
    },
  };
}
