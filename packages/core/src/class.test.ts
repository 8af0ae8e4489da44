import { describe, expect, it } from 'vitest';
import { classStageOf, mayManageClass, ordinal, parseClassCommand, queuePositionText } from './class.js';
import { parseLabCommand } from './commands.js';
import { authorize } from './permissions.js';

describe('class commands', () => {
  it.each([
    ['class start intro', { kind: 'class-start', lessonId: 'intro' }],
    ['class start intro exits', { kind: 'class-start', lessonId: 'intro', variant: 'exits' }],
    ['class start intro 90 30', { kind: 'class-start', lessonId: 'intro', ttlMinutes: 90, maxLearners: 30 }],
    ['class start intro exits 90', { kind: 'class-start', lessonId: 'intro', variant: 'exits', ttlMinutes: 90 }],
    ['class start intro max=30', { kind: 'class-start', lessonId: 'intro', maxLearners: 30 }],
    ['class start intro max=30 ttl=45', { kind: 'class-start', lessonId: 'intro', maxLearners: 30, ttlMinutes: 45 }],
    [
      'class start intro exits 60 at-once=4',
      { kind: 'class-start', lessonId: 'intro', variant: 'exits', ttlMinutes: 60, maxConcurrentProvisions: 4 },
    ],
    [
      'class start intro 30 20 self-extend=15',
      { kind: 'class-start', lessonId: 'intro', ttlMinutes: 30, maxLearners: 20, selfExtendMinutes: 15 },
    ],
    ['class say step 2 now:   open the README', { kind: 'class-say', text: 'step 2 now: open the README' }],
    ['class take ann', { kind: 'class-take', learner: 'ann' }],
    ['class extend 15', { kind: 'class-extend', minutes: 15 }],
    ['class extend <@U0LRN0001> 30', { kind: 'class-extend', learner: 'U0LRN0001', minutes: 30 }],
    ['class done <@U0LRN0001>', { kind: 'class-done', learner: 'U0LRN0001' }],
    ['help-me', { kind: 'help-me' }],
    ['help-me my pods   are pending', { kind: 'help-me', text: 'my pods are pending' }],
    ['class join', { kind: 'class-join' }],
    ['class join 0123456789', { kind: 'class-join', classId: '0123456789' }],
    ['class end abcdefabcd', { kind: 'class-end', classId: 'abcdefabcd' }],
    ['class export', { kind: 'class-export' }],
  ])('%s', (text, expected) => {
    expect(parseLabCommand(text)).toEqual({ ok: true, command: expected });
  });

  it.each([
    ['class start', /Say which lesson/],
    ['class start intro 2', /between 5 and 1440/],
    ['class start intro 60 0', /between 1 and 500/],
    ['class start intro 60 30 9', /at most two numbers/],
    ['class start intro a b', /Unexpected "b"/],
    ['class start intro at-once=0', /labs set up at once \(at-once\) must be between 1 and 200/],
    ['class start intro at-once=x', /"x" is not a number of labs set up at once/],
    ['class start intro self-extend=0', /minutes a learner may add \(self-extend\) must be between 1 and 1440/],
    ['class say', /Say what to tell the class/],
    ['class take', /Say whose raised hand/],
    ['class extend', /Say how many minutes/],
    ['class extend ann soon', /"soon" is not a number of minutes to add/],
    ['class join nope', /not a class id/],
    ['class frobnicate', /Unknown class command/],
  ])('refuses %s with one sentence', (text, message) => {
    const parsed = parseClassCommand(text.split(' ').slice(1));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(message);
  });
});

describe('class stages and permissions', () => {
  it('maps every lab phase to one board stage', () => {
    expect(classStageOf('pending')).toBe('joined');
    expect(classStageOf('running-once')).toBe('building');
    expect(classStageOf('waiting-for-pods')).toBe('deploying');
    expect(classStageOf('degraded')).toBe('failing');
    expect(classStageOf('failed')).toBe('failing');
    expect(classStageOf('stopped')).toBe('stopped');
  });

  const teacher = { platform: 'discord' as const, workspaceId: 'g', userId: 't', roles: ['r1'] };
  const klass = { instructor: { platform: 'discord' as const, workspaceId: 'g', userId: 't' } };

  it('only the owner instructor or an admin of the workspace may manage a class', () => {
    expect(mayManageClass(teacher, klass)).toBe(true);
    expect(mayManageClass({ ...teacher, userId: 'other' }, klass)).toBe(false);
    expect(mayManageClass({ ...teacher, userId: 'other', roles: ['@admin'] }, klass)).toBe(true);
    expect(mayManageClass({ ...teacher, userId: 'other', roles: ['boss'] }, klass, ['boss'])).toBe(true);
    expect(mayManageClass({ ...teacher, workspaceId: 'h', userId: 'other', roles: ['@admin'] }, klass)).toBe(false);
  });

  it('class commands need an instructor (a configured role or a permission-derived one); joining does not', () => {
    const learner = { ...teacher, userId: 'l', roles: [] };
    expect(authorize({ actor: learner, action: 'class-start', instructorRoles: ['r1'] }).allowed).toBe(false);
    expect(authorize({ actor: learner, action: 'class-join', instructorRoles: ['r1'] }).allowed).toBe(true);
    expect(authorize({ actor: teacher, action: 'class-end', instructorRoles: ['r1'] }).allowed).toBe(true);
    const manager = { ...learner, roles: ['@instructor'] };
    expect(authorize({ actor: manager, action: 'class-start', instructorRoles: [] }).allowed).toBe(true);
  });
});

describe('queue position text', () => {
  it('says the place as an ordinal and the wait in seconds or minutes', () => {
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(ordinal)).toEqual([
      '1st',
      '2nd',
      '3rd',
      '4th',
      '11th',
      '12th',
      '13th',
      '21st',
      '22nd',
      '101st',
      '111th',
    ]);
    expect(queuePositionText(14, 20)).toMatch(/^⏳ You are 14th in line, about 20 s:/);
    expect(queuePositionText(3, 180)).toMatch(/You are 3rd in line, about 3 min:/);
    expect(queuePositionText(1)).toMatch(/You are 1st in line: /);
  });
});
