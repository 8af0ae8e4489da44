import type { V1Container, V1Node, V1Pod } from '@kubernetes/client-node';
import type { ResourceAmount } from '@labbot/core';
import { type ClusterCeilings, type LabLimits, planQuota } from './guard-rails.js';
import { cpuToMillicores, memoryToBytes } from './quantity.js';

/** The room of the cluster's schedulable nodes: their allocatable, and that minus what scheduled pods request. */
export interface ClusterRoom {
  nodes: number;
  allocatable: ResourceAmount;
  free: ResourceAmount;
}

const zero = (): ResourceAmount => ({ pods: 0, cpuMillicores: 0, memoryBytes: 0 });

function quantity(value: string | undefined, parse: (quantity: string) => number): number {
  if (value === undefined) return 0;
  try {
    return parse(value);
  } catch {
    return 0;
  }
}

/** A node takes new pods: Ready, and not cordoned. */
function schedulable(node: V1Node): boolean {
  if (node.spec?.unschedulable) return false;
  return (node.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** What a pod holds on its node, as the scheduler counts it: containers summed, an init container's peak if higher. */
export function podRequests(pod: V1Pod): ResourceAmount {
  const sum = (containers: readonly V1Container[]) => {
    let cpu = 0;
    let memory = 0;
    for (const container of containers) {
      cpu += quantity(container.resources?.requests?.['cpu'], cpuToMillicores);
      memory += quantity(container.resources?.requests?.['memory'], memoryToBytes);
    }
    return { cpu, memory };
  };
  const main = sum(pod.spec?.containers ?? []);
  let initCpu = 0;
  let initMemory = 0;
  for (const container of pod.spec?.initContainers ?? []) {
    initCpu = Math.max(initCpu, quantity(container.resources?.requests?.['cpu'], cpuToMillicores));
    initMemory = Math.max(initMemory, quantity(container.resources?.requests?.['memory'], memoryToBytes));
  }
  return { pods: 1, cpuMillicores: Math.max(main.cpu, initCpu), memoryBytes: Math.max(main.memory, initMemory) };
}

/** What the room needs of a node: whether it takes new pods, and its allocatable. */
export interface NodeRoom {
  name: string;
  schedulable: boolean;
  allocatable: ResourceAmount;
}

/** What the room needs of a pod: the node it is on (none yet: Pending), what it requests, whether it holds room. */
export interface PodRoom {
  nodeName?: string;
  requests: ResourceAmount;
  /** Not finished: a pod Succeeded or Failed holds no room on its node. */
  holdsRoom: boolean;
}

export function nodeRoom(node: V1Node): NodeRoom {
  const values = node.status?.allocatable ?? {};
  return {
    name: node.metadata?.name ?? '',
    schedulable: schedulable(node),
    allocatable: {
      pods: Math.floor(quantity(values['pods'], Number)),
      cpuMillicores: quantity(values['cpu'], cpuToMillicores),
      memoryBytes: quantity(values['memory'], memoryToBytes),
    },
  };
}

export function podRoom(pod: V1Pod): PodRoom {
  const phase = pod.status?.phase;
  return {
    ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
    requests: podRequests(pod),
    holdsRoom: phase !== 'Succeeded' && phase !== 'Failed',
  };
}

/** Sums the schedulable nodes' allocatable and subtracts what the pods placed (or to be placed) on them request. */
export function roomOfSummaries(nodes: Iterable<NodeRoom>, pods: Iterable<PodRoom>): ClusterRoom {
  const allocatable = zero();
  const names = new Set<string>();
  for (const node of nodes) {
    if (!node.schedulable) continue;
    names.add(node.name);
    allocatable.pods += node.allocatable.pods;
    allocatable.cpuMillicores += node.allocatable.cpuMillicores;
    allocatable.memoryBytes += node.allocatable.memoryBytes;
  }
  const used = zero();
  for (const pod of pods) {
    if (!pod.holdsRoom) continue;
    // A pod the scheduler has not placed yet will take room too: count it wherever it lands.
    if (pod.nodeName && !names.has(pod.nodeName)) continue;
    used.pods += pod.requests.pods;
    used.cpuMillicores += pod.requests.cpuMillicores;
    used.memoryBytes += pod.requests.memoryBytes;
  }
  return {
    nodes: names.size,
    allocatable,
    free: {
      pods: Math.max(0, allocatable.pods - used.pods),
      cpuMillicores: Math.max(0, allocatable.cpuMillicores - used.cpuMillicores),
      memoryBytes: Math.max(0, allocatable.memoryBytes - used.memoryBytes),
    },
  };
}

/** Sums the nodes' allocatable and subtracts what the pods scheduled on them request (pure). */
export function roomOf(nodes: readonly V1Node[], pods: readonly V1Pod[]): ClusterRoom {
  return roomOfSummaries(nodes.map(nodeRoom), pods.map(podRoom));
}

/**
 * What one lab of a lesson requests once running: its replicas, each with the requests the lab's LimitRange
 * gives a container that sets none (the lesson's templates set none), within the operator's ceilings.
 */
export function labRequests(limits: LabLimits & { replicas: number }, ceilings: ClusterCeilings): ResourceAmount {
  const plan = planQuota(limits, ceilings);
  return {
    pods: limits.replicas,
    cpuMillicores: Math.min(plan.podCpuRequestMillicores * limits.replicas, plan.requestsCpuMillicores),
    memoryBytes: Math.min(plan.podMemoryRequestBytes * limits.replicas, plan.requestsMemoryBytes),
  };
}
