import { DiagnosisSchema } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { diagnose } from './diagnose.js';
import {
  completedOncePod,
  containerCreatingPod,
  crashLoopErrorPod,
  crashLoopExitZeroPod,
  imagePullBackOffPod,
  oomKilledPod,
  podSecurityEvent,
  quotaEvent,
  runningPod,
  terminatingPod,
  unschedulablePod,
} from './testing/pod-fixtures.js';

const now = new Date('2026-11-25T13:01:00Z');

describe('diagnose', () => {
  it('says nothing when every pod runs, or pods are still starting', () => {
    expect(diagnose([runningPod('a'), runningPod('b'), runningPod('c')], [], { now })).toBeUndefined();
    expect(diagnose([containerCreatingPod()], [], { now })).toBeUndefined();
    expect(diagnose([], [], { now })).toBeUndefined();
  });

  it('explains a CrashLoopBackOff of a process that exits 0: a Deployment restarts what ends', () => {
    const diagnosis = diagnose([runningPod(), crashLoopExitZeroPod()], [], { now });
    expect(diagnosis?.reason).toBe('CrashLoopBackOff');
    expect(diagnosis?.pod).toBe('hello-7d9f8b6c5-crash');
    expect(diagnosis?.summary).toMatch(/exit code 0/);
    expect(diagnosis?.summary).toMatch(/Deployment/);
    expect(diagnosis?.hint).toMatch(/long-running process/);
    expect(DiagnosisSchema.parse(diagnosis)).toEqual(diagnosis);
  });

  it('already diagnoses the crash loop after the first exit and restart', () => {
    expect(diagnose([completedOncePod()], [], { now })?.reason).toBe('CrashLoopBackOff');
  });

  it('points a failing process (non-zero exit) at its logs', () => {
    const diagnosis = diagnose([crashLoopErrorPod()], [], { now });
    expect(diagnosis?.reason).toBe('CrashLoopBackOff');
    expect(diagnosis?.summary).toMatch(/exit code 1/);
    expect(diagnosis?.hint).toContain('/lab kubectl logs hello-7d9f8b6c5-fails');
  });

  it('names the image that cannot be pulled (ImagePullBackOff and ErrImagePull)', () => {
    for (const reason of ['ImagePullBackOff', 'ErrImagePull']) {
      const diagnosis = diagnose([imagePullBackOffPod('p', reason)], [], { now });
      expect(diagnosis?.reason).toBe('ImagePullBackOff');
      expect(diagnosis?.summary).toContain('labbot/does-not-exist:1');
      expect(diagnosis?.summary).toContain(reason);
    }
  });

  it('prefers OOMKilled over the CrashLoopBackOff it causes', () => {
    const diagnosis = diagnose([oomKilledPod()], [], { now });
    expect(diagnosis?.reason).toBe('OOMKilled');
    expect(diagnosis?.summary).toMatch(/memory/);
  });

  it('reads quota refusals from the ReplicaSet FailedCreate events', () => {
    const diagnosis = diagnose([runningPod('a'), runningPod('b')], [quotaEvent('2026-11-25T13:00:30Z')], { now });
    expect(diagnosis?.reason).toBe('PendingQuota');
    expect(diagnosis?.summary).toContain('exceeded quota');
    expect(diagnosis?.hint).toMatch(/scale/);
  });

  it('ignores refusal events older than the recency window', () => {
    expect(diagnose([runningPod()], [quotaEvent('2026-11-25T12:00:00Z')], { now })).toBeUndefined();
  });

  it('explains a Pod Security refusal with what the API said', () => {
    const diagnosis = diagnose([], [podSecurityEvent('2026-11-25T13:00:50Z')], { now });
    expect(diagnosis?.reason).toBe('PodSecurity');
    expect(diagnosis?.summary).toContain('allowPrivilegeEscalation');
    expect(diagnosis?.pod).toBeUndefined();
  });

  it('explains Pending pods no node has room for', () => {
    const diagnosis = diagnose([unschedulablePod()], [], { now });
    expect(diagnosis?.reason).toBe('PendingResources');
    expect(diagnosis?.summary).toContain('Insufficient memory');
  });

  it('says in plain words that the cluster is full when every node has its most pods (Too many pods)', () => {
    const full = unschedulablePod();
    const condition = full.status?.conditions?.[0];
    if (condition) condition.message = '0/8 nodes are available: 8 Too many pods.';
    const diagnosis = diagnose([full], [], { now });
    expect(diagnosis?.reason).toBe('ClusterFull');
    expect(diagnosis?.summary).toMatch(/^The cluster is full: no node has room for your pods/);
    expect(diagnosis?.summary).toContain('8 Too many pods');
    expect(diagnosis?.pod).toBe('hello-7d9f8b6c5-pend');
  });

  it('reports a container that cannot start or stopped with an error before any restart', () => {
    const configError = containerCreatingPod('cfg');
    const status = configError.status?.containerStatuses?.[0];
    if (status?.state?.waiting) {
      status.state.waiting.reason = 'CreateContainerConfigError';
      status.state.waiting.message = 'container has runAsNonRoot and image has non-numeric user (app)';
    }
    const diagnosis = diagnose([configError], [], { now });
    expect(diagnosis?.reason).toBe('ContainerError');
    expect(diagnosis?.summary).toContain('non-numeric user');
    expect(diagnosis?.hint).toContain('describe pod cfg');

    const failed = containerCreatingPod('failed');
    const failedStatus = failed.status?.containerStatuses?.[0];
    if (failedStatus) failedStatus.state = { terminated: { exitCode: 2, reason: 'Error' } };
    expect(diagnose([failed], [], { now })).toMatchObject({ reason: 'ContainerError', pod: 'failed' });
    expect(diagnose([failed], [], { now })?.summary).toContain('exit code 2');
  });

  it('ignores pods that are being deleted', () => {
    const crashing = crashLoopExitZeroPod();
    if (crashing.metadata) crashing.metadata.deletionTimestamp = new Date(now);
    expect(diagnose([crashing, terminatingPod()], [], { now })).toBeUndefined();
  });
});
