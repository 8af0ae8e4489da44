import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RateLimiter, RateLimitRule } from '../rate-limiter.js';

/** How the contract gets a limiter: fresh keys, the given rules, on the given clock. */
export interface RateLimiterContractHarness {
  create(options: { rules: Record<string, RateLimitRule>; clock: () => Date }): RateLimiter;
}

/** What every RateLimiter must do, run against the Redis one and the in-memory one. */
export function describeRateLimiterContract(name: string, harness: RateLimiterContractHarness): void {
  describe(`RateLimiter contract: ${name}`, () => {
    const rules = { start: { limit: 3, windowMs: 60_000 } };

    it('allows the limit within the window, refuses the next use with the wait, and allows again once the oldest use leaves', async () => {
      let now = Date.parse('2026-11-30T10:00:00.000Z');
      const limiter = harness.create({ rules, clock: () => new Date(now) });
      const user = `u-${randomBytes(4).toString('hex')}`;
      for (let i = 0; i < 3; i++) {
        expect(await limiter.take('start', user)).toEqual({ allowed: true });
        now += 10_000;
      }
      // Uses at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
      expect(await limiter.take('start', user)).toEqual({ allowed: false, retryAfterMs: 30_000, rule: rules.start });
      // A refused use is not counted: at 60 s exactly one slot is free again.
      now += 30_000;
      expect(await limiter.take('start', user)).toEqual({ allowed: true });
      expect((await limiter.take('start', user)).allowed).toBe(false);
    });

    it('counts each user and each action apart, and never limits an action without a rule', async () => {
      const now = Date.parse('2026-11-30T10:00:00.000Z');
      const limiter = harness.create({ rules, clock: () => new Date(now) });
      const ada = `ada-${randomBytes(4).toString('hex')}`;
      const bob = `bob-${randomBytes(4).toString('hex')}`;
      for (let i = 0; i < 3; i++) await limiter.take('start', ada);
      expect((await limiter.take('start', ada)).allowed).toBe(false);
      expect(await limiter.take('start', bob)).toEqual({ allowed: true });
      for (let i = 0; i < 10; i++) expect(await limiter.take('status', ada)).toEqual({ allowed: true });
    });

    it('lets exactly the limit through when 20 uses race', async () => {
      const now = Date.parse('2026-11-30T10:00:00.000Z');
      const limiter = harness.create({ rules, clock: () => new Date(now) });
      const user = `u-${randomBytes(4).toString('hex')}`;
      const verdicts = await Promise.all(Array.from({ length: 20 }, () => limiter.take('start', user)));
      expect(verdicts.filter((verdict) => verdict.allowed)).toHaveLength(3);
    });
  });
}
