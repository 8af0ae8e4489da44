import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { diagnose } from './diagnose.js';
import { podSummary } from './pod-summary.js';
import {
  completedOncePod,
  containerCreatingPod,
  crashLoopErrorPod,
  crashLoopExitZeroPod,
  imagePullBackOffPod,
  oomKilledPod,
  runningPod,
  terminatingPod,
  unschedulablePod,
} from './testing/pod-fixtures.js';
import { namespaceAsWatched, podAsWatched } from './watched-objects.js';

const fixtures: Record<string, () => V1Pod> = {
  running: () => runningPod(),
  'crash loop, exit 0': () => crashLoopExitZeroPod(),
  'crash loop, error': () => crashLoopErrorPod(),
  'completed once': () => completedOncePod(),
  'image pull back-off': () => imagePullBackOffPod(),
  'OOM killed': () => oomKilledPod(),
  unschedulable: () => unschedulablePod(),
  'container creating': () => containerCreatingPod(),
  terminating: () => terminatingPod(),
};

/** A pod as a real API server sends it: managedFields, a full spec and every condition, which the watch drops. */
function asSentByTheApi(pod: V1Pod): V1Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
    },
    spec: {
      ...pod.spec,
      containers: (pod.spec?.containers ?? []).map((container) => ({
        ...container,
        securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        resources: { limits: { cpu: '500m', memory: '128Mi' } },
      })),
      tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' }],
    },
    status: {
      ...pod.status,
      conditions: [
        ...(pod.status?.conditions ?? []),
        { type: 'Initialized', status: 'True' },
        { type: 'ContainersReady', status: 'True' },
      ],
    },
  } as V1Pod;
}

describe('podAsWatched', () => {
  for (const [name, make] of Object.entries(fixtures)) {
    it(`keeps what a thread shows of a pod: ${name} (same summary and diagnosis)`, () => {
      const pod = asSentByTheApi(make());
      const watched = podAsWatched(pod);
      expect(podSummary(watched)).toEqual(podSummary(pod));
      expect(diagnose([watched])).toEqual(diagnose([pod]));
      expect(diagnose([watched, podAsWatched(runningPod('other'))])).toEqual(diagnose([pod, runningPod('other')]));
    });
  }

  it('drops what the watcher never reads, and keeps the cache keys', () => {
    const watched = podAsWatched(asSentByTheApi(runningPod('web-1')));
    expect(watched.metadata).toMatchObject({ name: 'web-1', namespace: 'lab-0123456789ab', resourceVersion: '1042' });
    expect(watched.metadata?.managedFields).toBeUndefined();
    expect(watched.metadata?.labels).toBeUndefined();
    expect(watched.spec).toEqual({ containers: [{ name: 'hello', image: 'labbot/docker-vs-kubernetes:3f2a9c' }] });
    expect(watched.status?.conditions?.map((condition) => condition.type)).toEqual(['PodScheduled']);
  });
});

describe('namespaceAsWatched', () => {
  it('keeps the name, resource version and lab label only', () => {
    const namespace: V1Namespace = {
      metadata: {
        name: 'lab-0123456789ab',
        resourceVersion: '7',
        labels: { 'labbot.dev/lab': '0123456789ab', 'app.kubernetes.io/managed-by': 'labbot' },
        annotations: { 'labbot.dev/expires-at': '2026-11-25T15:00:00Z' },
        managedFields: [{ manager: 'labbot', operation: 'Apply' }],
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    expect(namespaceAsWatched(namespace)).toEqual({
      metadata: { name: 'lab-0123456789ab', resourceVersion: '7', labels: { 'labbot.dev/lab': '0123456789ab' } },
    });
  });
});
