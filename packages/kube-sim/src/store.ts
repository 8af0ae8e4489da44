import { randomBytes, randomUUID } from 'node:crypto';
import { alreadyExists, conflict, gone, notFound } from './api-error.js';
import { groupVersionOf, type ResourceType, resourceKey } from './resources.js';
import { clone, type KubeObject, nowIso } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  /** A snapshot; never mutated after the event is emitted. */
  object: KubeObject;
  /**
   * MODIFIED: the object as it was before this change (also never mutated), so a watch with a selector can tell an
   * object that starts or stops matching it, as the API server's watch cache does with its PrevObject.
   */
  previous?: KubeObject;
  resourceVersion: number;
}

export interface ObjectStoreOptions {
  /** How many past events a watch can resume from before it gets 410 Gone. */
  historyLimit?: number;
}

const nameAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** Five characters like the API server's generateName suffix. */
export function randomSuffix(length = 5): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += nameAlphabet[byte % nameAlphabet.length];
  return out;
}

function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

/** An object's key (`namespace/name`, `/name` when cluster-scoped): lists come in this order, pages start after one. */
export function listKeyOf(object: KubeObject): string {
  return keyOf(object.metadata.namespace, object.metadata.name ?? '');
}

/** Plain string order (as the API server's storage lists keys), not ICU collation (localeCompare: far slower). */
const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** How many paged lists' views are kept at once; the oldest goes first (as if compacted). */
const MAX_LIST_VIEWS = 32;

function withoutVersion(object: KubeObject): string {
  return JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion: '' } });
}

function specOf(object: KubeObject): string {
  const { metadata: _metadata, status: _status, apiVersion: _apiVersion, kind: _kind, ...rest } = object;
  return JSON.stringify(rest);
}

/**
 * The in-memory object store: one global resourceVersion counter, per-resource maps, and a bounded
 * history of events so a watch can resume from a resourceVersion (or get 410 Gone when too old).
 */
export class ObjectStore {
  private revision = 1;
  private readonly objects = new Map<string, Map<string, KubeObject>>();
  /**
   * The same objects of each namespaced resource by namespace, so a list in one namespace (every controller sync,
   * quota and admission check) reads that namespace's objects, not every object of the cluster: with 1,000 labs the
   * whole-bucket filter made each pod event cost O(all pods).
   */
  private readonly byNamespace = new Map<string, Map<string, Map<string, KubeObject>>>();
  private readonly history: StoreEvent[] = [];
  private readonly historyLimit: number;
  private readonly listeners = new Set<(event: StoreEvent) => void>();
  /** Paged lists' views: the objects of one resource (and namespace) at the resource version of their first page. */
  private readonly listViews = new Map<string, KubeObject[]>();

  constructor(options: ObjectStoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 10_000;
  }

  get resourceVersion(): string {
    return String(this.revision);
  }

  /** Listens to every change; returns the function that stops listening. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private bucket(resource: ResourceType): Map<string, KubeObject> {
    const key = resourceKey(resource);
    let bucket = this.objects.get(key);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(key, bucket);
    }
    return bucket;
  }

  private namespaceBucket(resource: ResourceType, namespace: string, create: true): Map<string, KubeObject>;
  private namespaceBucket(resource: ResourceType, namespace: string): Map<string, KubeObject> | undefined;
  private namespaceBucket(resource: ResourceType, namespace: string, create = false) {
    const key = resourceKey(resource);
    let namespaces = this.byNamespace.get(key);
    if (!namespaces) {
      if (!create) return undefined;
      namespaces = new Map();
      this.byNamespace.set(key, namespaces);
    }
    let bucket = namespaces.get(namespace);
    if (!bucket && create) {
      bucket = new Map();
      namespaces.set(namespace, bucket);
    }
    return bucket;
  }

  /** Writes an object into its resource's bucket and, when namespaced, its namespace's. */
  private put(resource: ResourceType, key: string, object: KubeObject): void {
    this.bucket(resource).set(key, object);
    if (resource.namespaced) this.namespaceBucket(resource, object.metadata.namespace ?? '', true).set(key, object);
  }

  private drop(resource: ResourceType, key: string, object: KubeObject): void {
    this.bucket(resource).delete(key);
    if (!resource.namespaced) return;
    const namespace = object.metadata.namespace ?? '';
    const bucket = this.namespaceBucket(resource, namespace);
    bucket?.delete(key);
    if (bucket?.size === 0) this.byNamespace.get(resourceKey(resource))?.delete(namespace);
  }

  private emit(type: WatchEventType, resource: ResourceType, object: KubeObject, previous?: KubeObject): void {
    const event: StoreEvent = {
      type,
      resource,
      object,
      ...(previous ? { previous } : {}),
      resourceVersion: this.revision,
    };
    this.history.push(event);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    for (const listener of this.listeners) listener(event);
  }

  get(resource: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.bucket(resource).get(keyOf(resource.namespaced ? namespace : undefined, name));
    return found ? clone(found) : undefined;
  }

  mustGet(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const found = this.get(resource, namespace, name);
    if (!found) throw notFound(resource, name);
    return found;
  }

  /** Objects of one resource, in one namespace or all; snapshots, not copies, so callers must not mutate. */
  listRaw(resource: ResourceType, namespace?: string): KubeObject[] {
    if (namespace && resource.namespaced) return [...(this.namespaceBucket(resource, namespace)?.values() ?? [])];
    return [...this.bucket(resource).values()];
  }

  list(resource: ResourceType, namespace?: string): KubeObject[] {
    return this.listRaw(resource, namespace).map(clone);
  }

  /** `listRaw` in key order, with the resource version it was read at: the first page of a list. */
  listInKeyOrder(resource: ResourceType, namespace?: string): { resourceVersion: number; objects: KubeObject[] } {
    const objects = this.listRaw(resource, namespace).sort((a, b) => compareKeys(listKeyOf(a), listKeyOf(b)));
    return { resourceVersion: this.revision, objects };
  }

  /**
   * Keeps what a paged list's first page was read from, so its next pages come from the same resource version (the
   * API server reads every page of a list at the first page's version): an object deleted or made between two pages
   * neither drops out of nor enters the list. Objects are never mutated once stored, so the view is their references.
   */
  keepListView(resource: ResourceType, namespace: string | undefined, resourceVersion: number, objects: KubeObject[]) {
    const key = `${resourceKey(resource)}|${namespace ?? ''}|${resourceVersion}`;
    this.listViews.delete(key);
    this.listViews.set(key, objects);
    for (const oldest of this.listViews.keys()) {
      if (this.listViews.size <= MAX_LIST_VIEWS) break;
      this.listViews.delete(oldest);
    }
  }

  /**
   * The objects a paged list's next page is read from (in key order), or undefined when that version is no longer
   * kept: the history of events no longer reaches back to it (the API server's compaction), or too many lists came
   * since. The caller answers 410 Expired then, as the API server does for a continue token that is too old.
   */
  listViewAt(resource: ResourceType, namespace: string | undefined, resourceVersion: number): KubeObject[] | undefined {
    const key = `${resourceKey(resource)}|${namespace ?? ''}|${resourceVersion}`;
    const oldest = this.history[0];
    if (resourceVersion < this.revision && (!oldest || resourceVersion < oldest.resourceVersion - 1)) {
      this.listViews.delete(key);
      return undefined;
    }
    return this.listViews.get(key);
  }

  count(resource: ResourceType): number {
    return this.bucket(resource).size;
  }

  create(resource: ResourceType, input: KubeObject): KubeObject {
    const object = clone(input);
    const metadata = object.metadata;
    if (!metadata.name && metadata.generateName) metadata.name = `${metadata.generateName}${randomSuffix()}`;
    const name = metadata.name ?? '';
    if (!resource.namespaced) delete metadata.namespace;
    const bucket = this.bucket(resource);
    const key = keyOf(metadata.namespace, name);
    if (bucket.has(key)) throw alreadyExists(resource, name);
    this.revision++;
    object.apiVersion = groupVersionOf(resource);
    object.kind = resource.kind;
    metadata.uid = randomUUID();
    metadata.resourceVersion = String(this.revision);
    metadata.creationTimestamp = nowIso();
    metadata.generation = 1;
    delete metadata.deletionTimestamp;
    this.put(resource, key, object);
    this.emit('ADDED', resource, object);
    return clone(object);
  }

  /**
   * Replaces an object. With `checkVersion`, a stale metadata.resourceVersion is a 409 Conflict.
   * Generation moves only when something besides metadata and status changed.
   */
  update(resource: ResourceType, input: KubeObject, options: { checkVersion?: boolean } = {}): KubeObject {
    const object = clone(input);
    const name = object.metadata.name ?? '';
    const namespace = resource.namespaced ? object.metadata.namespace : undefined;
    const bucket = this.bucket(resource);
    const key = keyOf(namespace, name);
    const current = bucket.get(key);
    if (!current) throw notFound(resource, name);
    if (
      options.checkVersion &&
      object.metadata.resourceVersion &&
      object.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw conflict(
        resource,
        name,
        'the object has been modified; please apply your changes to the latest version and try again',
      );
    }
    object.apiVersion = groupVersionOf(resource);
    object.kind = resource.kind;
    object.metadata.uid = current.metadata.uid;
    object.metadata.creationTimestamp = current.metadata.creationTimestamp;
    if (!resource.namespaced) delete object.metadata.namespace;
    else object.metadata.namespace = current.metadata.namespace;
    object.metadata.generation = (current.metadata.generation ?? 1) + (specOf(object) === specOf(current) ? 0 : 1);
    if (current.metadata.deletionTimestamp) object.metadata.deletionTimestamp = current.metadata.deletionTimestamp;
    if (withoutVersion(object) === withoutVersion(current)) return clone(current);
    this.revision++;
    object.metadata.resourceVersion = String(this.revision);
    this.put(resource, key, object);
    this.emit('MODIFIED', resource, object, current);
    return clone(object);
  }

  /** Reads, changes and writes one object; a no-op change writes nothing. */
  mutate(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (object: KubeObject) => void,
  ): KubeObject | undefined {
    const current = this.get(resource, namespace, name);
    if (!current) return undefined;
    change(current);
    return this.update(resource, current);
  }

  remove(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const bucket = this.bucket(resource);
    const key = keyOf(resource.namespaced ? namespace : undefined, name);
    const current = bucket.get(key);
    if (!current) throw notFound(resource, name);
    this.drop(resource, key, current);
    this.revision++;
    const removed = { ...current, metadata: { ...current.metadata, resourceVersion: String(this.revision) } };
    this.emit('DELETED', resource, removed);
    return clone(removed);
  }

  /** Events after `resourceVersion`, oldest first; 410 Gone if the history no longer reaches back that far. */
  eventsSince(resourceVersion: number): StoreEvent[] {
    const oldest = this.history[0];
    if (resourceVersion >= this.revision) return [];
    if (!oldest || resourceVersion < oldest.resourceVersion - 1) {
      throw gone(
        `too old resource version: ${resourceVersion} (${oldest ? oldest.resourceVersion - 1 : this.revision})`,
      );
    }
    let low = 0;
    let high = this.history.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.history[middle]?.resourceVersion ?? 0) <= resourceVersion) low = middle + 1;
      else high = middle;
    }
    return this.history.slice(low);
  }
}
