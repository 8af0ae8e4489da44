import { describe, expect, it } from 'vitest';
import { type Actor, authorize, type LabAction } from './permissions.js';

const instructorRoles = ['instructor'];
const alice: Actor = { platform: 'discord', workspaceId: 'g1', userId: 'alice', roles: [] };
const bob: Actor = { platform: 'discord', workspaceId: 'g1', userId: 'bob', roles: [] };
const teacher: Actor = { platform: 'discord', workspaceId: 'g1', userId: 'tea', roles: ['instructor'] };
const otherTeacher: Actor = { ...teacher, workspaceId: 'g2' };
const aliceLab = { owner: { platform: 'discord', workspaceId: 'g1', userId: 'alice' } as const };
const aliceClassLab = { ...aliceLab, classId: 'class-1' };
const labActions: LabAction[] = ['start', 'status', 'stop', 'reset', 'check', 'kubectl'];

describe('authorize', () => {
  it.each(labActions)('a learner may %s their own lab', (action) => {
    expect(authorize({ actor: alice, action, lab: aliceLab, instructorRoles })).toEqual({ allowed: true });
  });

  it.each(labActions)("a learner may not %s someone else's lab", (action) => {
    expect(authorize({ actor: bob, action, lab: aliceLab, instructorRoles })).toEqual({
      allowed: false,
      reason: 'You can only use your own labs.',
    });
  });

  it('the same user id on another platform or workspace is someone else', () => {
    for (const actor of [
      { ...alice, platform: 'slack' as const },
      { ...alice, workspaceId: 'g2' },
    ]) {
      expect(authorize({ actor, action: 'stop', lab: aliceLab, instructorRoles }).allowed).toBe(false);
    }
  });

  it.each(['class-start', 'class-status', 'class-end', 'class-export', 'class-say'] as const)(
    '%s needs an instructor role',
    (action) => {
      expect(authorize({ actor: alice, action, instructorRoles })).toEqual({
        allowed: false,
        reason: 'Only instructors can run class commands.',
      });
      expect(authorize({ actor: teacher, action, instructorRoles })).toEqual({ allowed: true });
      expect(authorize({ actor: teacher, action, instructorRoles: [] }).allowed).toBe(false);
    },
  );

  it('an instructor may see, check and stop a class lab in their workspace, not reset or kubectl it', () => {
    for (const action of ['status', 'check', 'stop'] as const) {
      expect(authorize({ actor: teacher, action, lab: aliceClassLab, instructorRoles }).allowed).toBe(true);
      expect(authorize({ actor: otherTeacher, action, lab: aliceClassLab, instructorRoles }).allowed).toBe(false);
      expect(authorize({ actor: teacher, action, lab: aliceLab, instructorRoles }).allowed).toBe(false);
    }
    for (const action of ['reset', 'kubectl'] as const) {
      expect(authorize({ actor: teacher, action, lab: aliceClassLab, instructorRoles }).allowed).toBe(false);
    }
  });

  it.each(['list', 'lessons', 'help'] as const)('anyone may %s', (action) => {
    expect(authorize({ actor: bob, action, instructorRoles })).toEqual({ allowed: true });
  });
});
