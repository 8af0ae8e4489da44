import { createLabRecord, type LabPhase, type LabRecord } from '@labbot/core';
import type { ClassRecord, RosterEntry } from '@labbot/store';
import { describe, expect, it } from 'vitest';
import { type ClassSnapshot, classCsv, renderClassBoard } from './class-board.js';

const at = '2026-11-30T08:00:00.000Z';
const klass: ClassRecord = {
  classId: '0123456789',
  lessonId: 'docker-vs-kubernetes',
  instructor: { platform: 'discord', workspaceId: 'g', userId: 'teacher' },
  members: [],
  state: 'open',
  ttlMinutes: 60,
  maxLearners: 200,
  channelThreadId: 'discord:g:c:c',
  createdAt: at,
  updatedAt: at,
  version: 0,
};

function snapshot(
  count: number,
  phaseOf: (i: number) => LabPhase,
  state: ClassRecord['state'] = 'open',
): ClassSnapshot {
  const members: RosterEntry[] = [];
  const labs = new Map<string, LabRecord>();
  for (let i = 0; i < count; i++) {
    const userId = `3100000000000${String(i).padStart(5, '0')}`;
    const lab = createLabRecord({
      owner: { platform: 'discord', workspaceId: 'g', userId },
      lessonId: 'docker-vs-kubernetes',
      ttlMinutes: 60,
      classId: klass.classId,
      now: () => new Date(at),
    });
    const phase = phaseOf(i);
    lab.observed.phase = phase;
    if (phase === 'degraded')
      lab.observed.diagnosis = { reason: 'CrashLoopBackOff', summary: 'the container exits', hint: 'fix it' };
    labs.set(lab.labId, lab);
    members.push({ userId, labId: lab.labId, joinedAt: at, seq: i + 1 });
  }
  return {
    klass: { ...klass, state },
    lessonTitle: 'Docker vs Kubernetes',
    checkCount: 2,
    members,
    labs,
    checks: new Map(),
    finals: new Map(),
  };
}

const textOf = (message: ReturnType<typeof renderClassBoard>) =>
  message.blocks.map((block) => ('text' in block ? block.text : JSON.stringify(block))).join('\n');

describe('the class board', () => {
  it('counts learners per stage and offers Join while open', () => {
    const board = renderClassBoard(
      snapshot(5, (i) => (['ready', 'ready', 'building', 'degraded', 'pending'] as LabPhase[])[i] ?? 'ready'),
      { maxLength: 4096 },
    );
    const fields = board.blocks.find((block) => block.kind === 'fields');
    expect(fields && 'fields' in fields ? fields.fields : []).toEqual([
      { name: 'Joined', value: '5/200' },
      { name: 'Building', value: '1' },
      { name: 'Deploying', value: '0' },
      { name: 'Ready', value: '2' },
      { name: 'Failing', value: '1' },
      { name: 'Checks passed', value: '0' },
    ]);
    expect(board.buttons).toEqual([{ action: 'join', target: klass.classId, label: 'Join', style: 'primary' }]);
    // The learner who is stuck comes first, with the diagnosis word.
    const list = board.blocks.find((block) => block.kind === 'text' && block.text.includes(' · '));
    expect(list && 'text' in list ? list.text.split('\n')[0] : '').toMatch(/failing · CrashLoopBackOff/);
  });

  it.each([
    [3000, 200],
    [4096, 200],
  ])('folds 200 learners within %i characters, failing ones listed first', (maxLength, count) => {
    const board = renderClassBoard(
      snapshot(count, (i) => (i % 50 === 7 ? 'degraded' : 'ready')),
      { maxLength },
    );
    for (const block of board.blocks) if ('text' in block) expect(block.text.length).toBeLessThanOrEqual(3000);
    const text = textOf(board);
    expect(text).toMatch(/… and \d+ more: \d+ ready/);
    expect((text.match(/CrashLoopBackOff/g) ?? []).length).toBe(4);
  });

  it('shows the final results without a Join button once ended', () => {
    const board = renderClassBoard(
      snapshot(2, () => 'stopped', 'ended'),
      { maxLength: 4096 },
    );
    expect(board.title).toMatch(/Class ended/);
    expect(board.buttons).toBeUndefined();
  });

  it('exports one CSV row per learner with a result and a time column per check; cells cannot become formulas', () => {
    const snap = snapshot(2, () => 'ready');
    const [first] = snap.members;
    snap.members[0] = { ...first!, userId: '=HYPERLINK("x")' };
    snap.checks.set(first!.labId, {
      at,
      results: [
        { name: 'Pods ready', passed: true, firstPassedAt: at },
        { name: 'Self-heals', passed: false },
      ],
    });
    const lines = classCsv(snap, ['Pods ready', 'Self-heals'], () => '2026-11-30T08:00:12.000Z')
      .trimEnd()
      .split('\n');
    expect(lines[0]).toBe(
      'learner,lab,joined_at,seconds_to_ready,check: Pods ready,check: Pods ready (passed at),check: Self-heals,check: Self-heals (passed at),final_stage,diagnosis',
    );
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      /^"'=HYPERLINK\(""x""\)",[0-9a-f]{12},2026-11-30T08:00:00.000Z,12,passed,2026-11-30T08:00:00.000Z,failed,,ready,$/,
    );
  });
});
