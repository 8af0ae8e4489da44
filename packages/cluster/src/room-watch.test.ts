import { KubeConfig, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { waitForValue } from '@labbot/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterRoom } from './capacity.js';
import { type ClusterRoomWatch, watchClusterRoom } from './room-watch.js';
import { createMemoryRoomApi, type MemoryRoomApi } from './testing/memory-room-api.js';

const node = (name: string, pods = 10): V1Node => ({
  metadata: { name },
  status: {
    allocatable: { pods: String(pods), cpu: '2', memory: '4Gi' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});
const pod = (namespace: string, name: string, phase = 'Running', nodeName: string | undefined = 'n1'): V1Pod => ({
  metadata: { namespace, name },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
  },
  status: { phase },
});

let watch: ClusterRoomWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
});

function start(api: MemoryRoomApi, podPageSize?: number) {
  watch = watchClusterRoom(new KubeConfig(), {
    api,
    retryDelayMs: 5,
    ...(podPageSize ? { podPageSize } : {}),
  });
  return watch;
}

const freeOf = (room: ClusterRoom | undefined) => room && { pods: room.free.pods, cpu: room.free.cpuMillicores };
const becomes = (what: string, read: () => ClusterRoom | undefined, pods: number, cpu: number) =>
  waitForValue(
    what,
    () => freeOf(read()),
    (free) => free?.pods === pods && free.cpu === cpu,
    2000,
  );

describe('the cluster room watch', () => {
  it('knows nothing before its first lists, then the room left by the pods listed page by page', async () => {
    const api = createMemoryRoomApi();
    api.put('nodes', node('n1'));
    api.put('nodes', node('n2'));
    for (let index = 0; index < 5; index++) api.put('pods', pod('lab-a', `web-${index}`));
    api.put('pods', pod('lab-a', 'done', 'Succeeded'));
    const room = start(api, 2);
    expect(room.room()).toBeUndefined();
    await room.synced;
    expect(room.room()).toEqual({
      nodes: 2,
      allocatable: { pods: 20, cpuMillicores: 4000, memoryBytes: 8 * 1024 ** 3 },
      free: { pods: 15, cpuMillicores: 3500, memoryBytes: 8 * 1024 ** 3 - 5 * 64 * 1024 ** 2 },
    });
    // Three pages of running pods, the finished one left out by the field selector.
    expect(api.lists.filter((list) => list.startsWith('pods'))).toHaveLength(3);
  });

  it('follows pods added, finished and deleted, and nodes cordoned, without listing again', async () => {
    const api = createMemoryRoomApi();
    api.put('nodes', node('n1'));
    const room = start(api);
    await room.synced;
    const listed = api.lists.length;
    api.put('pods', pod('lab-a', 'web-0'));
    api.put('pods', pod('lab-a', 'web-1', 'Pending', undefined));
    await becomes('two pods take room', room.room, 8, 1800);
    api.put('pods', pod('lab-a', 'web-0', 'Succeeded'));
    await becomes('a finished pod gives its room back', room.room, 9, 1900);
    api.remove('pods', 'lab-a', 'web-1');
    await becomes('a deleted pod gives its room back', room.room, 10, 2000);
    api.put('nodes', { ...node('n1'), spec: { unschedulable: true } });
    await becomes('a cordoned node offers nothing', room.room, 0, 0);
    expect(api.lists.length).toBe(listed);
  });

  it('is right after a cut watch (resumed) and after its version is gone (re-listed, dropping what went)', async () => {
    const api = createMemoryRoomApi();
    api.put('nodes', node('n1'));
    api.put('pods', pod('lab-a', 'web-0'));
    api.put('pods', pod('lab-b', 'web-0'));
    const room = start(api);
    await room.synced;
    await becomes('two pods listed', room.room, 8, 1800);

    // Cut: what changed meanwhile is replayed from the last version seen; no new list.
    const listed = api.lists.length;
    api.cutWatches();
    api.put('pods', pod('lab-c', 'web-0'));
    await becomes('the pod made during the cut', room.room, 7, 1700);
    expect(api.lists.length).toBe(listed);

    // Cut and compacted: the watch gets 410 Gone, the informer re-lists, and the pods deleted meanwhile are gone.
    api.cutWatches();
    api.remove('pods', 'lab-a', 'web-0');
    api.put('pods', pod('lab-b', 'web-0', 'Failed'));
    api.compact();
    await becomes('only lab-c left after the re-list', room.room, 9, 1900);
    expect(api.lists.length).toBeGreaterThan(listed);
  });
});
