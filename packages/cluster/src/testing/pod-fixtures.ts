import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';

// Objects shaped like what the Kubernetes API returns (JSON from `kubectl get pod -o json`, trimmed), with
// timestamps as strings, as watch events deliver them.

const created = '2026-11-25T13:00:00Z';

function pod(name: string, status: Record<string, unknown>, extra: Record<string, unknown> = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'lab-0123456789ab',
      uid: `uid-${name}`,
      resourceVersion: '1042',
      creationTimestamp: created,
      labels: { app: 'hello', 'labbot.dev/lab': '0123456789ab', 'pod-template-hash': '7d9f8b6c5' },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'hello-7d9f8b6c5', uid: 'rs-uid', controller: true },
      ],
      ...extra,
    },
    spec: {
      containers: [{ name: 'hello', image: 'labbot/docker-vs-kubernetes:3f2a9c', imagePullPolicy: 'IfNotPresent' }],
      restartPolicy: 'Always',
      nodeName: 'kube-sim-node',
      serviceAccountName: 'lab-learner',
    },
    status: { startTime: created, ...status },
  } as unknown as V1Pod;
}

export function runningPod(name = 'hello-7d9f8b6c5-abcde'): V1Pod {
  return pod(name, {
    phase: 'Running',
    podIP: '10.0.0.12',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastTransitionTime: created },
      { type: 'Ready', status: 'True', lastTransitionTime: created },
    ],
    containerStatuses: [
      {
        name: 'hello',
        image: 'labbot/docker-vs-kubernetes:3f2a9c',
        imageID: 'docker://sha256:aa',
        containerID: 'docker://c1',
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: created } },
      },
    ],
  });
}

/** A container that printed its greeting and exited 0, restarted by the Deployment until back-off. */
export function crashLoopExitZeroPod(name = 'hello-7d9f8b6c5-crash'): V1Pod {
  return pod(name, {
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
    containerStatuses: [
      {
        name: 'hello',
        image: 'labbot/docker-vs-kubernetes:3f2a9c',
        imageID: 'docker://sha256:aa',
        containerID: 'docker://c2',
        ready: false,
        started: false,
        restartCount: 4,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message:
              'back-off 1m20s restarting failed container=hello pod=hello-7d9f8b6c5-crash_lab-0123456789ab(uid-hello)',
          },
        },
        lastState: {
          terminated: {
            exitCode: 0,
            reason: 'Completed',
            startedAt: '2026-11-25T13:01:00Z',
            finishedAt: '2026-11-25T13:01:00Z',
            containerID: 'docker://c2',
          },
        },
      },
    ],
  });
}

export function crashLoopErrorPod(name = 'hello-7d9f8b6c5-fails'): V1Pod {
  const base = crashLoopExitZeroPod(name);
  const status = base.status?.containerStatuses?.[0];
  if (status?.lastState?.terminated) {
    status.lastState.terminated.exitCode = 1;
    status.lastState.terminated.reason = 'Error';
  }
  return base;
}

/** Exited once, restarted, not yet in back-off: Completed with restarts. */
export function completedOncePod(name = 'hello-7d9f8b6c5-done1'): V1Pod {
  return pod(name, {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'hello',
        image: 'labbot/docker-vs-kubernetes:3f2a9c',
        ready: false,
        restartCount: 1,
        state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: '2026-11-25T13:00:05Z' } },
      },
    ],
  });
}

export function imagePullBackOffPod(name = 'hello-7d9f8b6c5-nopull', reason = 'ImagePullBackOff'): V1Pod {
  const image = 'labbot/does-not-exist:1';
  const result = pod(name, {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    containerStatuses: [
      {
        name: 'hello',
        image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason, message: `Back-off pulling image "${image}"` } },
      },
    ],
  });
  const container = result.spec?.containers[0];
  if (container) container.image = image;
  return result;
}

export function oomKilledPod(name = 'hello-7d9f8b6c5-oom'): V1Pod {
  return pod(name, {
    phase: 'Running',
    containerStatuses: [
      {
        name: 'hello',
        image: 'labbot/docker-vs-kubernetes:3f2a9c',
        ready: false,
        restartCount: 2,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' } },
        lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
      },
    ],
  });
}

export function unschedulablePod(name = 'hello-7d9f8b6c5-pend'): V1Pod {
  return pod(name, {
    phase: 'Pending',
    conditions: [
      {
        type: 'PodScheduled',
        status: 'False',
        reason: 'Unschedulable',
        message: '0/1 nodes are available: 1 Insufficient memory.',
        lastTransitionTime: created,
      },
    ],
  });
}

export function containerCreatingPod(name = 'hello-7d9f8b6c5-new'): V1Pod {
  return pod(name, {
    phase: 'Pending',
    containerStatuses: [
      {
        name: 'hello',
        image: 'labbot/docker-vs-kubernetes:3f2a9c',
        ready: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
      },
    ],
  });
}

export function terminatingPod(name = 'hello-7d9f8b6c5-bye'): V1Pod {
  const result = runningPod(name);
  if (result.metadata) result.metadata.deletionTimestamp = '2026-11-25T13:05:00Z' as unknown as Date;
  return result;
}

export function event(reason: string, message: string, kind: string, name: string, at = created): CoreV1Event {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${name}.17a${reason.length}`, namespace: 'lab-0123456789ab' },
    involvedObject: { apiVersion: 'apps/v1', kind, name, namespace: 'lab-0123456789ab' },
    reason,
    message,
    type: 'Warning',
    count: 3,
    firstTimestamp: at,
    lastTimestamp: at,
    source: { component: 'replicaset-controller' },
  } as unknown as CoreV1Event;
}

export const quotaEvent = (at?: string) =>
  event(
    'FailedCreate',
    'Error creating: pods "hello-7d9f8b6c5-x2x9k" is forbidden: exceeded quota: labbot-quota, requested: pods=1, used: pods=4, limited: pods=4',
    'ReplicaSet',
    'hello-7d9f8b6c5',
    at,
  );

export const podSecurityEvent = (at?: string) =>
  event(
    'FailedCreate',
    'Error creating: pods "hello-7d9f8b6c5-q8w7e" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "hello" must set securityContext.allowPrivilegeEscalation=false)',
    'ReplicaSet',
    'hello-7d9f8b6c5',
    at,
  );
