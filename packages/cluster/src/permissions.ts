import {
  AuthenticationV1Api,
  AuthorizationV1Api,
  type KubeConfig,
  type V1ResourceAttributes,
} from '@kubernetes/client-node';
import { toClusterError } from './cluster-errors.js';

/** The ClusterRole of what the runner does inside a lab namespace, bound there by a RoleBinding the runner makes. */
export const LAB_MANAGER_CLUSTER_ROLE = 'labbot-lab-manager';
/** The cluster-wide ClusterRole (and ClusterRoleBinding) of the runner itself. */
export const RUNNER_CLUSTER_ROLE = 'labbot-runner';
/** The runner's RoleBinding in each lab namespace. */
export const RUNNER_ROLE_BINDING = 'labbot-runner';

/** One permission the runner needs, where it needs it, and why. */
export interface RunnerPermission {
  /** `cluster`: cluster-wide (its ClusterRole); `lab`: inside every lab namespace (the lab-manager ClusterRole). */
  scope: 'cluster' | 'lab';
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
  why: string;
}

const core = '';
const rbac = 'rbac.authorization.k8s.io';

/** Everything the runner does with the Kubernetes API; `infra/k8s/runner-rbac.yaml` grants exactly this. */
export const RUNNER_PERMISSIONS: readonly RunnerPermission[] = [
  ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({
    scope: 'cluster' as const,
    verb,
    group: core,
    resource: 'namespaces',
    why: 'lab namespaces (created, labelled, swept by the janitor, deleted)',
  })),
  ...['list', 'watch'].map((verb) => ({
    scope: 'cluster' as const,
    verb,
    group: core,
    resource: 'pods',
    why: 'the one shared pod watch over every lab namespace',
  })),
  ...['list', 'watch'].map((verb) => ({
    scope: 'cluster' as const,
    verb,
    group: core,
    resource: 'nodes',
    why: "the capacity check before a class: the nodes' allocatable pods, CPU and memory (read-only, watched)",
  })),
  ...['get', 'create', 'patch'].map((verb) => ({
    scope: 'cluster' as const,
    verb,
    group: rbac,
    resource: 'rolebindings',
    why: "the runner's own RoleBinding in each new lab namespace",
  })),
  {
    scope: 'cluster',
    verb: 'bind',
    group: rbac,
    resource: 'clusterroles',
    name: LAB_MANAGER_CLUSTER_ROLE,
    why: `binding ${LAB_MANAGER_CLUSTER_ROLE} (and nothing else) in lab namespaces`,
  },
  ...(
    [
      [core, 'pods', ['get', 'list', 'watch', 'delete']],
      [core, 'pods/log', ['get']],
      [core, 'events', ['get', 'list', 'watch']],
      [core, 'services', ['get', 'list', 'create', 'patch']],
      [core, 'configmaps', ['get', 'list', 'create', 'patch']],
      [core, 'serviceaccounts', ['get', 'create', 'patch']],
      [core, 'secrets', ['get', 'create', 'patch']],
      [core, 'resourcequotas', ['get', 'create', 'patch']],
      [core, 'limitranges', ['get', 'create', 'patch']],
      ['apps', 'deployments', ['get', 'list', 'watch', 'create', 'patch', 'delete']],
      ['apps', 'deployments/scale', ['get', 'patch']],
      ['apps', 'replicasets', ['get', 'list', 'watch']],
      ['networking.k8s.io', 'networkpolicies', ['get', 'create', 'patch']],
      [rbac, 'roles', ['get', 'create', 'patch']],
      [rbac, 'rolebindings', ['get', 'create', 'patch']],
    ] as const
  ).flatMap(([group, path, verbs]) =>
    verbs.map((verb) => {
      const [resource = '', subresource] = path.split('/');
      return {
        scope: 'lab' as const,
        verb,
        group,
        resource,
        ...(subresource ? { subresource } : {}),
        why: 'guard rails, the lesson Deployment, diagnosis and the learner kubectl subset',
      };
    }),
  ),
  {
    scope: 'lab',
    verb: 'impersonate',
    group: core,
    resource: 'serviceaccounts',
    name: 'lab-learner',
    why: '/lab kubectl runs as the learner ServiceAccount',
  },
];

/** `create namespaces` / `patch deployments.apps/scale` / `bind clusterroles.rbac.authorization.k8s.io labbot-lab-manager`. */
export function describePermission(permission: RunnerPermission): string {
  const resource = `${permission.resource}${permission.group ? `.${permission.group}` : ''}${permission.subresource ? `/${permission.subresource}` : ''}`;
  return `${permission.verb} ${resource}${permission.name ? ` ${permission.name}` : ''}`;
}

/** The RBAC rule that grants a permission, and the ClusterRole it belongs in. */
export function ruleToAdd(permission: RunnerPermission): string {
  const resource = permission.subresource ? `${permission.resource}/${permission.subresource}` : permission.resource;
  const names = permission.name ? `, resourceNames: [${permission.name}]` : '';
  const role = permission.scope === 'cluster' ? RUNNER_CLUSTER_ROLE : LAB_MANAGER_CLUSTER_ROLE;
  return `add to ClusterRole ${role}: - { apiGroups: ["${permission.group}"], resources: [${resource}], verbs: [${permission.verb}]${names} }`;
}

export interface PermissionCheck {
  permission: RunnerPermission;
  allowed: boolean;
}

/**
 * Asks the API server (SelfSubjectAccessReview) whether the current identity holds each permission the
 * runner needs: the cluster-wide ones, and the lab ones inside `labNamespace` when one exists.
 */
export async function checkRunnerPermissions(
  kubeConfig: KubeConfig,
  options: { labNamespace?: string } = {},
): Promise<PermissionCheck[]> {
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  const wanted = RUNNER_PERMISSIONS.filter((p) => p.scope === 'cluster' || options.labNamespace);
  return Promise.all(
    wanted.map(async (permission) => {
      const resourceAttributes: V1ResourceAttributes = {
        verb: permission.verb,
        group: permission.group,
        resource: permission.resource,
        ...(permission.subresource ? { subresource: permission.subresource } : {}),
        ...(permission.name ? { name: permission.name } : {}),
        ...(permission.scope === 'lab' && options.labNamespace ? { namespace: options.labNamespace } : {}),
      };
      try {
        const review = await authorization.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes } } });
        return { permission, allowed: review.status?.allowed === true };
      } catch (error) {
        throw toClusterError(error, 'check permissions');
      }
    }),
  );
}

/** Who the API server says we are (SelfSubjectReview, as `kubectl auth whoami`). */
export async function whoAmI(kubeConfig: KubeConfig): Promise<{ username: string; groups: string[] }> {
  const authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
  try {
    const review = await authentication.createSelfSubjectReview({ body: {} });
    return { username: review.status?.userInfo?.username ?? '', groups: review.status?.userInfo?.groups ?? [] };
  } catch (error) {
    throw toClusterError(error, 'ask who the runner is');
  }
}

/** The RBAC subject of a user name: a ServiceAccount for `system:serviceaccount:<ns>:<name>`, else a User. */
export function subjectOf(username: string): { kind: string; name: string; namespace?: string; apiGroup?: string } {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  if (match?.[1] && match[2]) return { kind: 'ServiceAccount', name: match[2], namespace: match[1] };
  return { kind: 'User', name: username, apiGroup: rbac };
}
