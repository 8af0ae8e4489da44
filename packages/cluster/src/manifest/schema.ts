import type { KubernetesObject } from '@kubernetes/client-node';
import { z } from 'zod';
import { droppedFields, toModelForm, toPlainObject } from '../model-form.js';
import { formatPath, type ManifestProblem } from './parse.js';

/** The kinds a learner may apply in a lab, with the apiVersion each needs. */
export const ALLOWED_KINDS = { Deployment: 'apps/v1', Service: 'v1', ConfigMap: 'v1' } as const;
export type AllowedKind = keyof typeof ALLOWED_KINDS;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const labels = z.record(
  z.string().max(317).regex(LABEL_KEY, { message: 'is not a valid label key' }),
  z.string().max(63).regex(LABEL_VALUE, { message: 'is not a valid label value' }),
);
const port = z.number().int().min(1).max(65535);
const protocol = z.enum(['TCP', 'UDP', 'SCTP']);
const intOrString = z.union([z.number().int().min(1).max(65535), z.string().min(1).max(15)]);

const metadata = (name: RegExp, nameRule: string) =>
  z.looseObject({
    name: z
      .string({ message: 'is missing' })
      .max(63)
      .regex(name, { message: `must be ${nameRule}` }),
    namespace: z.string().optional(),
    labels: labels.optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  });
const dnsLabelRule = 'lowercase letters, digits and "-", starting and ending with a letter or digit (at most 63)';

const container = z.looseObject({
  name: z.string({ message: 'is missing' }).regex(DNS1123_LABEL, { message: `must be ${dnsLabelRule}` }),
  image: z.string({ message: 'is missing' }).min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  ports: z.array(z.looseObject({ containerPort: port, protocol: protocol.optional() })).optional(),
  env: z.array(z.looseObject({ name: z.string().min(1), value: z.string().optional() })).optional(),
});

const DeploymentSchema = z.looseObject({
  metadata: metadata(DNS1123_LABEL, dnsLabelRule),
  spec: z.looseObject(
    {
      replicas: z.number().int().min(0).optional(),
      selector: z.looseObject({ matchLabels: labels.refine((value) => Object.keys(value).length > 0) }),
      template: z.looseObject({
        metadata: z.looseObject({ labels }),
        spec: z.looseObject({ containers: z.array(container).min(1) }),
      }),
    },
    { message: 'is missing' },
  ),
});

const ServiceSchema = z.looseObject({
  metadata: metadata(DNS1035_LABEL, 'lowercase letters, digits and "-", starting with a letter (at most 63)'),
  spec: z.looseObject(
    {
      type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).optional(),
      selector: z.record(z.string(), z.string()).optional(),
      ports: z
        .array(
          z.looseObject({
            port,
            targetPort: intOrString.optional(),
            protocol: protocol.optional(),
            name: z.string().optional(),
          }),
        )
        .min(1),
    },
    { message: 'is missing' },
  ),
});

const ConfigMapSchema = z.looseObject({
  metadata: metadata(DNS1123_SUBDOMAIN, 'lowercase letters, digits, "-" and "."'),
  data: z.record(z.string().regex(/^[-._a-zA-Z0-9]+$/, { message: 'is not a valid key' }), z.string()).optional(),
});

const SCHEMAS: Record<AllowedKind, z.ZodType> = {
  Deployment: DeploymentSchema,
  Service: ServiceSchema,
  ConfigMap: ConfigMapSchema,
};

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks one document against the Kubernetes schema of the allowed kinds: the kind and apiVersion, field types
 * of what labbot relies on, and (through client-node's models, generated from the upstream OpenAPI) any field
 * Kubernetes does not know, as `kubectl apply --validate=strict` refuses it.
 */
/** The empty `status: {}` (or `status: null`) that generated manifests carry. */
function isEmptyStatus(status: unknown): boolean {
  return status === null || (isRecord(status) && Object.keys(status).length === 0);
}

export function validateManifestObject(object: unknown): ManifestProblem[] {
  if (!isRecord(object))
    return [{ field: '', message: 'must be a Kubernetes object (a mapping with kind and apiVersion)' }];
  const kind = object['kind'];
  if (typeof kind !== 'string' || !(kind in ALLOWED_KINDS)) {
    return [
      {
        field: 'kind',
        message: `${typeof kind === 'string' ? `"${kind.slice(0, 60)}"` : 'a missing kind'} cannot be applied in a lab; allowed: ${Object.keys(ALLOWED_KINDS).join(', ')}`,
      },
    ];
  }
  const apiVersion = ALLOWED_KINDS[kind as AllowedKind];
  if (object['apiVersion'] !== apiVersion) {
    return [{ field: 'apiVersion', message: `must be ${apiVersion} for a ${kind}` }];
  }
  const problems: ManifestProblem[] = [];
  const parsed = SCHEMAS[kind as AllowedKind].safeParse(object, { reportInput: true });
  if (!parsed.success) {
    for (const issue of parsed.error.issues.slice(0, 10)) {
      problems.push({
        field: formatPath(issue.path.map((part) => (typeof part === 'number' ? part : String(part)))),
        message:
          issue.code === 'invalid_type' && issue.input === undefined
            ? 'is missing'
            : issue.code === 'custom'
              ? 'must not be empty'
              : issue.message.replace(/^Invalid input: /, ''),
      });
    }
  }
  // `kubectl create ... --dry-run=client -o yaml` prints an empty `status: {}`: that one is harmless (dropped on apply).
  if ('status' in object && !isEmptyStatus(object['status'])) {
    problems.push({ field: 'status', message: 'is written by Kubernetes, not by you' });
  }
  // Unknown fields are looked for on a well-typed object only: client-node's model conversion throws on ill-typed
  // input (e.g. containers given as a mapping), and the schema has already named what is wrong with it.
  if (parsed.success) {
    let modelForm: unknown;
    try {
      modelForm = toPlainObject(toModelForm(object as KubernetesObject));
    } catch {
      problems.push({
        field: '',
        message: `is not a valid ${kind}: a field holds a list where a mapping belongs, or the reverse`,
      });
    }
    if (modelForm !== undefined) {
      const unknown = droppedFields(object, modelForm).filter((field) => field !== 'status');
      for (const field of unknown.slice(0, 10)) problems.push({ field, message: 'is not a field Kubernetes knows' });
    }
  }
  if (kind === 'Deployment' && problems.length === 0) {
    const spec = object['spec'] as {
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> } };
    };
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
      if (spec.template.metadata.labels[key] !== value) {
        problems.push({
          field: 'spec.selector.matchLabels',
          message: `selects ${key}=${value} but spec.template.metadata.labels has no such label`,
        });
      }
    }
  }
  return problems;
}
