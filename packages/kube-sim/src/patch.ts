import fastJsonPatch from 'fast-json-patch';
import { badRequest } from './api-error.js';
import { isObject, type JsonObject } from './types.js';

/** RFC 7386 JSON merge patch. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** RFC 6902 JSON patch; a failed `test` or a bad path is a 422 like the real API (here 400/422 via caller). */
export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw badRequest('json patch must be an array of operations');
  try {
    const result = fastJsonPatch.applyPatch(
      structuredClone(target),
      operations as fastJsonPatch.Operation[],
      true,
      false,
    );
    return result.newDocument;
  } catch (error) {
    throw badRequest(`the server rejected our request due to an error in our request: ${String(error)}`);
  }
}

/** Lists of primitives that strategic merge treats as sets (patchStrategy: merge). */
const mergedPrimitiveLists = new Set(['finalizers']);

/** The merge key of a list field, following the upstream `x-kubernetes-patch-merge-key` markers. */
export function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'ports':
      return items.some((item) => isObject(item) && 'containerPort' in item) ? 'containerPort' : 'port';
    default:
      return undefined;
  }
}

/** Schema extensions for the OpenAPI document, from the same table the server merges with. */
export const patchMergeKeys: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  env: 'name',
  volumes: 'name',
  imagePullSecrets: 'name',
  volumeMounts: 'mountPath',
  conditions: 'type',
  ownerReferences: 'uid',
};

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, inner] of Object.entries(value)) {
    if (key.startsWith('$')) continue;
    out[key] = stripDirectives(inner);
  }
  return out;
}

function mergeList(field: string, current: unknown, patch: unknown[]): unknown[] {
  const existing = Array.isArray(current) ? current : [];
  if (patch.some((item) => isObject(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item.$patch === 'replace')).map(stripDirectives);
  }
  const key = mergeKeyFor(field, [...patch, ...existing]);
  if (!key) {
    if (mergedPrimitiveLists.has(field)) return [...new Set([...existing, ...patch])];
    return patch.map(stripDirectives);
  }
  const result = [...existing];
  for (const item of patch) {
    if (!isObject(item)) continue;
    const index = result.findIndex((candidate) => isObject(candidate) && candidate[key] === item[key]);
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
    } else if (index >= 0) result[index] = applyStrategicMergePatch(result[index], item);
    else result.push(stripDirectives(item));
  }
  return result;
}

/**
 * Strategic merge patch as kubectl sends it (apply, edit, scale, rollout, set image): lists with a
 * merge key merge by that key, `$patch: delete|replace`, `$retainKeys`, `$deleteFromPrimitiveList/`,
 * and `$setElementOrder/` (accepted, order not enforced).
 */
export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'replace') return stripDirectives(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      const list = result[field];
      if (Array.isArray(list) && Array.isArray(value)) result[field] = list.filter((item) => !value.includes(item));
      continue;
    }
    if (value === null) delete result[key];
    else if (Array.isArray(value)) result[key] = mergeList(key, result[key], value);
    else if (isObject(value)) {
      if (value.$patch === 'delete') delete result[key];
      else result[key] = applyStrategicMergePatch(result[key], value);
    } else result[key] = value;
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}
