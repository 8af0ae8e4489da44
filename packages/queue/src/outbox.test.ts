import { LabbotError } from '@labbot/core';
import { DelayedError, UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLocalPace, idempotencyKeyOf, rateLimitOf } from './outbox.js';
import { toJobError } from './workers.js';

describe('rateLimitOf', () => {
  it('reads retryAfterMs from the error or its cause', () => {
    expect(rateLimitOf(Object.assign(new Error('429'), { retryAfterMs: 1500 }))).toEqual({
      retryAfterMs: 1500,
      global: false,
    });
    const wrapped = new LabbotError('CHAT_RATE_LIMITED', 'slow down', {
      cause: Object.assign(new Error('429'), { retryAfterMs: 200, global: true }),
    });
    expect(rateLimitOf(wrapped)).toEqual({ retryAfterMs: 200, global: true });
  });

  it('ignores errors without a usable wait', () => {
    expect(rateLimitOf(new Error('boom'))).toBeUndefined();
    expect(rateLimitOf(Object.assign(new Error('x'), { retryAfterMs: -1 }))).toBeUndefined();
    expect(rateLimitOf(Object.assign(new Error('x'), { retryAfterMs: '5' }))).toBeUndefined();
    expect(rateLimitOf(undefined)).toBeUndefined();
  });
});

describe('idempotencyKeyOf', () => {
  it('is stable per platform, thread and key, and fits a Discord nonce (25 characters)', () => {
    const key = idempotencyKeyOf('discord', 'discord:g:c:t', 'status');
    expect(key).toHaveLength(25);
    expect(idempotencyKeyOf('discord', 'discord:g:c:t', 'status')).toBe(key);
    expect(idempotencyKeyOf('discord', 'discord:g:c:t', 'checks')).not.toBe(key);
    expect(idempotencyKeyOf('slack', 'discord:g:c:t', 'status')).not.toBe(key);
  });
});

describe('toJobError', () => {
  it('turns a LabbotError that a retry cannot help into an UnrecoverableError keeping code and cause', () => {
    const original = new LabbotError('LESSON_INVALID', 'bad lesson', { retryable: false });
    const mapped = toJobError(original);
    expect(mapped).toBeInstanceOf(UnrecoverableError);
    expect((mapped as Error).message).toContain('LESSON_INVALID');
    expect((mapped as Error).cause).toBe(original);
  });

  it('leaves retryable errors and BullMQ control errors alone', () => {
    const retryable = new LabbotError('CLUSTER_DOWN', 'down', { retryable: true });
    expect(toJobError(retryable)).toBe(retryable);
    const plain = new Error('socket hang up');
    expect(toJobError(plain)).toBe(plain);
    const delayed = new DelayedError();
    expect(toJobError(delayed)).toBe(delayed);
  });
});

describe('createLocalPace', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("holds a worker's next call to a thread until the interval since its last call has passed, and no other thread", async () => {
    vi.useFakeTimers({ now: 10_000 });
    const pace = createLocalPace(() => Date.now());
    const calls: string[] = [];
    const call = (threadId: string) => pace.waitTurn(threadId, 300).then(() => calls.push(`${threadId}@${Date.now()}`));
    await call('a');
    const second = call('a');
    await call('b');
    await vi.advanceTimersByTimeAsync(299);
    expect(calls).toEqual(['a@10000', 'b@10000']);
    await vi.advanceTimersByTimeAsync(1);
    await second;
    expect(calls).toEqual(['a@10000', 'b@10000', 'a@10300']);
    // Once the interval has passed, a call goes at once.
    await vi.advanceTimersByTimeAsync(500);
    await call('a');
    expect(calls.at(-1)).toBe('a@10800');
  });
});
