import { describe, expect, it } from 'vitest';
import { resourceByKind } from './resources.js';
import { ObjectStore, type StoreEvent } from './store.js';

const ConfigMap = resourceByKind('ConfigMap');

describe('object store', () => {
  it('assigns uid, creationTimestamp and one global resourceVersion; bumps generation only for spec changes', () => {
    const store = new ObjectStore();
    const a = store.create(ConfigMap, { metadata: { name: 'a', namespace: 'n' }, data: { k: 'v' } });
    const b = store.create(ConfigMap, { metadata: { name: 'b', namespace: 'n' } });
    expect(Number(b.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
    expect(a.metadata.uid).not.toBe(b.metadata.uid);
    const relabelled = store.update(ConfigMap, { ...a, metadata: { ...a.metadata, labels: { x: 'y' } } });
    expect(relabelled.metadata.generation).toBe(1);
    const changed = store.update(ConfigMap, { ...relabelled, data: { k: 'w' } });
    expect(changed.metadata.generation).toBe(2);
    const unchanged = store.update(ConfigMap, changed);
    expect(unchanged.metadata.resourceVersion).toBe(changed.metadata.resourceVersion);
  });

  it('refuses duplicates (409 AlreadyExists) and stale updates (409 Conflict)', () => {
    const store = new ObjectStore();
    const a = store.create(ConfigMap, { metadata: { name: 'a', namespace: 'n' } });
    expect(() => store.create(ConfigMap, { metadata: { name: 'a', namespace: 'n' } })).toThrow(
      expect.objectContaining({ code: 409, reason: 'AlreadyExists' }),
    );
    store.update(ConfigMap, { ...a, data: { k: '1' } }, { checkVersion: true });
    expect(() => store.update(ConfigMap, { ...a, data: { k: '2' } }, { checkVersion: true })).toThrow(
      expect.objectContaining({ code: 409, reason: 'Conflict' }),
    );
  });

  it('replays events after a resourceVersion and answers 410 Expired beyond its history', () => {
    const store = new ObjectStore({ historyLimit: 5 });
    const seen: StoreEvent[] = [];
    store.subscribe((event) => seen.push(event));
    const first = store.create(ConfigMap, { metadata: { name: 'c0', namespace: 'n' } });
    for (let i = 1; i < 4; i++) store.create(ConfigMap, { metadata: { name: `c${i}`, namespace: 'n' } });
    const replay = store.eventsSince(Number(first.metadata.resourceVersion));
    expect(replay.map((e) => e.object.metadata.name)).toEqual(['c1', 'c2', 'c3']);
    for (let i = 4; i < 10; i++) store.create(ConfigMap, { metadata: { name: `c${i}`, namespace: 'n' } });
    expect(() => store.eventsSince(Number(first.metadata.resourceVersion))).toThrow(
      expect.objectContaining({ code: 410, reason: 'Expired' }),
    );
    expect(seen).toHaveLength(10);
  });

  it('lists one namespace from its own index, kept in step with creates, updates and removes', () => {
    const store = new ObjectStore();
    const names = (namespace?: string) => store.listRaw(ConfigMap, namespace).map((o) => o.metadata.name);
    for (const [name, namespace] of [
      ['a', 'one'],
      ['b', 'two'],
      ['c', 'one'],
      ['d', 'two'],
    ] as const)
      store.create(ConfigMap, { metadata: { name, namespace } });
    expect(names('one')).toEqual(['a', 'c']);
    expect(names('two')).toEqual(['b', 'd']);
    expect(names()).toEqual(['a', 'b', 'c', 'd']);
    const a = store.mustGet(ConfigMap, 'one', 'a');
    store.update(ConfigMap, { ...a, data: { k: 'v' } });
    expect(store.listRaw(ConfigMap, 'one')[0]?.data).toEqual({ k: 'v' });
    store.remove(ConfigMap, 'one', 'a');
    store.remove(ConfigMap, 'one', 'c');
    expect(names('one')).toEqual([]);
    expect(names()).toEqual(['b', 'd']);
    store.create(ConfigMap, { metadata: { name: 'a', namespace: 'one' } });
    expect(names('one')).toEqual(['a']);
    expect(names('three')).toEqual([]);
  });
});
