import {
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Node,
  type V1Pod,
  type Watch,
} from '@kubernetes/client-node';
import type { Logger } from '@labbot/config';
import type { LabbotError } from '@labbot/core';
import { type ClusterRoom, type NodeRoom, nodeRoom, type PodRoom, podRoom, roomOfSummaries } from './capacity.js';
import { createInformerGroup, type InformerListQuery } from './informers.js';

/** Pods that hold room: the API server leaves out finished pods, and tells a watch (DELETED) when one finishes. */
export const ROOM_POD_FIELD_SELECTOR = 'status.phase!=Succeeded,status.phase!=Failed';

/** Pods per page of the room watch's (re-)list: its memory is one page of full pods at a time, then small copies. */
const POD_PAGE_SIZE = 500;

/** What the room watch caches of a pod: its key and version for the informer, and what it takes on its node. */
interface RoomPodObject extends KubernetesObject {
  room: PodRoom;
}

/** What the room watch caches of a node: its key and version for the informer, and what it offers. */
interface RoomNodeObject extends KubernetesObject {
  room: NodeRoom;
}

const keyOf = (object: KubernetesObject) => ({
  name: object.metadata?.name,
  namespace: object.metadata?.namespace,
  resourceVersion: object.metadata?.resourceVersion,
});

/** The API calls of the room watch: the kubeconfig's in production, an in-memory cluster in unit tests. */
export interface ClusterRoomApi {
  listPods(query: InformerListQuery): Promise<KubernetesListObject<V1Pod>>;
  listNodes(query: InformerListQuery): Promise<KubernetesListObject<V1Node>>;
  /** The watch client (events of `/api/v1/pods` and `/api/v1/nodes`). */
  watch?: Watch;
}

export interface ClusterRoomWatchOptions {
  /** A watch or list failure; the watch keeps retrying with back-off until stopped (the last room stays known). */
  onError?(error: LabbotError): void;
  /** First retry delay after a failure (doubles up to 30 s). Default 1 s. */
  retryDelayMs?: number;
  /** Pods per page of a list (default 500). */
  podPageSize?: number;
  /** Default: the kubeconfig's CoreV1Api and watch. */
  api?: ClusterRoomApi;
}

export interface ClusterRoomWatch {
  /** Resolves once nodes and pods were listed once. */
  readonly synced: Promise<void>;
  /** The room now, from the watched state (no API request); undefined until synced. */
  room(): ClusterRoom | undefined;
  stop(): Promise<void>;
}

/**
 * The cluster's room, kept by a list+watch of nodes and of the pods that hold room (client-go informer style, the
 * same informer loop as the lab pod watch), each cached as only what the room needs: a node's allocatable and
 * whether it takes pods, a pod's node and summed requests. The runner reads it every 15 s for the class capacity
 * check; listing every pod of the cluster that often (3,000+ full pods with 1,000 labs) kept regrowing V8's young
 * generation of a runner that otherwise sat idle.
 */
export function watchClusterRoom(
  kubeConfig: KubeConfig,
  options: ClusterRoomWatchOptions = {},
  logger?: Logger,
): ClusterRoomWatch {
  const api = options.api ?? coreRoomApi(kubeConfig);
  const informers = createInformerGroup(
    kubeConfig,
    {
      failureMessage: 'cluster room watch failed; retrying',
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
      ...(api.watch ? { watch: api.watch } : {}),
    },
    logger,
  );
  const nodes = informers.add<RoomNodeObject, V1Node>({
    path: '/api/v1/nodes',
    action: 'watch nodes',
    list: (query) => api.listNodes(query),
    asWatched: (node) => ({ metadata: keyOf(node), room: nodeRoom(node) }),
  });
  const pods = informers.add<RoomPodObject, V1Pod>({
    path: '/api/v1/pods',
    action: 'watch pods for the cluster room',
    fieldSelector: ROOM_POD_FIELD_SELECTOR,
    pageSize: options.podPageSize ?? POD_PAGE_SIZE,
    list: (query) => api.listPods(query),
    asWatched: (pod) => ({ metadata: keyOf(pod), room: podRoom(pod) }),
  });
  let synced = false;
  const syncedPromise = informers.synced.then(() => {
    synced = true;
  });
  informers.start();
  return {
    synced: syncedPromise,
    room() {
      if (!synced) return undefined;
      return roomOfSummaries(
        nodes.list().map((node) => node.room),
        pods.list().map((pod) => pod.room),
      );
    },
    stop: () => informers.stop(),
  };
}

function coreRoomApi(kubeConfig: KubeConfig): ClusterRoomApi {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    listPods: (query) => core.listPodForAllNamespaces(query),
    listNodes: (query) => core.listNode(query),
  };
}
