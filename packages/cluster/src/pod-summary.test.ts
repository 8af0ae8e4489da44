import { PodSummarySchema } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { labIdOfPod, podStatusText, podSummary } from './pod-summary.js';
import {
  completedOncePod,
  containerCreatingPod,
  crashLoopExitZeroPod,
  imagePullBackOffPod,
  runningPod,
  terminatingPod,
} from './testing/pod-fixtures.js';

describe('podSummary', () => {
  it('summarises a ready pod in core PodSummary shape', () => {
    const summary = podSummary(runningPod('hello-1'));
    expect(summary).toEqual({
      name: 'hello-1',
      phase: 'Running',
      ready: true,
      readyContainers: 1,
      totalContainers: 1,
      restarts: 0,
      startedAt: '2026-11-25T13:00:00.000Z',
      image: 'labbot/docker-vs-kubernetes:3f2a9c',
    });
    expect(PodSummarySchema.parse(summary)).toEqual(summary);
    expect(labIdOfPod(runningPod())).toBe('0123456789ab');
  });

  it('carries the kubectl STATUS as reason and the waiting message', () => {
    const summary = podSummary(crashLoopExitZeroPod());
    expect(summary.reason).toBe('CrashLoopBackOff');
    expect(summary.restarts).toBe(4);
    expect(summary.ready).toBe(false);
    expect(summary.message).toMatch(/back-off/);
    expect(PodSummarySchema.parse(summary)).toEqual(summary);
  });

  it('matches kubectl STATUS for starting, pulling, completed and terminating pods', () => {
    expect(podStatusText(containerCreatingPod())).toBe('ContainerCreating');
    expect(podStatusText(imagePullBackOffPod())).toBe('ImagePullBackOff');
    expect(podStatusText(completedOncePod())).toBe('Completed');
    expect(podStatusText(terminatingPod())).toBe('Terminating');
    expect(podSummary(terminatingPod()).ready).toBe(false);
  });

  it('accepts Date timestamps (typed client) as well as strings (watch events)', () => {
    const pod = runningPod();
    if (pod.status) pod.status.startTime = new Date('2026-11-25T13:00:00Z');
    expect(podSummary(pod).startedAt).toBe('2026-11-25T13:00:00.000Z');
  });
});
