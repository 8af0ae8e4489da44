import {
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import type { Logger } from '@labbot/config';
import type { LabbotError } from '@labbot/core';
import { toClusterError } from './cluster-errors.js';

// The one informer loop of the driver (client-go's reflector + informer, on client-node's ListWatch): list, then
// watch from the list's resourceVersion; a dropped watch resumes from the last version seen, a 410 re-lists, any
// other failure retries with back-off. The lab pod watch and the cluster room watch are both groups of these.

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * A watch whose events carry `asWatched(object)` instead of the object the API sent (ERROR events, a Status, and
 * BOOKMARKs pass unchanged): the informer caches, and hands its handlers, only what its user reads. It asks for
 * bookmarks as client-go's reflector does: a quiet watch then keeps a current resourceVersion (and, when they come
 * more often than client-node's 30 s inactivity timeout, stays open), so it resumes instead of re-listing after 410.
 */
class TrimmingWatch<Listed extends KubernetesObject, Cached extends KubernetesObject> extends Watch {
  constructor(
    private readonly inner: Watch,
    private readonly asWatched: (object: Listed) => Cached,
  ) {
    super(inner.config);
  }

  override watch(...[path, query, callback, done]: Parameters<Watch['watch']>): ReturnType<Watch['watch']> {
    return this.inner.watch(
      path,
      { ...query, allowWatchBookmarks: true },
      (phase, object, event) =>
        callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' ? object : this.asWatched(object as Listed), event),
      done,
    );
  }
}

export interface InformerGroupOptions {
  /** A watch or list failure; the group keeps retrying with back-off until stopped. */
  onError?(error: LabbotError): void;
  /** First retry delay after a failure (doubles up to 30 s; a successful list resets it). Default 1 s. */
  retryDelayMs?: number;
  /** What the group's failures are logged as, e.g. `lab pod watch failed; retrying`. */
  failureMessage: string;
  /** The watch client (the kubeconfig's by default; tests pass one that serves events from memory). */
  watch?: Watch;
}

/** What a list call of an informer is asked: its selectors, and with `pageSize` the page to read. */
export interface InformerListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  _continue?: string;
}

export interface InformerSpec<Listed extends KubernetesObject, Cached extends KubernetesObject> {
  /** The collection watched, e.g. `/api/v1/pods`. */
  path: string;
  /** What a failure of this informer is called in its error (`watch lab pods`). */
  action: string;
  /** Lists the collection with the selectors (and `limit`/`_continue` when paged). */
  list(query: InformerListQuery): Promise<KubernetesListObject<Listed>>;
  /** The small copy the informer caches of each object, listed or watched. */
  asWatched(object: Listed): Cached;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Lists a page of this many at a time (every page at the first page's resourceVersion), keeping only the small
   * copies across pages: the list's memory is one page, not the whole collection. Unset: one whole list.
   */
  pageSize?: number;
}

export interface InformerGroup {
  /** A list+watch of one collection; add every informer (and its handlers) before `start`. */
  add<Cached extends KubernetesObject, Listed extends KubernetesObject = Cached>(
    spec: InformerSpec<Listed, Cached>,
  ): ListWatch<Cached>;
  /** Resolves once every informer of the group has listed once. */
  readonly synced: Promise<void>;
  start(): void;
  stop(): Promise<void>;
}

/** A group of informers sharing one back-off and one `synced`, each restarted after a failure until stopped. */
export function createInformerGroup(
  kubeConfig: KubeConfig,
  options: InformerGroupOptions,
  logger?: Logger,
): InformerGroup {
  const baseRetryMs = options.retryDelayMs ?? 1000;
  const watchClient = options.watch ?? new Watch(kubeConfig);
  let retryDelayMs = baseRetryMs;
  let stopped = false;
  let markSynced: () => void = () => {};
  const synced = new Promise<void>((resolve) => {
    markSynced = resolve;
  });
  /** Informers not listed yet: the group is synced once each has listed once. */
  let unlisted = 0;
  const informers: { informer: ListWatch<KubernetesObject>; action: string }[] = [];
  const retryTimers = new Map<object, NodeJS.Timeout>();

  const start = async (informer: ListWatch<KubernetesObject>, action: string) => {
    if (stopped) return;
    try {
      await informer.start();
    } catch (error) {
      // informer.start reports list failures through the error callback; anything thrown here is unexpected.
      onFailure(informer, action)(error);
    }
  };

  const onFailure = (informer: ListWatch<KubernetesObject>, action: string) => (error: unknown) => {
    if (stopped) return;
    const clusterError = toClusterError(error, action);
    logger?.warn({ err: clusterError, retryInMs: retryDelayMs }, options.failureMessage);
    options.onError?.(clusterError);
    if (retryTimers.has(informer)) return;
    const timer = setTimeout(() => {
      retryTimers.delete(informer);
      void start(informer, action);
    }, retryDelayMs);
    timer.unref?.();
    retryTimers.set(informer, timer);
    retryDelayMs = Math.min(retryDelayMs * 2, MAX_RETRY_DELAY_MS);
  };

  return {
    add<Cached extends KubernetesObject, Listed extends KubernetesObject = Cached>(
      spec: InformerSpec<Listed, Cached>,
    ): ListWatch<Cached> {
      let listedOnce = false;
      unlisted++;
      const query: InformerListQuery = {
        ...(spec.labelSelector !== undefined ? { labelSelector: spec.labelSelector } : {}),
        ...(spec.fieldSelector !== undefined ? { fieldSelector: spec.fieldSelector } : {}),
        ...(spec.pageSize ? { limit: spec.pageSize } : {}),
      };
      const listAll = async (): Promise<KubernetesListObject<Cached>> => {
        const items: Cached[] = [];
        let resourceVersion: string | undefined;
        let page: string | undefined;
        do {
          const result = await spec.list(page ? { ...query, _continue: page } : query);
          for (const item of result.items) items.push(spec.asWatched(item));
          resourceVersion = result.metadata?.resourceVersion;
          page = spec.pageSize ? result.metadata?._continue || undefined : undefined;
        } while (page);
        return { metadata: resourceVersion !== undefined ? { resourceVersion } : {}, items };
      };
      const informer = new ListWatch<Cached>(
        spec.path,
        new TrimmingWatch(watchClient, spec.asWatched),
        async () => {
          const result = await listAll();
          retryDelayMs = baseRetryMs;
          if (!listedOnce) {
            listedOnce = true;
            unlisted--;
          }
          if (unlisted === 0) markSynced();
          return result;
        },
        false,
        spec.labelSelector,
        spec.fieldSelector,
      );
      const untyped = informer as unknown as ListWatch<KubernetesObject>;
      informer.on('error', onFailure(untyped, spec.action));
      informers.push({ informer: untyped, action: spec.action });
      return informer;
    },
    synced,
    start() {
      for (const { informer, action } of informers) void start(informer, action);
    },
    async stop() {
      stopped = true;
      for (const timer of retryTimers.values()) clearTimeout(timer);
      retryTimers.clear();
      await Promise.all(informers.map(({ informer }) => informer.stop()));
    },
  };
}
