import { describe, expect, it } from 'vitest';
import { createClassHelpDesk } from './class-help.js';
import { useRedisKeys } from './testing/redis-keys.js';

const db = useRedisKeys('help');
const { prefix } = db;

describe('raised hands of a class (Redis)', () => {
  it('a hand is raised once, taken by one instructor only, and lowered when done', async () => {
    const desk = createClassHelpDesk({ redis: db.redis, prefix });
    const hand = { labId: 'lab-ann', userId: 'ann', raisedAt: '2026-11-30T10:00:00.000Z', text: 'pods pending' };
    expect(await desk.raise('c1', hand)).toEqual({ outcome: 'raised', request: hand });
    expect((await desk.raise('c1', { ...hand, raisedAt: '2026-11-30T10:05:00.000Z' })).outcome).toBe('already');
    await desk.raise('c1', { labId: 'lab-ben', userId: 'ben', raisedAt: '2026-11-30T09:59:00.000Z' });
    expect((await desk.list('c1')).map((request) => request.userId)).toEqual(['ben', 'ann']);

    // Two instructors press Take at once: exactly one gets the hand.
    const [first, second] = await Promise.all([
      desk.take('c1', 'lab-ann', 'teacher-1', '2026-11-30T10:01:00.000Z'),
      desk.take('c1', 'lab-ann', 'teacher-2', '2026-11-30T10:01:00.000Z'),
    ]);
    expect([first.outcome, second.outcome].sort()).toEqual(['taken', 'taken-by-other']);
    const winner = first.outcome === 'taken' ? 'teacher-1' : 'teacher-2';
    const loser = first.outcome === 'taken' ? second : first;
    // The one who lost is told who has it.
    expect(loser.outcome === 'taken-by-other' ? loser.request.takenBy : undefined).toBe(winner);
    // Taking it again is harmless for the one who has it.
    expect((await desk.take('c1', 'lab-ann', winner, '2026-11-30T10:02:00.000Z')).outcome).toBe('taken');

    expect((await desk.done('c1', 'lab-ann'))?.takenBy).toBe(winner);
    expect(await desk.done('c1', 'lab-ann')).toBeUndefined();
    expect((await desk.take('c1', 'lab-ann', 'teacher-1', '2026-11-30T10:03:00.000Z')).outcome).toBe('none');
    expect((await desk.list('c1')).map((request) => request.userId)).toEqual(['ben']);
    expect(await desk.list('other-class')).toEqual([]);
  });
});
