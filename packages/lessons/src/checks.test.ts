import type { PodSummary } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { checkPasses, checkTitle, evaluateChecks } from './checks.js';
import { getLesson } from './loader.js';

const pod = (name: string, ready = true): PodSummary => ({
  name,
  phase: ready ? 'Running' : 'Pending',
  ready,
  readyContainers: ready ? 1 : 0,
  totalContainers: 1,
  restarts: 0,
});
const three = [pod('hello-a'), pod('hello-b'), pod('hello-c')];
const GREETING = 'Hello from inside the Docker container!';

describe('checks of the built-in lesson', () => {
  it('all fail with hints on a fresh lab, all pass once it is ready and healed', async () => {
    const lesson = await getLesson('docker-vs-kubernetes');
    const fresh = evaluateChecks(lesson, { pods: [] });
    expect(fresh.map((r) => r.passed)).toEqual([false, false, false]);
    expect(fresh.every((r) => typeof r.hint === 'string' && r.hint.length > 0)).toBe(true);
    const done = evaluateChecks(lesson, {
      pods: [pod('hello-a'), pod('hello-b'), pod('hello-d')],
      containerOutput: `${GREETING}\n`,
      desiredReplicas: 3,
      deletedPods: ['hello-c'],
    });
    expect(done).toEqual([
      { name: 'The container said hello', passed: true },
      { name: '3 pods of hello are ready', passed: true },
      { name: 'Kubernetes replaced a deleted pod', passed: true },
    ]);
  });
});

describe('checkPasses', () => {
  it('podsReady counts ready pods only', () => {
    const check = { kind: 'podsReady', deployment: 'hello', count: 3, hint: 'h' } as const;
    expect(checkPasses(check, { pods: [...three.slice(0, 2), pod('hello-x', false)] })).toBe(false);
    expect(checkPasses(check, { pods: three })).toBe(true);
  });

  it('selfHeals needs a deleted pod that is gone and the replicas back', () => {
    const check = { kind: 'selfHeals', hint: 'h' } as const;
    expect(checkPasses(check, { pods: three, desiredReplicas: 3 })).toBe(false);
    expect(checkPasses(check, { pods: three, desiredReplicas: 3, deletedPods: ['hello-a'] })).toBe(false);
    expect(checkPasses(check, { pods: three.slice(1), desiredReplicas: 3, deletedPods: ['hello-a'] })).toBe(false);
    expect(
      checkPasses(check, { pods: [...three.slice(1), pod('hello-z')], desiredReplicas: 3, deletedPods: ['hello-a'] }),
    ).toBe(true);
  });

  it('replicas needs the Deployment scaled to the count and that many ready', () => {
    const check = { kind: 'replicas', count: 2, hint: 'h' } as const;
    expect(checkPasses(check, { pods: three, desiredReplicas: 3 })).toBe(false);
    expect(checkPasses(check, { pods: three, desiredReplicas: 2 })).toBe(false);
    expect(checkPasses(check, { pods: three.slice(0, 2), desiredReplicas: 2 })).toBe(true);
    expect(checkTitle(check)).toBe('The deployment runs 2 replicas');
  });
});
