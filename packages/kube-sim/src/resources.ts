/** One served resource: what discovery lists and what the router and store key on. */
export interface ResourceType {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  verbs: string[];
  subresources: string[];
  categories?: string[];
  /** Served by the simulator itself; clients may read it but not write it. */
  readOnly?: boolean;
  /** A review (access review, whoami): only `create`, answered at once and never stored. */
  review?: boolean;
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function define(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames: [],
    verbs: allVerbs,
    subresources: [],
    ...extra,
  };
}

export const resourceTypes: readonly ResourceType[] = [
  define('', 'v1', 'Namespace', 'namespaces', false, {
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
  }),
  define('', 'v1', 'Node', 'nodes', false, {
    shortNames: ['no'],
    verbs: ['get', 'list', 'watch'],
    readOnly: true,
    subresources: ['status'],
  }),
  define('', 'v1', 'Pod', 'pods', true, {
    shortNames: ['po'],
    subresources: ['exec', 'log', 'status'],
    categories: ['all'],
  }),
  define('', 'v1', 'Service', 'services', true, {
    shortNames: ['svc'],
    subresources: ['status'],
    categories: ['all'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  }),
  define('', 'v1', 'ServiceAccount', 'serviceaccounts', true, { shortNames: ['sa'], subresources: ['token'] }),
  define('', 'v1', 'Secret', 'secrets', true),
  define('', 'v1', 'ConfigMap', 'configmaps', true, { shortNames: ['cm'] }),
  // Stored and validated, not acted on: labbot's own manifests (infra/k8s) use them.
  define('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, {
    shortNames: ['pvc'],
    subresources: ['status'],
  }),
  define('', 'v1', 'ResourceQuota', 'resourcequotas', true, { shortNames: ['quota'], subresources: ['status'] }),
  define('', 'v1', 'LimitRange', 'limitranges', true, { shortNames: ['limits'] }),
  define('', 'v1', 'Event', 'events', true, { shortNames: ['ev'] }),
  define('apps', 'v1', 'Deployment', 'deployments', true, {
    shortNames: ['deploy'],
    subresources: ['scale', 'status'],
    categories: ['all'],
  }),
  define('apps', 'v1', 'ReplicaSet', 'replicasets', true, {
    shortNames: ['rs'],
    subresources: ['scale', 'status'],
    categories: ['all'],
  }),
  define('apps', 'v1', 'StatefulSet', 'statefulsets', true, {
    shortNames: ['sts'],
    subresources: ['scale', 'status'],
    categories: ['all'],
  }),
  define('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', true, {
    shortNames: ['pdb'],
    subresources: ['status'],
  }),
  define('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', true, { shortNames: ['netpol'] }),
  define('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  define('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  define('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  define('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  define('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', false, {
    verbs: ['create'],
    review: true,
  }),
  define('authorization.k8s.io', 'v1', 'SubjectAccessReview', 'subjectaccessreviews', false, {
    verbs: ['create'],
    review: true,
  }),
  define('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', false, {
    verbs: ['create'],
    review: true,
  }),
  define('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', false, {
    verbs: ['create'],
    review: true,
  }),
];

export function groupVersionOf(resource: ResourceType): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

export function resourceKey(resource: ResourceType): string {
  return `${resource.group}/${resource.plural}`;
}

export function findResource(group: string, version: string, plural: string): ResourceType | undefined {
  return resourceTypes.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function resourceByKind(kind: string): ResourceType {
  const found = resourceTypes.find((r) => r.kind === kind);
  if (!found) throw new Error(`kube-sim serves no kind ${kind}`);
  return found;
}

/** Group versions in the order discovery lists them. */
export function servedGroups(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of resourceTypes) if (r.group) seen.set(r.group, { group: r.group, version: r.version });
  return [...seen.values()];
}
