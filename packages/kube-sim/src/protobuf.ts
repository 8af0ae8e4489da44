import { badRequest } from './api-error.js';
import type { JsonObject } from './types.js';

/**
 * Decoder for the Kubernetes protobuf envelope (`k8s\0` + runtime.Unknown) that kubectl's typed
 * clients send for `kubectl create <kind>`. It knows the field numbers (from upstream's
 * generated.proto) of the kinds and fields those commands produce; unknown fields are skipped.
 */
type Field =
  | [
      name: string,
      kind:
        | 'string'
        | 'bool'
        | 'int'
        | 'intKeepZero'
        | 'strings'
        | 'map'
        | 'bytesMap'
        | 'quantityMap'
        | 'intOrString'
        | 'skip',
    ]
  | [name: string, kind: 'message' | 'messages', type: string];

const meta: Record<number, Field> = {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  11: ['labels', 'map'],
  12: ['annotations', 'map'],
  14: ['finalizers', 'strings'],
};

const schemas: Record<string, Record<number, Field>> = {
  Unknown: { 1: ['typeMeta', 'message', 'TypeMeta'], 2: ['raw', 'skip'] },
  TypeMeta: { 1: ['apiVersion', 'string'], 2: ['kind', 'string'] },
  ObjectMeta: meta,
  Namespace: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'NamespaceSpec'] },
  NamespaceSpec: { 1: ['finalizers', 'strings'] },
  ConfigMap: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['data', 'map'], 4: ['immutable', 'bool'] },
  ServiceAccount: { 1: ['metadata', 'message', 'ObjectMeta'], 4: ['automountServiceAccountToken', 'bool'] },
  ResourceQuota: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'ResourceQuotaSpec'] },
  ResourceQuotaSpec: { 1: ['hard', 'quantityMap'], 2: ['scopes', 'strings'] },
  Service: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'ServiceSpec'] },
  ServiceSpec: {
    1: ['ports', 'messages', 'ServicePort'],
    2: ['selector', 'map'],
    3: ['clusterIP', 'string'],
    4: ['type', 'string'],
    6: ['externalName', 'string'],
  },
  ServicePort: {
    1: ['name', 'string'],
    2: ['protocol', 'string'],
    3: ['port', 'int'],
    4: ['targetPort', 'intOrString'],
    5: ['nodePort', 'int'],
  },
  Deployment: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'DeploymentSpec'] },
  DeploymentSpec: {
    1: ['replicas', 'intKeepZero'],
    2: ['selector', 'message', 'LabelSelector'],
    3: ['template', 'message', 'PodTemplateSpec'],
    4: ['strategy', 'message', 'DeploymentStrategy'],
    5: ['minReadySeconds', 'int'],
    7: ['paused', 'bool'],
  },
  DeploymentStrategy: { 1: ['type', 'string'] },
  LabelSelector: { 1: ['matchLabels', 'map'], 2: ['matchExpressions', 'messages', 'LabelSelectorRequirement'] },
  LabelSelectorRequirement: { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'strings'] },
  PodTemplateSpec: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'PodSpec'] },
  PodSpec: {
    2: ['containers', 'messages', 'Container'],
    3: ['restartPolicy', 'string'],
    8: ['serviceAccountName', 'string'],
    20: ['initContainers', 'messages', 'Container'],
  },
  Container: {
    1: ['name', 'string'],
    2: ['image', 'string'],
    3: ['command', 'strings'],
    4: ['args', 'strings'],
    5: ['workingDir', 'string'],
    6: ['ports', 'messages', 'ContainerPort'],
    7: ['env', 'messages', 'EnvVar'],
    8: ['resources', 'message', 'ResourceRequirements'],
    14: ['imagePullPolicy', 'string'],
  },
  ContainerPort: {
    1: ['name', 'string'],
    2: ['hostPort', 'int'],
    3: ['containerPort', 'int'],
    4: ['protocol', 'string'],
  },
  EnvVar: { 1: ['name', 'string'], 2: ['value', 'string'] },
  ResourceRequirements: { 1: ['limits', 'quantityMap'], 2: ['requests', 'quantityMap'] },
  Role: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['rules', 'messages', 'PolicyRule'] },
  PolicyRule: {
    1: ['verbs', 'strings'],
    2: ['apiGroups', 'strings'],
    3: ['resources', 'strings'],
    4: ['resourceNames', 'strings'],
    5: ['nonResourceURLs', 'strings'],
  },
  RoleBinding: {
    1: ['metadata', 'message', 'ObjectMeta'],
    2: ['subjects', 'messages', 'Subject'],
    3: ['roleRef', 'message', 'RoleRef'],
  },
  Subject: { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] },
  RoleRef: { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] },
  ClusterRole: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['rules', 'messages', 'PolicyRule'] },
  ClusterRoleBinding: {
    1: ['metadata', 'message', 'ObjectMeta'],
    2: ['subjects', 'messages', 'Subject'],
    3: ['roleRef', 'message', 'RoleRef'],
  },
  Secret: {
    1: ['metadata', 'message', 'ObjectMeta'],
    2: ['data', 'bytesMap'],
    3: ['type', 'string'],
    4: ['stringData', 'map'],
    5: ['immutable', 'bool'],
  },
  TokenRequest: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'TokenRequestSpec'] },
  TokenRequestSpec: { 1: ['audiences', 'strings'], 4: ['expirationSeconds', 'int'] },
  SelfSubjectAccessReview: {
    1: ['metadata', 'message', 'ObjectMeta'],
    2: ['spec', 'message', 'SelfSubjectAccessReviewSpec'],
  },
  SelfSubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'message', 'ResourceAttributes'],
    2: ['nonResourceAttributes', 'message', 'NonResourceAttributes'],
  },
  SubjectAccessReview: { 1: ['metadata', 'message', 'ObjectMeta'], 2: ['spec', 'message', 'SubjectAccessReviewSpec'] },
  SubjectAccessReviewSpec: {
    1: ['resourceAttributes', 'message', 'ResourceAttributes'],
    2: ['nonResourceAttributes', 'message', 'NonResourceAttributes'],
    3: ['user', 'string'],
    4: ['groups', 'strings'],
    6: ['uid', 'string'],
  },
  ResourceAttributes: {
    1: ['namespace', 'string'],
    2: ['verb', 'string'],
    3: ['group', 'string'],
    4: ['version', 'string'],
    5: ['resource', 'string'],
    6: ['subresource', 'string'],
    7: ['name', 'string'],
  },
  NonResourceAttributes: { 1: ['path', 'string'], 2: ['verb', 'string'] },
  SelfSubjectRulesReview: {
    1: ['metadata', 'message', 'ObjectMeta'],
    2: ['spec', 'message', 'SelfSubjectRulesReviewSpec'],
  },
  SelfSubjectRulesReviewSpec: { 1: ['namespace', 'string'] },
  SelfSubjectReview: { 1: ['metadata', 'message', 'ObjectMeta'] },
};

interface RawField {
  number: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buffer: Buffer, start: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  let position = start;
  for (let i = 0; i < 10; i++) {
    const byte = buffer[position++];
    if (byte === undefined) throw badRequest('truncated protobuf varint');
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [result, position];
    shift += 7n;
  }
  throw badRequest('protobuf varint too long');
}

function readFields(buffer: Buffer): RawField[] {
  const fields: RawField[] = [];
  let position = 0;
  while (position < buffer.length) {
    const [key, afterKey] = readVarint(buffer, position);
    position = afterKey;
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const [value, next] = readVarint(buffer, position);
      fields.push({ number, varint: value });
      position = next;
    } else if (wireType === 2) {
      const [length, next] = readVarint(buffer, position);
      const end = next + Number(length);
      if (end > buffer.length) throw badRequest('truncated protobuf field');
      fields.push({ number, bytes: buffer.subarray(next, end) });
      position = end;
    } else if (wireType === 1) position += 8;
    else if (wireType === 5) position += 4;
    else throw badRequest(`unsupported protobuf wire type ${wireType}`);
  }
  return fields;
}

function decodeEntry(bytes: Buffer, valueIsQuantity: boolean, valueIsBytes = false): [string, string] {
  let key = '';
  let value = '';
  for (const field of readFields(bytes)) {
    if (field.number === 1) key = field.bytes?.toString('utf8') ?? '';
    if (field.number === 2 && field.bytes) {
      value = valueIsQuantity
        ? (readFields(field.bytes)
            .find((f) => f.number === 1)
            ?.bytes?.toString('utf8') ?? '')
        : field.bytes.toString(valueIsBytes ? 'base64' : 'utf8');
    }
  }
  return [key, value];
}

function decodeMessage(bytes: Buffer, type: string): JsonObject {
  const schema = schemas[type] ?? {};
  const out: JsonObject = {};
  for (const field of readFields(bytes)) {
    const spec = schema[field.number];
    if (!spec) continue;
    const [name, kind] = spec;
    switch (kind) {
      case 'string': {
        const text = field.bytes?.toString('utf8') ?? '';
        if (text) out[name] = text;
        break;
      }
      case 'strings':
        out[name] = [...((out[name] as string[] | undefined) ?? []), field.bytes?.toString('utf8') ?? ''];
        break;
      case 'bool':
        if (field.varint) out[name] = true;
        break;
      case 'int':
        if (field.varint) out[name] = Number(BigInt.asIntN(64, field.varint));
        break;
      case 'intKeepZero':
        out[name] = Number(BigInt.asIntN(64, field.varint ?? 0n));
        break;
      case 'map':
      case 'bytesMap':
      case 'quantityMap': {
        const [key, value] = decodeEntry(field.bytes ?? Buffer.alloc(0), kind === 'quantityMap', kind === 'bytesMap');
        out[name] = { ...((out[name] as JsonObject | undefined) ?? {}), [key]: value };
        break;
      }
      case 'intOrString': {
        const parts = readFields(field.bytes ?? Buffer.alloc(0));
        const isString = parts.find((p) => p.number === 1)?.varint === 1n;
        out[name] = isString
          ? (parts.find((p) => p.number === 3)?.bytes?.toString('utf8') ?? '')
          : Number(parts.find((p) => p.number === 2)?.varint ?? 0n);
        break;
      }
      case 'message':
        out[name] = decodeMessage(field.bytes ?? Buffer.alloc(0), spec[2]);
        break;
      case 'messages':
        out[name] = [
          ...((out[name] as JsonObject[] | undefined) ?? []),
          decodeMessage(field.bytes ?? Buffer.alloc(0), spec[2]),
        ];
        break;
      default:
    }
  }
  return out;
}

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** Decodes a `application/vnd.kubernetes.protobuf` request body into the JSON object it carries. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) throw badRequest('protobuf body without the k8s envelope');
  const envelope = readFields(body.subarray(4));
  const typeMetaBytes = envelope.find((f) => f.number === 1)?.bytes;
  const raw = envelope.find((f) => f.number === 2)?.bytes;
  const typeMeta = typeMetaBytes ? decodeMessage(typeMetaBytes, 'TypeMeta') : {};
  const kind = String(typeMeta.kind ?? '');
  if (!raw || !schemas[kind])
    throw badRequest(`kube-sim cannot decode protobuf for kind ${kind || '(none)'}; send JSON`);
  return { apiVersion: typeMeta.apiVersion, kind, ...decodeMessage(raw, kind) };
}
