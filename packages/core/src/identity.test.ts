import { describe, expect, it } from 'vitest';
import { LabbotError } from './errors.js';
import { LessonIdSchema, labIdFor, labIdFromNamespace, namespaceFor, ownerKeyFor, sameOwner } from './identity.js';

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
  it('is lab-<labId> and round-trips through labIdFromNamespace', () => {
    const id = labIdFor({ ...alice, lessonId: 'docker-vs-kubernetes' });
    expect(namespaceFor(id)).toBe(`lab-${id}`);
    expect(labIdFromNamespace(namespaceFor(id))).toBe(id);
    expect(labIdFromNamespace('kube-system')).toBeUndefined();
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

it('LabbotError keeps its code and learner message', () => {
  const error = new LabbotError('X', 'internal', { userMessage: 'plain' });
  expect([error.code, error.userMessage]).toEqual(['X', 'plain']);
});
