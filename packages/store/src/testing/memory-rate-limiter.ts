import type { RateLimiter, RateLimitRule } from '../rate-limiter.js';

export interface MemoryRateLimiterOptions {
  rules: Readonly<Record<string, RateLimitRule>>;
  clock?: () => Date;
}

/** A working RateLimiter in memory (the same sliding window as the Redis one, same contract suite). */
export function createMemoryRateLimiter(options: MemoryRateLimiterOptions): RateLimiter {
  const clock = options.clock ?? (() => new Date());
  const uses = new Map<string, number[]>();
  return {
    async take(action, userKey) {
      const rule = options.rules[action];
      if (!rule) return { allowed: true };
      const now = clock().getTime();
      const key = `${action}:${userKey}`;
      const recent = (uses.get(key) ?? []).filter((at) => at > now - rule.windowMs);
      uses.set(key, recent);
      const oldest = recent[0];
      if (recent.length >= rule.limit && oldest !== undefined) {
        return { allowed: false, retryAfterMs: Math.max(1, oldest + rule.windowMs - now), rule };
      }
      recent.push(now);
      return { allowed: true };
    },
  };
}
