import { CoreV1Api, type KubeConfig, type V1Namespace, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '@labbot/config';
import { diagnose } from './diagnose.js';
import { createInformerGroup } from './informers.js';
import { LAB_LABEL, LEGACY_POD_SELECTOR, MANAGED_SELECTOR } from './labels.js';
import { podReadiness, podSummary } from './pod-summary.js';
import type { Diagnosis, PodSummary } from './types.js';
import { namespaceAsWatched, podAsWatched } from './watched-objects.js';

export interface WatchLabPodsOptions {
  /**
   * Called at most once per `debounceMs` per lab with every current pod of that lab (empty when all are gone), and at
   * once when a change makes every pod of the lab ready.
   */
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

/**
 * ONE cluster-wide list+watch over the pods labbot manages (`app.kubernetes.io/managed-by=labbot`), turned into
 * debounced per-lab snapshots. A pod names no lab: its namespace does (`labbot.dev/lab`, from a second list+watch
 * over lab namespaces), so a warm lab's namespace relabelled for a learner brings its pods to that learner's lab at
 * once. Pods of labs started before that label existed carry the lab label only: a third, narrow list+watch
 * (LEGACY_POD_SELECTOR) adopts them, so a runner upgraded under running labs still follows them (nothing in the
 * cluster is changed for it). A dropped watch resumes from the last resourceVersion (or re-lists); errors retry with
 * back-off.
 */
export function watchLabPods(kubeConfig: KubeConfig, options: WatchLabPodsOptions, logger?: Logger): LabPodWatch {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const debounceMs = options.debounceMs ?? 250;
  const timers = new Map<string, NodeJS.Timeout>();
  /** Which lab each lab namespace belongs to (its lab label), and back. */
  const labOfNamespace = new Map<string, string>();
  const namespaceOfLab = new Map<string, string>();
  /** Namespaces deleted while their pods may still be going: forgotten once their last pod is gone. */
  const goneNamespaces = new Set<string>();
  let stopped = false;
  const informers = createInformerGroup(
    kubeConfig,
    {
      failureMessage: 'lab pod watch failed; retrying',
      ...(options.onError ? { onError: options.onError } : {}),
      ...(options.retryDelayMs !== undefined ? { retryDelayMs: options.retryDelayMs } : {}),
    },
    logger,
  );
  // The namespaces first: a pod's lab is its namespace's label.
  const namespaceInformer = informers.add<V1Namespace>({
    path: '/api/v1/namespaces',
    action: 'watch lab namespaces',
    labelSelector: LAB_LABEL,
    list: (query) => core.listNamespace(query),
    asWatched: namespaceAsWatched,
  });
  /** The pods of every namespace that carry `labelSelector`. */
  const podInformer = (labelSelector: string) =>
    informers.add<V1Pod>({
      path: '/api/v1/pods',
      action: 'watch lab pods',
      labelSelector,
      list: (query) => core.listPodForAllNamespaces(query),
      asWatched: podAsWatched,
    });
  const informer = podInformer(MANAGED_SELECTOR);
  const legacyInformer = podInformer(LEGACY_POD_SELECTOR);
  const podsIn = (namespace: string | undefined): V1Pod[] =>
    namespace ? [...informer.list(namespace), ...legacyInformer.list(namespace)] : [];

  /** Labs whose last snapshot had every pod ready. */
  const toldAllReady = new Set<string>();
  const allReady = (pods: V1Pod[]) => pods.length > 0 && pods.every((pod) => podReadiness(pod).ready);

  const emit = (labId: string) => {
    clearTimeout(timers.get(labId));
    timers.delete(labId);
    if (stopped) return;
    const namespace = namespaceOfLab.get(labId);
    // The lab's namespace went to another lab (a warm lab handed over): nothing of it is this lab's any more.
    if (!namespace) return;
    const pods = podsIn(namespace).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    if (pods.length === 0 && goneNamespaces.has(namespace)) forget(namespace);
    try {
      const summaries = pods.map(podSummary);
      if (summaries.length > 0 && summaries.every((pod) => pod.ready)) toldAllReady.add(labId);
      else toldAllReady.delete(labId);
      options.onSnapshot(labId, namespace, summaries, diagnose(pods));
    } catch (error) {
      logger?.warn({ labId, err: error }, 'pod snapshot handler failed');
    }
  };

  const scheduleLab = (labId: string) => {
    if (stopped || timers.has(labId)) return;
    const timer = setTimeout(() => emit(labId), debounceMs);
    timer.unref?.();
    timers.set(labId, timer);
  };

  const schedule = (pod: V1Pod) => {
    const namespace = pod.metadata?.namespace ?? '';
    const labId = labOfNamespace.get(namespace);
    // A namespace not seen yet: its snapshot follows when the namespace watch brings it.
    if (!labId) return;
    // The change that makes every pod of the lab ready is told at once, not after the debounce: it is the one the
    // learner waits for (their lab is ready), and it comes once per bring-up, so it adds no burst of snapshots.
    if (!stopped && !toldAllReady.has(labId) && allReady(podsIn(namespace))) emit(labId);
    else scheduleLab(labId);
  };

  const forget = (namespace: string) => {
    const labId = labOfNamespace.get(namespace);
    labOfNamespace.delete(namespace);
    goneNamespaces.delete(namespace);
    if (labId && namespaceOfLab.get(labId) === namespace) {
      namespaceOfLab.delete(labId);
      toldAllReady.delete(labId);
    }
  };

  const mapNamespace = (namespace: V1Namespace) => {
    const name = namespace.metadata?.name;
    const labId = namespace.metadata?.labels?.[LAB_LABEL];
    if (!name || !labId) return;
    // A namespace re-created under the same name (a lab repaired or reset) is no longer going, even for the same lab.
    goneNamespaces.delete(name);
    const before = labOfNamespace.get(name);
    if (before === labId) return;
    if (before && namespaceOfLab.get(before) === name) {
      namespaceOfLab.delete(before);
      toldAllReady.delete(before);
    }
    labOfNamespace.set(name, labId);
    namespaceOfLab.set(labId, name);
    scheduleLab(labId);
  };
  // A deleted namespace is forgotten by its lab's next snapshot once its last pod is gone, so that snapshot (no pods)
  // is still told, also when the last pod went just before the namespace, within the debounce.
  const unmapNamespace = (namespace: V1Namespace) => {
    const name = namespace.metadata?.name;
    if (!name) return;
    const labId = labOfNamespace.get(name);
    if (!labId) return forget(name);
    goneNamespaces.add(name);
    scheduleLab(labId);
  };

  for (const pods of [informer, legacyInformer]) {
    pods.on('add', schedule);
    pods.on('update', schedule);
    pods.on('delete', schedule);
  }
  namespaceInformer.on('add', mapNamespace);
  namespaceInformer.on('update', mapNamespace);
  namespaceInformer.on('delete', unmapNamespace);
  informers.start();

  return {
    synced: informers.synced,
    podsOf: (labId) => podsIn(namespaceOfLab.get(labId)).map(podSummary),
    async stop() {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await informers.stop();
    },
  };
}
