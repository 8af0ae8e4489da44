import { describe, expect, it } from 'vitest';
import { type CapacityReport, judgeClassCapacity } from './capacity.js';

const now = new Date('2026-01-01T10:00:00Z');
const Mi = 2 ** 20;
const report = (free: Partial<CapacityReport['free']>, observedAt = now.toISOString()): CapacityReport => ({
  observedAt,
  nodes: 1,
  allocatable: { pods: 110, cpuMillicores: 16_000, memoryBytes: 64 * 1024 * Mi },
  free: { pods: 110, cpuMillicores: 16_000, memoryBytes: 64 * 1024 * Mi, ...free },
  labs: { 'docker-vs-kubernetes': { pods: 3, cpuMillicores: 150, memoryBytes: 192 * Mi } },
});
const judge = (maxLearners: number, free: Partial<CapacityReport['free']>, observedAt?: string) =>
  judgeClassCapacity({ lessonId: 'docker-vs-kubernetes', maxLearners, report: report(free, observedAt), now });

describe('the class capacity check', () => {
  it('refuses a class that needs more pods than the nodes have room for, naming the class size that fits', () => {
    const verdict = judge(40, { pods: 87 });
    expect(verdict).toEqual({
      outcome: 'refused',
      fitsLearners: 29,
      sentence:
        'This class needs 120 pods but the cluster has room for 87 more: lower max learners to 29 or add nodes.',
    });
  });

  it('names the resource that runs out first: CPU', () => {
    const verdict = judge(40, { cpuMillicores: 3000 });
    expect(verdict.outcome).toBe('refused');
    expect(verdict.outcome === 'refused' && verdict.sentence).toBe(
      'This class needs 6 CPU but the cluster has only 3 CPU free: lower max learners to 20 or add nodes.',
    );
  });

  it('says to end labs or add nodes when not even one lab fits', () => {
    const verdict = judge(5, { memoryBytes: 100 * Mi });
    expect(verdict.outcome === 'refused' && verdict.sentence).toMatch(
      /needs 960 MiB of memory .* only 100 MiB .*: end other labs or add nodes\.$/,
    );
  });

  it('warns, without refusing, above 80% of the room', () => {
    const verdict = judge(30, { pods: 100 });
    expect(verdict.outcome).toBe('close');
    expect(verdict.outcome === 'close' && verdict.sentence).toContain('90% of the pods');
  });

  it('lets a class that fits start quietly', () => {
    expect(judge(20, {}).outcome).toBe('fits');
  });

  it('does not judge on a stale report, a missing one, or a lesson the runner did not report', () => {
    expect(judge(500, { pods: 1 }, '2026-01-01T09:00:00Z').outcome).toBe('unknown');
    expect(
      judgeClassCapacity({ lessonId: 'docker-vs-kubernetes', maxLearners: 5, report: undefined, now }).outcome,
    ).toBe('unknown');
    expect(judgeClassCapacity({ lessonId: 'other', maxLearners: 5, report: report({ pods: 1 }), now }).outcome).toBe(
      'unknown',
    );
  });
});
