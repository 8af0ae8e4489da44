import { KubeConfig, type KubernetesListObject, type V1Node, type V1Pod, Watch } from '@kubernetes/client-node';
import type { ClusterRoomApi } from '../room-watch.js';

type Kind = 'pods' | 'nodes';
type Stored = V1Pod | V1Node;
interface Change {
  kind: Kind;
  resourceVersion: number;
  /** Undefined when deleted. */
  object: Stored | undefined;
  previous: Stored | undefined;
}
interface OpenWatch {
  kind: Kind;
  fieldSelector: string | undefined;
  callback: (phase: string, object: unknown) => void;
  done: (error: unknown) => void;
}

/** The field selectors the room watch sends: `status.phase!=X` terms, comma-separated. */
function matches(object: Stored, fieldSelector: string | undefined): boolean {
  const phase = (object as V1Pod).status?.phase;
  return (fieldSelector ?? '')
    .split(',')
    .filter(Boolean)
    .every((term) => {
      const [field, value] = term.split('!=');
      return field !== 'status.phase' || phase !== value;
    });
}

const keyOf = (object: Stored) => `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

export interface MemoryRoomApi extends ClusterRoomApi {
  watch: Watch;
  /** Creates or replaces a pod (in its namespace) or a node; watches are told at once. */
  put(kind: Kind, object: Stored): void;
  remove(kind: Kind, namespace: string | undefined, name: string): void;
  /** Ends every open watch as a dropped connection does (the informer reports an error and is restarted). */
  cutWatches(): void;
  /** Forgets the change history: a watch resumed from an older version gets 410 Gone and must re-list. */
  compact(): void;
  /** Every list call, `pods` or `nodes` with its query, in order. */
  readonly lists: string[];
}

/**
 * An in-memory API for the cluster room watch: pods and nodes with resource versions, paged lists, and watches that
 * follow the API server's rules (a field selector's ADDED/DELETED when an object starts or stops matching, resuming
 * from a version, 410 Gone once that version is compacted away).
 */
export function createMemoryRoomApi(): MemoryRoomApi {
  let revision = 1;
  const objects: Record<Kind, Map<string, Stored>> = { pods: new Map(), nodes: new Map() };
  let history: Change[] = [];
  let oldest = 1;
  const open = new Set<OpenWatch>();
  const lists: string[] = [];

  const seenBy = (watch: OpenWatch, change: Change): [string, Stored] | undefined => {
    if (change.kind !== watch.kind) return undefined;
    const now = change.object !== undefined && matches(change.object, watch.fieldSelector);
    const before = change.previous !== undefined && matches(change.previous, watch.fieldSelector);
    if (now && change.object) return [before ? 'MODIFIED' : 'ADDED', change.object];
    if (before && change.previous) {
      const previous = structuredClone(change.previous);
      if (previous.metadata) previous.metadata.resourceVersion = String(change.resourceVersion);
      return ['DELETED', previous];
    }
    return undefined;
  };

  const record = (kind: Kind, key: string, object: Stored | undefined) => {
    revision++;
    const previous = objects[kind].get(key);
    if (object) {
      object.metadata = { ...object.metadata, resourceVersion: String(revision) };
      objects[kind].set(key, object);
    } else objects[kind].delete(key);
    const change: Change = { kind, resourceVersion: revision, object: object && structuredClone(object), previous };
    history.push(change);
    for (const watch of open) {
      const seen = seenBy(watch, change);
      // As JSON off the wire: a fresh object per event.
      if (seen) watch.callback(seen[0], structuredClone(seen[1]));
    }
  };

  const list = <T extends Stored>(
    kind: Kind,
    query: { fieldSelector?: string; limit?: number; _continue?: string },
  ): KubernetesListObject<T> => {
    lists.push(`${kind} ${JSON.stringify(query)}`);
    // A page continues at the first page's version: the token carries it (this fake keeps no old views, so a list
    // is answered from now; no test changes objects between two pages of one list).
    const all = [...objects[kind].values()]
      .filter((object) => matches(object, query.fieldSelector))
      .sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    const start = query._continue ? all.findIndex((object) => keyOf(object) > query._continue!) : 0;
    const from = start < 0 ? all.length : start;
    const page = query.limit ? all.slice(from, from + query.limit) : all.slice(from);
    const last = page[page.length - 1];
    const more = query.limit !== undefined && from + page.length < all.length && last !== undefined;
    return {
      metadata: { resourceVersion: String(revision), ...(more ? { _continue: keyOf(last) } : {}) },
      items: structuredClone(page) as T[],
    };
  };

  class MemoryWatch extends Watch {
    constructor() {
      super(new KubeConfig());
    }

    override async watch(
      path: string,
      query: Record<string, string | number | boolean | undefined>,
      callback: (phase: string, object: unknown) => void,
      done: (error: unknown) => void,
    ): Promise<AbortController> {
      const controller = new AbortController();
      const from = Number(query['resourceVersion'] ?? 0);
      if (from < oldest - 1) {
        queueMicrotask(() => done({ code: 410, message: 'too old resource version' }));
        return controller;
      }
      const watch: OpenWatch = {
        kind: path.endsWith('/nodes') ? 'nodes' : 'pods',
        fieldSelector: query['fieldSelector'] === undefined ? undefined : String(query['fieldSelector']),
        callback,
        done,
      };
      for (const change of history) {
        if (change.resourceVersion <= from) continue;
        const seen = seenBy(watch, change);
        if (seen) callback(seen[0], structuredClone(seen[1]));
      }
      open.add(watch);
      controller.signal.addEventListener('abort', () => open.delete(watch));
      return controller;
    }
  }

  return {
    watch: new MemoryWatch(),
    lists,
    listPods: async (query) => list<V1Pod>('pods', query),
    listNodes: async (query) => list<V1Node>('nodes', query),
    put: (kind, object) => record(kind, keyOf(object), structuredClone(object)),
    remove: (kind, namespace, name) => {
      const key = `${kind === 'pods' ? (namespace ?? '') : ''}/${name}`;
      if (objects[kind].has(key)) record(kind, key, undefined);
    },
    cutWatches() {
      const watches = [...open];
      open.clear();
      for (const watch of watches) watch.done(new Error('connection reset'));
    },
    compact() {
      history = [];
      oldest = revision + 1;
    },
  };
}
