import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { labRequests, roomOf } from './capacity.js';

const node = (name: string, pods: string, extra: Partial<V1Node> = {}): V1Node => ({
  metadata: { name },
  status: {
    allocatable: { pods, cpu: '4', memory: '8Gi' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
  ...extra,
});
const pod = (nodeName: string | undefined, cpu?: string, memory?: string, phase = 'Running'): V1Pod => ({
  metadata: { name: 'p' },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    containers: [{ name: 'c', ...(cpu ? { resources: { requests: { cpu, ...(memory ? { memory } : {}) } } } : {}) }],
  },
  status: { phase },
});

describe("the cluster's room", () => {
  it("sums the schedulable nodes' allocatable and subtracts what live pods request", () => {
    const room = roomOf(
      [
        node('a', '110'),
        node('b', '110'),
        node('cordoned', '110', { spec: { unschedulable: true } }),
        node('not-ready', '110', {
          status: { allocatable: { pods: '110' }, conditions: [{ type: 'Ready', status: 'False' }] },
        }),
      ],
      [
        pod('a', '250m', '64Mi'),
        pod('b', '1'),
        pod(undefined, '50m'),
        pod('a', '2', '1Gi', 'Succeeded'),
        pod('cordoned', '1'),
      ],
    );
    expect(room.nodes).toBe(2);
    expect(room.allocatable).toEqual({ pods: 220, cpuMillicores: 8000, memoryBytes: 16 * 2 ** 30 });
    // Pending (no node yet) counts; a finished pod and one on an unschedulable node do not.
    expect(room.free).toEqual({ pods: 217, cpuMillicores: 8000 - 1300, memoryBytes: 16 * 2 ** 30 - 64 * 2 ** 20 });
  });

  it("a lab of a lesson requests its replicas with the LimitRange's default requests", () => {
    expect(
      labRequests({ cpu: '100m', memory: '64Mi', pods: 3, replicas: 3 }, { cpu: '2', memory: '2Gi', pods: 20 }),
    ).toEqual({ pods: 3, cpuMillicores: 150, memoryBytes: 3 * 64 * 2 ** 20 });
  });
});
