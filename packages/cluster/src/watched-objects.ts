import type { V1ContainerStatus, V1Namespace, V1Pod } from '@kubernetes/client-node';
import { LAB_LABEL } from './labels.js';

// What the shared pod watch keeps of each object in its informers' caches: with 1,000 labs watched, 3,000 pods and
// 1,000 namespaces stay in the runner's memory for as long as the labs live. A pod as the API sends it is mostly
// what the watcher never reads (managedFields, the spec's security context, volumes and tolerations, every condition
// with its timestamps); client-go's informers offer the same trimming (SetTransform) for the same reason.

/**
 * A pod reduced to what `podSummary`, `diagnose` and the informer's cache read: name, namespace, resource version and
 * timestamps; each container's name and image; the phase, reason, start time, the PodScheduled condition and each
 * container's status (states, readiness, restarts). Built as a new small object, so the parsed event dies young.
 */
export function podAsWatched(pod: V1Pod): V1Pod {
  const { metadata, spec, status } = pod;
  const scheduled = status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  const containerStatus = (container: V1ContainerStatus): V1ContainerStatus => ({
    name: container.name,
    image: container.image,
    imageID: container.imageID,
    ready: container.ready,
    restartCount: container.restartCount,
    // A state is a few fields (waiting, running or terminated): kept whole.
    state: container.state,
    lastState: container.lastState,
  });
  return {
    metadata: {
      name: metadata?.name,
      namespace: metadata?.namespace,
      resourceVersion: metadata?.resourceVersion,
      creationTimestamp: metadata?.creationTimestamp,
      deletionTimestamp: metadata?.deletionTimestamp,
    },
    spec: {
      containers: (spec?.containers ?? []).map((container) => ({ name: container.name, image: container.image })),
    },
    status: {
      phase: status?.phase,
      reason: status?.reason,
      startTime: status?.startTime,
      conditions: scheduled
        ? [{ type: scheduled.type, status: scheduled.status, reason: scheduled.reason, message: scheduled.message }]
        : undefined,
      containerStatuses: status?.containerStatuses?.map(containerStatus),
      initContainerStatuses: status?.initContainerStatuses?.map(containerStatus),
    },
  };
}

/** A lab namespace reduced to what the watcher reads: its name, resource version and lab label. */
export function namespaceAsWatched(namespace: V1Namespace): V1Namespace {
  const labId = namespace.metadata?.labels?.[LAB_LABEL];
  return {
    metadata: {
      name: namespace.metadata?.name,
      resourceVersion: namespace.metadata?.resourceVersion,
      labels: labId === undefined ? undefined : { [LAB_LABEL]: labId },
    },
  };
}
