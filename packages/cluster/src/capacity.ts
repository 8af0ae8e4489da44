import { CoreV1Api, type KubeConfig, type V1Container, type V1Node, type V1Pod } from '@kubernetes/client-node';
import type { ResourceAmount } from '@labbot/core';
import { toClusterError } from './cluster-errors.js';
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

/** The schedulable nodes' names and summed allocatable. */
function allocatableOf(nodes: readonly V1Node[]): { names: Set<string>; allocatable: ResourceAmount } {
  const allocatable = zero();
  const names = new Set<string>();
  for (const node of nodes) {
    if (!schedulable(node)) continue;
    names.add(node.metadata?.name ?? '');
    const values = node.status?.allocatable ?? {};
    allocatable.pods += Math.floor(quantity(values['pods'], Number));
    allocatable.cpuMillicores += quantity(values['cpu'], cpuToMillicores);
    allocatable.memoryBytes += quantity(values['memory'], memoryToBytes);
  }
  return { names, allocatable };
}

/** Adds to `used` what the pods placed (or to be placed) on those nodes request. */
function addRequests(used: ResourceAmount, nodeNames: ReadonlySet<string>, pods: readonly V1Pod[]): void {
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    // A pod the scheduler has not placed yet will take room too: count it wherever it lands.
    if (pod.spec?.nodeName && !nodeNames.has(pod.spec.nodeName)) continue;
    const requests = podRequests(pod);
    used.pods += requests.pods;
    used.cpuMillicores += requests.cpuMillicores;
    used.memoryBytes += requests.memoryBytes;
  }
}

function roomLeft(nodes: number, allocatable: ResourceAmount, used: ResourceAmount): ClusterRoom {
  return {
    nodes,
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
  const { names, allocatable } = allocatableOf(nodes);
  const used = zero();
  addRequests(used, names, pods);
  return roomLeft(names.size, allocatable, used);
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

/** Pods per page of the capacity read: its memory is one page of pods at a time, not every pod of the cluster. */
const POD_PAGE_SIZE = 500;

/**
 * Reads the room of the cluster: nodes (cluster-scoped, read-only) and the requests of every pod still running or
 * to run (finished pods hold no room), a page at a time: the runner does this every 15 s, and with 1,000 labs the
 * cluster has over 3,000 pods, whose whole list alone raised the watching runner's RSS by ~100 MB before a GC.
 */
export async function readClusterRoom(
  kubeConfig: KubeConfig,
  options: { podPageSize?: number } = {},
): Promise<ClusterRoom> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  try {
    const { names, allocatable } = allocatableOf((await core.listNode()).items);
    const used = zero();
    let page: string | undefined;
    do {
      const pods = await core.listPodForAllNamespaces({
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
        limit: options.podPageSize ?? POD_PAGE_SIZE,
        ...(page ? { _continue: page } : {}),
      });
      addRequests(used, names, pods.items);
      page = pods.metadata?._continue || undefined;
    } while (page);
    return roomLeft(names.size, allocatable, used);
  } catch (error) {
    throw toClusterError(error, 'read the cluster capacity');
  }
}
