import type { PodSummary } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { evaluateChecks } from '../checks.js';
import { getLesson } from '../loader.js';

const V1 = 'labbot/rolling-update:v1hash';
const V2 = 'labbot/rolling-update:v2hash';
const images = { 'rolling-update:v1': V1, 'rolling-update:v2': V2 };
const pod = (name: string, image: string, ready = true): PodSummary => ({
  name,
  phase: 'Running',
  ready,
  readyContainers: ready ? 1 : 0,
  totalContainers: 1,
  restarts: 0,
  image,
});

describe('the rolling-update checks', () => {
  it('a rollout to v2 passes only once no v1 pod is left and every replica is ready', async () => {
    const lesson = await getLesson('rolling-update');
    const midway = evaluateChecks(lesson, {
      pods: [pod('web-a', V1), pod('web-b', V2), pod('web-c', V2), pod('web-d', V2, false)],
      desiredReplicas: 4,
      images,
    });
    expect(midway[1]).toMatchObject({ name: 'Web rolled out on image v2 with every replica ready', passed: false });
    expect(midway[1]?.hint).toMatch(/rolling-update:v2/);
    const done = evaluateChecks(lesson, {
      pods: ['a', 'b', 'c', 'd'].map((name) => pod(`web-${name}`, V2)),
      desiredReplicas: 4,
      images,
    });
    expect(done.map((result) => result.passed)).toEqual([true, true, false]);
  });

  it('an undo counts only when it ran and the pods are back on v1', async () => {
    const lesson = await getLesson('rolling-update');
    const backOnV1 = ['a', 'b', 'c', 'd'].map((name) => pod(`web-${name}`, V1));
    expect(evaluateChecks(lesson, { pods: backOnV1, desiredReplicas: 4, images })[2]?.passed).toBe(false);
    const undone = evaluateChecks(lesson, { pods: backOnV1, desiredReplicas: 4, images, rollbacks: 1 });
    expect(undone[2]).toEqual({ name: 'An undo rolled web back to image v1', passed: true });
    expect(undone[1]?.passed).toBe(false);
    // The v2 rollout still counts after the undo when it had finished before it.
    const after = evaluateChecks(lesson, {
      pods: backOnV1,
      desiredReplicas: 4,
      images,
      rollbacks: 1,
      undoneRollouts: [V2],
    });
    expect(after.map((result) => result.passed)).toEqual([true, true, true]);
    expect(evaluateChecks(lesson, { pods: backOnV1, desiredReplicas: 4, images: {}, rollbacks: 1 })[2]?.passed).toBe(
      false,
    );
  });
});
