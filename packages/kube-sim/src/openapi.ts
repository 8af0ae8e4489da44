import { createHash } from 'node:crypto';
import * as models from '@kubernetes/client-node';
import { patchMergeKeys } from './patch.js';
import { groupVersionOf, type ResourceType, resourceTypes } from './resources.js';
import { isObject, type JsonObject } from './types.js';

/**
 * The OpenAPI v3 documents are generated from the model classes of @kubernetes/client-node, which
 * upstream generates from the Kubernetes OpenAPI spec; each class lists its fields and their types
 * (`attributeTypeMap`). Nothing here describes a field by hand except the merge keys the server's
 * strategic merge also uses.
 */
interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

type ModelClass = { getAttributeTypeMap(): Attribute[] };

function modelClass(name: string): ModelClass | undefined {
  const candidate = (models as unknown as Record<string, unknown>)[name];
  if (typeof candidate === 'function' && 'getAttributeTypeMap' in candidate) return candidate as unknown as ModelClass;
  return undefined;
}

function schemaForType(type: string, format: string, pending: string[]): JsonObject {
  const array = /^Array<(.+)>$/.exec(type);
  if (array?.[1]) return { type: 'array', items: schemaForType(array[1], '', pending) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map?.[1]) return { type: 'object', additionalProperties: schemaForType(map[1], '', pending) };
  switch (type) {
    case 'string':
      return format ? { type: 'string', format } : { type: 'string' };
    case 'Date':
      return { type: 'string', format: 'date-time' };
    case 'number':
      return format === 'int32' || format === 'int64'
        ? { type: 'integer', format }
        : { type: 'number', format: format || 'double' };
    case 'boolean':
      return { type: 'boolean' };
    case 'any':
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'IntOrString':
      return { 'x-kubernetes-int-or-string': true };
    default:
      if (modelClass(type)) {
        pending.push(type);
        return { allOf: [{ $ref: `#/components/schemas/${type}` }] };
      }
      return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

const quantityFields = new Set([
  'limits',
  'requests',
  'hard',
  'used',
  'default',
  'defaultRequest',
  'max',
  'min',
  'maxLimitRequestRatio',
  'capacity',
  'allocatable',
]);

function buildSchema(name: string, pending: string[]): JsonObject {
  const model = modelClass(name);
  const properties: JsonObject = {};
  for (const attribute of model?.getAttributeTypeMap() ?? []) {
    let schema = schemaForType(attribute.type, attribute.format, pending);
    if (quantityFields.has(attribute.baseName) && attribute.type.startsWith('{ [key: string]: string')) {
      schema = { type: 'object', additionalProperties: { 'x-kubernetes-int-or-string': true } };
    }
    const mergeKey = patchMergeKeys[attribute.baseName];
    if (mergeKey && schema.type === 'array') {
      schema['x-kubernetes-patch-merge-key'] = mergeKey;
      schema['x-kubernetes-patch-strategy'] = 'merge';
      schema['x-kubernetes-list-type'] = 'map';
      schema['x-kubernetes-list-map-keys'] = [mergeKey];
    }
    properties[attribute.baseName] = schema;
  }
  return { type: 'object', properties };
}

export function modelNameOf(resource: ResourceType): string {
  return `V1${resource.kind}`;
}

/** Every schema reachable from the served kinds, keyed by the client-node model name. */
function buildComponents(roots: string[]): Record<string, JsonObject> {
  const schemas: Record<string, JsonObject> = {};
  const pending = [...roots, 'V1Scale', 'V1Status'];
  while (pending.length > 0) {
    const name = pending.pop();
    if (!name || schemas[name]) continue;
    schemas[name] = buildSchema(name, pending);
  }
  return schemas;
}

let cachedComponents: Record<string, JsonObject> | undefined;

function components(): Record<string, JsonObject> {
  cachedComponents ??= buildComponents(resourceTypes.map(modelNameOf));
  return cachedComponents;
}

function gvkExtension(resource: ResourceType) {
  return [{ group: resource.group, version: resource.version, kind: resource.kind }];
}

const parameterNames = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function pathsFor(resource: ResourceType): JsonObject {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`;
  const collection = resource.namespaced
    ? `${base}/namespaces/{namespace}/${resource.plural}`
    : `${base}/${resource.plural}`;
  const ref = { $ref: `#/components/schemas/${modelNameOf(resource)}` };
  const response = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const queryParameters = parameterNames.map((name) => ({
    name,
    in: 'query',
    schema: { type: 'string' },
    uniqueItems: true,
  }));
  const operation = (action: string, extra: JsonObject = {}) => ({
    operationId: `${action}${resource.kind}`,
    responses: response,
    parameters: queryParameters,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvkExtension(resource)[0],
    ...extra,
  });
  return {
    [collection]: {
      get: operation('list'),
      post: operation('post', { requestBody: { content: { '*/*': { schema: ref } } } }),
    },
    [`${collection}/{name}`]: {
      get: operation('get'),
      put: operation('put', { requestBody: { content: { '*/*': { schema: ref } } } }),
      patch: operation('patch', {
        requestBody: {
          content: {
            'application/apply-patch+yaml': { schema: { type: 'object' } },
            'application/json-patch+json': { schema: { type: 'object' } },
            'application/merge-patch+json': { schema: { type: 'object' } },
            'application/strategic-merge-patch+json': { schema: { type: 'object' } },
          },
        },
      }),
      delete: operation('delete'),
    },
  };
}

/** The OpenAPI v3 document of one group version (`api/v1`, `apis/apps/v1`). */
export function openApiV3Document(path: string): JsonObject | undefined {
  const served = resourceTypes.filter((r) => `${r.group ? 'apis/' : 'api/'}${groupVersionOf(r)}` === path);
  if (served.length === 0) return undefined;
  const all = components();
  const schemas: Record<string, JsonObject> = {};
  for (const [name, schema] of Object.entries(all)) schemas[name] = schema;
  for (const resource of served) {
    const name = modelNameOf(resource);
    const schema = all[name];
    if (schema) schemas[name] = { ...schema, 'x-kubernetes-group-version-kind': gvkExtension(resource) };
  }
  const paths: JsonObject = {};
  for (const resource of served) Object.assign(paths, pathsFor(resource));
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0-kube-sim' },
    paths,
    components: { schemas },
  };
}

const documentHashes = new Map<string, string>();

/** `/openapi/v3`: the index of group-version documents, each with a content hash like the real server. */
export function openApiV3Index(): JsonObject {
  const paths: JsonObject = {};
  for (const resource of resourceTypes) {
    const path = `${resource.group ? 'apis/' : 'api/'}${groupVersionOf(resource)}`;
    if (paths[path]) continue;
    let hash = documentHashes.get(path);
    if (!hash) {
      hash = createHash('sha512')
        .update(JSON.stringify(openApiV3Document(path)))
        .digest('hex')
        .slice(0, 128)
        .toUpperCase();
      documentHashes.set(path, hash);
    }
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

/** Fields of `object` that the schema of `resource` does not know, as `spec.replica` paths (fieldValidation=Strict). */
export function unknownFields(resource: ResourceType, object: unknown): string[] {
  const all = components();
  const found: string[] = [];
  const visit = (schema: JsonObject | undefined, value: unknown, path: string) => {
    if (!schema || value === null || value === undefined) return;
    const allOf = Array.isArray(schema.allOf) ? schema.allOf : [];
    const ref = allOf[0];
    if (isObject(ref) && typeof ref.$ref === 'string') {
      visit(all[ref.$ref.split('/').pop() ?? ''], value, path);
      return;
    }
    if (schema.type === 'array' && Array.isArray(value) && isObject(schema.items)) {
      for (const [index, item] of value.entries()) visit(schema.items as JsonObject, item, `${path}[${index}]`);
      return;
    }
    if (schema.type !== 'object' || !isObject(value)) return;
    if (isObject(schema.additionalProperties)) {
      for (const [key, inner] of Object.entries(value)) visit(schema.additionalProperties, inner, `${path}.${key}`);
      return;
    }
    if (!isObject(schema.properties)) return;
    for (const [key, inner] of Object.entries(value)) {
      const child = schema.properties[key];
      const childPath = path ? `${path}.${key}` : key;
      if (!isObject(child)) found.push(childPath);
      else visit(child, inner, childPath);
    }
  };
  visit(all[modelNameOf(resource)], object, '');
  return found;
}
