import { ApiError } from './api-error.js';
import { mergeKeyFor } from './patch.js';
import { isObject, type JsonObject, type KubeObject, type ManagedFieldsEntry, nowIso } from './types.js';

/** A set of field paths; each path is its FieldsV1 segments (`f:spec`, `k:{"name":"web"}`) joined by a newline. */
export type FieldSet = Set<string>;

const separator = '\n';
const ignoredTopLevel = new Set(['status', 'apiVersion', 'kind']);
const ignoredMetadata = new Set([
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'managedFields',
  'namespace',
  'name',
]);

function itemKey(field: string, item: unknown, list: unknown[]): string | undefined {
  const key = mergeKeyFor(field, list);
  if (!key || !isObject(item) || item[key] === undefined) return undefined;
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

function walk(value: unknown, prefix: string[], out: FieldSet, field: string): void {
  if (Array.isArray(value)) {
    const keyed = value.every((item) => itemKey(field, item, value) !== undefined) && value.length > 0;
    if (!keyed) {
      out.add(prefix.join(separator));
      return;
    }
    for (const item of value) {
      const segment = itemKey(field, item, value) ?? '';
      out.add([...prefix, segment, '.'].join(separator));
      walk(item, [...prefix, segment], out, '');
    }
    return;
  }
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [key, inner] of Object.entries(value)) walk(inner, [...prefix, `f:${key}`], out, key);
    return;
  }
  out.add(prefix.join(separator));
}

/** The fields an object sets, as SSA counts them (no status, no server-owned metadata). */
export function fieldsOf(object: JsonObject): FieldSet {
  const out: FieldSet = new Set();
  for (const [key, value] of Object.entries(object)) {
    if (ignoredTopLevel.has(key)) continue;
    if (key === 'metadata' && isObject(value)) {
      for (const [metaKey, metaValue] of Object.entries(value)) {
        if (!ignoredMetadata.has(metaKey)) walk(metaValue, ['f:metadata', `f:${metaKey}`], out, metaKey);
      }
      continue;
    }
    walk(value, [`f:${key}`], out, key);
  }
  return out;
}

export function toFieldsV1(fields: FieldSet): JsonObject {
  const root: JsonObject = {};
  for (const path of fields) {
    let node = root;
    for (const segment of path.split(separator)) {
      const next = node[segment];
      if (isObject(next)) node = next;
      else {
        const created: JsonObject = {};
        node[segment] = created;
        node = created;
      }
    }
  }
  return root;
}

export function fromFieldsV1(fields: unknown, prefix: string[] = [], out: FieldSet = new Set()): FieldSet {
  if (!isObject(fields)) return out;
  const children = Object.entries(fields);
  if (children.length === 0 && prefix.length > 0) out.add(prefix.join(separator));
  for (const [segment, inner] of children) {
    if (segment === '.') out.add([...prefix, '.'].join(separator));
    else fromFieldsV1(inner, [...prefix, segment], out);
  }
  return out;
}

function step(value: unknown, segment: string): unknown {
  if (segment.startsWith('f:')) return isObject(value) ? value[segment.slice(2)] : undefined;
  if (segment.startsWith('k:') && Array.isArray(value)) {
    const key = JSON.parse(segment.slice(2)) as JsonObject;
    return value.find((item) => isObject(item) && Object.entries(key).every(([k, v]) => item[k] === v));
  }
  return undefined;
}

function valueAt(object: unknown, path: string): unknown {
  let current = object;
  for (const segment of path.split(separator)) {
    if (segment === '.') return current;
    current = step(current, segment);
    if (current === undefined) return undefined;
  }
  return current;
}

function removeAt(object: unknown, path: string): void {
  const segments = path.split(separator).filter((s) => s !== '.');
  const last = segments.pop();
  if (!last) return;
  let parent: unknown = object;
  for (const segment of segments) parent = step(parent, segment);
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
}

function removeItem(object: unknown, itemPath: string[]): void {
  const last = itemPath[itemPath.length - 1];
  if (!last?.startsWith('k:')) return;
  let list: unknown = object;
  for (const segment of itemPath.slice(0, -1)) list = step(list, segment);
  if (!Array.isArray(list)) return;
  const item = step(list, last);
  const index = list.indexOf(item);
  if (index >= 0) list.splice(index, 1);
}

function managerSets(object: KubeObject): Map<string, { entry: ManagedFieldsEntry; fields: FieldSet }> {
  const map = new Map<string, { entry: ManagedFieldsEntry; fields: FieldSet }>();
  for (const entry of object.metadata.managedFields ?? []) {
    map.set(`${entry.manager}\u0000${entry.operation}\u0000${entry.subresource ?? ''}`, {
      entry,
      fields: fromFieldsV1(entry.fieldsV1),
    });
  }
  return map;
}

function writeManagers(object: KubeObject, managers: Map<string, { entry: ManagedFieldsEntry; fields: FieldSet }>) {
  const entries: ManagedFieldsEntry[] = [];
  for (const { entry, fields } of managers.values()) {
    if (fields.size === 0) continue;
    entries.push({ ...entry, fieldsV1: toFieldsV1(fields) });
  }
  object.metadata.managedFields = entries;
}

function leaves(fields: FieldSet): string[] {
  return [...fields].filter((path) => !path.endsWith(`${separator}.`));
}

/**
 * Records an Update by `manager`: it takes over every field whose value it changed (or set, on create).
 */
export function recordUpdate(
  before: KubeObject | undefined,
  after: KubeObject,
  manager: string,
  apiVersion: string,
  subresource?: string,
): void {
  const managers = managerSets(before ?? after);
  const afterFields = fieldsOf(after);
  const changed = new Set<string>();
  for (const path of afterFields) {
    if (!before || JSON.stringify(valueAt(before, path)) !== JSON.stringify(valueAt(after, path))) changed.add(path);
  }
  for (const { fields } of managers.values()) for (const path of changed) fields.delete(path);
  for (const { fields } of managers.values())
    for (const path of [...fields]) if (!afterFields.has(path)) fields.delete(path);
  if (changed.size > 0) {
    const key = `${manager}\u0000Update\u0000${subresource ?? ''}`;
    const existing = managers.get(key)?.fields ?? new Set<string>();
    for (const path of changed) existing.add(path);
    managers.set(key, {
      entry: {
        manager,
        operation: 'Update',
        apiVersion,
        time: nowIso(),
        fieldsType: 'FieldsV1',
        fieldsV1: {},
        ...(subresource ? { subresource } : {}),
      },
      fields: existing,
    });
  }
  writeManagers(after, managers);
}

/**
 * Server-side apply: merges `applied` into `live` for `manager`, removes fields that manager owned
 * before and no longer applies (unless another manager owns them), and reports conflicts with other
 * managers' differing values unless `force`.
 */
export function serverSideApply(
  live: KubeObject,
  applied: KubeObject,
  manager: string,
  force: boolean,
  apiVersion: string,
  merge: (target: unknown, patch: unknown) => unknown,
  describe: { kind: string; name: string; group: string; plural: string },
): KubeObject {
  const managers = managerSets(live);
  const key = `${manager}\u0000Apply\u0000`;
  const previous = managers.get(key)?.fields ?? new Set<string>();
  const next = fieldsOf(applied);
  const conflicts: { manager: string; apiVersion: string; path: string }[] = [];
  for (const path of leaves(next)) {
    const same = JSON.stringify(valueAt(live, path)) === JSON.stringify(valueAt(applied, path));
    if (same) continue;
    for (const [otherKey, { entry, fields }] of managers) {
      if (otherKey === key || !fields.has(path)) continue;
      if (force) fields.delete(path);
      else conflicts.push({ manager: entry.manager, apiVersion: entry.apiVersion, path });
    }
  }
  if (conflicts.length > 0) {
    const causes = conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${c.manager}" using ${c.apiVersion}`,
      field: fieldPathText(c.path),
    }));
    // The real message: one conflict inline, several grouped per manager as a list.
    const byManager = new Map<string, string[]>();
    for (const cause of causes) byManager.set(cause.message, [...(byManager.get(cause.message) ?? []), cause.field]);
    const detail =
      causes.length === 1
        ? `${causes[0]?.message}: ${causes[0]?.field}`
        : [...byManager]
            .map(
              ([who, fields]) =>
                `${who.replace('conflict with', 'conflicts with')}:\n${fields.map((f) => `- ${f}`).join('\n')}`,
            )
            .join('\n');
    throw new ApiError(
      409,
      'Conflict',
      `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${detail}`,
      { name: describe.name, ...(describe.group ? { group: describe.group } : {}), kind: describe.plural, causes },
    );
  }
  const ownedByOthers = new Set<string>();
  for (const [otherKey, { fields }] of managers)
    if (otherKey !== key) for (const path of fields) ownedByOthers.add(path);
  const result = merge(live, stripForApply(applied)) as KubeObject;
  for (const path of previous) {
    if (next.has(path) || ownedByOthers.has(path)) continue;
    if (path.endsWith(`${separator}.`)) {
      const itemPath = path.split(separator).slice(0, -1);
      const prefix = itemPath.join(separator);
      const stillUsed = [...ownedByOthers, ...next].some((p) => p.startsWith(prefix));
      if (!stillUsed) removeItem(result, itemPath);
    } else removeAt(result, path);
  }
  const unchanged = previous.size === next.size && [...next].every((path) => previous.has(path));
  const previousEntry = managers.get(key)?.entry;
  managers.set(key, {
    entry:
      unchanged && previousEntry
        ? previousEntry
        : { manager, operation: 'Apply', apiVersion, time: nowIso(), fieldsType: 'FieldsV1', fieldsV1: {} },
    fields: next,
  });
  writeManagers(result, managers);
  return result;
}

/** `.spec.template.spec.containers[name="web"].image`, as the API server names a field path. */
function fieldPathText(path: string): string {
  return path
    .split(separator)
    .filter((segment) => segment !== '.')
    .map((segment) => {
      if (segment.startsWith('f:')) return `.${segment.slice(2)}`;
      const key = JSON.parse(segment.slice(2)) as Record<string, unknown>;
      return `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    })
    .join('');
}

function stripForApply(applied: KubeObject): KubeObject {
  const { status: _status, ...rest } = applied;
  const metadata = { ...applied.metadata };
  for (const key of ignoredMetadata) if (key !== 'name' && key !== 'namespace') delete metadata[key];
  return { ...rest, metadata } as KubeObject;
}
