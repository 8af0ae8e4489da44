import { describe, expect, it } from 'vitest';
import { GENERIC_USER_MESSAGE, isRetryable, LabbotError, userMessageOf } from './errors.js';
import { LessonIdSchema, labIdFor, namespaceFor, ownerKeyFor, sameOwner } from './identity.js';

const alice = { platform: 'discord', workspaceId: 'guild-1', userId: 'alice' } as const;

describe('labIdFor', () => {
  it('is a stable 12-hex sha256 prefix (the same value on every machine and run)', () => {
    const id = labIdFor({ ...alice, lessonId: 'docker-vs-kubernetes' });
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    // Pinned: changing the derivation would orphan every existing lab namespace.
    // Checked with: printf '%s' '["labbot-lab-v1","discord","guild-1","alice","docker-vs-kubernetes"]' | sha256sum
    expect(id).toBe('3eab4c730320');
    expect(labIdFor({ ...alice, lessonId: 'docker-vs-kubernetes' })).toBe(id);
  });

  it('differs when any part differs', () => {
    const ids = new Set([
      labIdFor({ ...alice, lessonId: 'docker-vs-kubernetes' }),
      labIdFor({ ...alice, lessonId: 'other-lesson' }),
      labIdFor({ ...alice, userId: 'bob', lessonId: 'docker-vs-kubernetes' }),
      labIdFor({ ...alice, workspaceId: 'guild-2', lessonId: 'docker-vs-kubernetes' }),
      labIdFor({ ...alice, platform: 'slack', lessonId: 'docker-vs-kubernetes' }),
    ]);
    expect(ids.size).toBe(5);
  });

  it('keeps parts apart: moving a separator between parts changes the id', () => {
    const a = labIdFor({ platform: 'local', workspaceId: 'a:b', userId: 'c', lessonId: 'x' });
    const b = labIdFor({ platform: 'local', workspaceId: 'a', userId: 'b:c', lessonId: 'x' });
    expect(a).not.toBe(b);
  });

  it('refuses an invalid lesson id or an empty user', () => {
    expect(() => labIdFor({ ...alice, lessonId: '../etc' })).toThrow(/lesson id/);
    expect(() => labIdFor({ ...alice, userId: '', lessonId: 'x' })).toThrow(/user id is empty/);
  });
});

describe('namespaceFor', () => {
  it('is lab-<labId>', () => {
    const id = labIdFor({ ...alice, lessonId: 'docker-vs-kubernetes' });
    expect(namespaceFor(id)).toBe(`lab-${id}`);
  });

  it('refuses something that is not a lab id', () => {
    expect(() => namespaceFor('Not-An-Id')).toThrow();
  });
});

describe('LessonIdSchema', () => {
  it.each(['docker-vs-kubernetes', 'a', '0-intro', 'x'.repeat(63)])('accepts %s', (id) => {
    expect(LessonIdSchema.safeParse(id).success).toBe(true);
  });
  it.each(['', '-lead', 'Upper', 'under_score', 'dot.ted', '../up', 'x'.repeat(64), 'a b'])('refuses %j', (id) => {
    const parsed = LessonIdSchema.safeParse(id);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/lowercase letters, digits and dashes/);
  });
});

describe('owners', () => {
  it('compares every part and gives a stable label-safe key', () => {
    expect(sameOwner(alice, { ...alice })).toBe(true);
    expect(sameOwner(alice, { ...alice, platform: 'slack' })).toBe(false);
    expect(ownerKeyFor(alice)).toMatch(/^[0-9a-f]{12}$/);
    expect(ownerKeyFor(alice)).not.toBe(ownerKeyFor({ ...alice, userId: 'bob' }));
  });
});

describe('what a learner sees of an error', () => {
  it('shows the learner sentence of a LabbotError, and a generic sentence for anything else', () => {
    const cause = new Error('ECONNREFUSED /var/run/docker.sock');
    const error = new LabbotError('BUILD_FAILED', 'docker build failed at step 3', {
      userMessage: 'The image did not build.',
      cause,
    });
    expect(userMessageOf(error)).toBe('The image did not build.');
    expect(error.cause).toBe(cause);
    // No learner sentence, or not our error at all: never the internal message.
    expect(userMessageOf(new LabbotError('X', 'internal detail'))).toBe(GENERIC_USER_MESSAGE);
    expect(userMessageOf(cause)).toBe(GENERIC_USER_MESSAGE);
  });

  it('retries unknown errors and retryable LabbotErrors only', () => {
    expect(isRetryable(new Error('socket hang up'))).toBe(true);
    expect(isRetryable(new LabbotError('X', 'bad lesson'))).toBe(false);
    expect(isRetryable(new LabbotError('X', 'registry busy', { retryable: true }))).toBe(true);
  });
});
