import { CoreV1Api, type KubeConfig, makeInformer, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '@labbot/config';
import { toClusterError } from './cluster-errors.js';
import { diagnose } from './diagnose.js';
import { LAB_LABEL } from './labels.js';
import { podSummary } from './pod-summary.js';
import type { Diagnosis, PodSummary } from './types.js';

export interface WatchLabPodsOptions {
  /** Called at most once per `debounceMs` per lab with every current pod of that lab (empty when all are gone). */
  onSnapshot(labId: string, namespace: string, pods: PodSummary[], diagnosis: Diagnosis | undefined): void;
  /** A watch or list failure; the watcher keeps retrying with back-off until stopped. */
  onError?(error: Error): void;
  /** Per-lab coalescing window. Default 250 ms. */
  debounceMs?: number;
  /** First retry delay after a failure (doubles up to 30 s). Default 1 s. */
  retryDelayMs?: number;
}

export interface LabPodWatch {
  /** Resolves after the first list succeeded (snapshots for existing labs follow). */
  readonly synced: Promise<void>;
  /** The current pods of a lab from the shared cache (no API request). */
  podsOf(labId: string): PodSummary[];
  stop(): Promise<void>;
}

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * ONE cluster-wide list+watch over pods carrying the `labbot.dev/lab` label, turned into debounced per-lab
 * snapshots. A dropped watch resumes from the last resourceVersion (or re-lists); errors retry with back-off.
 */
export function watchLabPods(kubeConfig: KubeConfig, options: WatchLabPodsOptions, logger?: Logger): LabPodWatch {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const debounceMs = options.debounceMs ?? 250;
  const baseRetryMs = options.retryDelayMs ?? 1000;
  const timers = new Map<string, NodeJS.Timeout>();
  /** The namespace each lab was last seen in, so a lab whose pods all vanished still gets an empty snapshot. */
  const namespaces = new Map<string, string>();
  let stopped = false;
  let retryDelayMs = baseRetryMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });

  const informer = makeInformer<V1Pod>(
    kubeConfig,
    '/api/v1/pods',
    async () => {
      const list = await core.listPodForAllNamespaces({ labelSelector: LAB_LABEL });
      retryDelayMs = baseRetryMs;
      markSynced();
      return list;
    },
    LAB_LABEL,
  );
  const podsOfLab = (labId: string): V1Pod[] =>
    informer.list().filter((pod) => pod.metadata?.labels?.[LAB_LABEL] === labId);

  const emit = (labId: string) => {
    timers.delete(labId);
    if (stopped) return;
    const pods = podsOfLab(labId).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    const namespace = pods[0]?.metadata?.namespace ?? namespaces.get(labId) ?? '';
    if (pods.length === 0) namespaces.delete(labId);
    try {
      options.onSnapshot(labId, namespace, pods.map(podSummary), diagnose(pods));
    } catch (error) {
      logger?.warn({ labId, err: error }, 'pod snapshot handler failed');
    }
  };

  const schedule = (pod: V1Pod) => {
    const labId = pod.metadata?.labels?.[LAB_LABEL];
    if (!labId || stopped) return;
    if (pod.metadata?.namespace) namespaces.set(labId, pod.metadata.namespace);
    if (timers.has(labId)) return;
    const timer = setTimeout(() => emit(labId), debounceMs);
    timer.unref?.();
    timers.set(labId, timer);
  };

  const start = async () => {
    if (stopped) return;
    try {
      await informer.start();
    } catch (error) {
      // informer.start reports list failures through the error callback; anything thrown here is unexpected.
      onFailure(error);
    }
  };

  const onFailure = (error: unknown) => {
    if (stopped) return;
    const clusterError = toClusterError(error, 'watch lab pods');
    logger?.warn({ err: clusterError, retryInMs: retryDelayMs }, 'lab pod watch failed; retrying');
    options.onError?.(clusterError);
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void start();
    }, retryDelayMs);
    retryTimer.unref?.();
    retryDelayMs = Math.min(retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  };

  informer.on('add', schedule);
  informer.on('update', schedule);
  informer.on('delete', schedule);
  informer.on('error', onFailure);
  void start();

  return {
    synced,
    podsOf: (labId) => podsOfLab(labId).map(podSummary),
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await informer.stop();
    },
  };
}
