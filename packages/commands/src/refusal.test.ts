import { LabbotError, userMessageOf } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { Refusal } from './refusal.js';

describe('Refusal', () => {
  it('is a learner-safe LabbotError with no stack frames, and leaves other errors their traces', () => {
    const refusal = new Refusal('You have no lab yet.');
    expect(refusal).toBeInstanceOf(LabbotError);
    expect(refusal.code).toBe('REFUSED');
    expect(userMessageOf(refusal)).toBe('You have no lab yet.');
    expect(refusal.stack ?? '').not.toMatch(/\n\s+at /);
    expect(new LabbotError('X', 'a fault').stack).toMatch(/\n\s+at /);
  });
});
