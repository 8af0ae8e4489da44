import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rolloutStatus } from './kubectl.js';
import { describePod, formatEventTable, formatPodTable, humanAge } from './kubectl-format.js';
import { crashLoopExitZeroPod, event, runningPod } from './testing/pod-fixtures.js';

const now = new Date('2026-11-25T13:05:00Z');

describe('kubectl text', () => {
  it('prints ages like kubectl', () => {
    expect(humanAge(45_000)).toBe('45s');
    expect(humanAge(119_000)).toBe('119s');
    expect(humanAge(5 * 60_000 + 3_000)).toBe('5m3s');
    expect(humanAge(45 * 60_000)).toBe('45m');
    expect(humanAge((3 * 60 + 5) * 60_000)).toBe('3h5m');
    expect(humanAge(26 * 3_600_000)).toBe('26h');
    expect(humanAge((3 * 24 + 4) * 3_600_000)).toBe('3d4h');
  });

  it('prints the pod table with aligned columns', () => {
    const table = formatPodTable([runningPod('hello-7d9f8b6c5-abcde'), crashLoopExitZeroPod('hello-x')], now);
    expect(table).toBe(
      [
        'NAME                    READY   STATUS             RESTARTS   AGE',
        'hello-7d9f8b6c5-abcde   1/1     Running            0          5m',
        'hello-x                 0/1     CrashLoopBackOff   4          5m',
      ].join('\n'),
    );
    expect(formatPodTable([], now)).toBe('No resources found.');
  });

  it('prints events oldest first with the object they are about', () => {
    const table = formatEventTable(
      [
        event('BackOff', 'Back-off restarting failed container', 'Pod', 'hello-x', '2026-11-25T13:04:30Z'),
        event('Scheduled', 'Successfully assigned', 'Pod', 'hello-x', '2026-11-25T13:00:00Z'),
      ],
      now,
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^5m\s+Warning\s+Scheduled\s+pod\/hello-x\s+Successfully assigned$/);
    expect(lines[2]).toMatch(/^30s\s+Warning\s+BackOff/);
  });

  it('describes a crash-looping pod with its last state', () => {
    const text = describePod(crashLoopExitZeroPod('hello-x'), [], now);
    expect(text).toContain('Status:       CrashLoopBackOff');
    expect(text).toContain('Last State:   Terminated (Completed, exit code 0)');
    expect(text).toContain('Events:  <none>');
  });

  it('reports rollout progress like kubectl rollout status', () => {
    const deployment = (status: V1Deployment['status'], generation = 1): V1Deployment => ({
      metadata: { name: 'hello', generation },
      spec: { replicas: 3, selector: {}, template: {} },
      status,
    });
    expect(rolloutStatus(deployment({ observedGeneration: 0 })).message).toBe(
      'Waiting for deployment spec update to be observed...',
    );
    expect(
      rolloutStatus(deployment({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 1 })),
    ).toEqual({
      done: false,
      message: 'Waiting for deployment "hello" rollout to finish: 1 of 3 updated replicas are available...',
    });
    expect(
      rolloutStatus(deployment({ observedGeneration: 1, updatedReplicas: 3, replicas: 3, availableReplicas: 3 })),
    ).toEqual({ done: true, message: 'deployment "hello" successfully rolled out' });
  });
});
