import type { KubernetesObject } from '@kubernetes/client-node';
import {
  assertDnsLabel,
  assertLabId,
  CLASS_LABEL,
  EXPIRES_AT_ANNOTATION,
  LAB_LABEL,
  LESSON_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_LABEL,
  toLabelValue,
  WARM_LABEL,
} from './labels.js';
import { RUNNER_ROLE_BINDING } from './permissions.js';
import { cpuToMillicores, formatCpu, formatMemory, memoryToBytes } from './quantity.js';

/** What one lesson asks for. */
export interface LabLimits {
  /** CPU limit of one lesson pod (a quantity: "250m"). */
  cpu: string;
  /** Memory limit of one lesson pod (a quantity: "64Mi"). */
  memory: string;
  /** The most pods the lesson runs at once (its replicas); the quota adds one rolling-update surge pod. */
  pods: number;
}

/** What an operator allows any lab namespace at most (totals of the namespace). */
export interface ClusterCeilings {
  cpu: string;
  memory: string;
  pods: number;
}

export interface ProvisionNamespaceOptions {
  labId: string;
  namespace: string;
  /** The learner as a short label-safe key (core's ownerKeyFor); never the raw platform user id. */
  ownerKey: string;
  lessonId: string;
  classId?: string | undefined;
  /** A warm lab (prepared before a learner joins): its namespace carries the warm label of its class. */
  warm?: boolean | undefined;
  expiresAt: Date | string;
  limits: LabLimits;
}

export const LEARNER_SERVICE_ACCOUNT = 'lab-learner';

/** The learner Role's rules: `get/describe/logs/scale/delete pod/rollout status` and nothing else. */
export const LEARNER_RULES = [
  { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'delete'] },
  { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
  { apiGroups: [''], resources: ['events'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'list'] },
  { apiGroups: ['apps'], resources: ['deployments', 'replicasets'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['get', 'patch'] },
];

/** The user name of a lab's learner ServiceAccount, which `/lab kubectl` impersonates. */
export function learnerUsername(namespace: string): string {
  return `system:serviceaccount:${namespace}:${LEARNER_SERVICE_ACCOUNT}`;
}

/** The runner's RoleBinding in a lab namespace: its lab-manager ClusterRole, for this namespace only. */
export function buildRunnerRoleBinding(
  namespace: string,
  subject: { kind: string; name: string; namespace?: string; apiGroup?: string },
  clusterRole: string,
): KubernetesObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: RUNNER_ROLE_BINDING, namespace, labels: guardRailLabels() },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    subjects: [subject],
  } as KubernetesObject;
}
export const LEARNER_ROLE = 'lab-learner';
export const QUOTA_NAME = 'labbot-quota';
export const LIMIT_RANGE_NAME = 'labbot-limits';
export const SERVICES_PER_LAB = 2;

/** Resource figures of a lab namespace once lesson limits are clamped by the operator's ceilings. */
export interface QuotaPlan {
  pods: number;
  podCpuMillicores: number;
  podCpuRequestMillicores: number;
  podMemoryBytes: number;
  podMemoryRequestBytes: number;
  limitsCpuMillicores: number;
  requestsCpuMillicores: number;
  limitsMemoryBytes: number;
  requestsMemoryBytes: number;
}

/** The quota: room for the lesson's pods plus ONE rolling-update surge pod, never above the ceilings. */
export function planQuota(limits: LabLimits, ceilings: ClusterCeilings): QuotaPlan {
  const ceilingCpu = cpuToMillicores(ceilings.cpu);
  const ceilingMemory = memoryToBytes(ceilings.memory);
  const pods = Math.max(1, Math.min(Math.floor(limits.pods) + 1, Math.floor(ceilings.pods)));
  const podCpuMillicores = Math.min(cpuToMillicores(limits.cpu), ceilingCpu);
  const podMemoryBytes = Math.min(memoryToBytes(limits.memory), ceilingMemory);
  // Requests are half the CPU limit (pods may burst) and the whole memory limit (no overcommit, no surprise OOM).
  const podCpuRequestMillicores = Math.max(1, Math.ceil(podCpuMillicores / 2));
  const podMemoryRequestBytes = podMemoryBytes;
  return {
    pods,
    podCpuMillicores,
    podCpuRequestMillicores,
    podMemoryBytes,
    podMemoryRequestBytes,
    limitsCpuMillicores: Math.min(podCpuMillicores * pods, ceilingCpu),
    requestsCpuMillicores: Math.min(podCpuRequestMillicores * pods, ceilingCpu),
    limitsMemoryBytes: Math.min(podMemoryBytes * pods, ceilingMemory),
    requestsMemoryBytes: Math.min(podMemoryRequestBytes * pods, ceilingMemory),
  };
}

/** The labels every object of a lab namespace carries. */
export function labLabels(labId: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [LAB_LABEL]: labId };
}

/**
 * The labels of a lab namespace's guard rails (quota, limits, policies, accounts, roles): labbot's, and nothing per
 * lab, like its Deployment: the namespace says whose lab it is, so a warm lab handed to a learner is relabelled by
 * its Namespace alone and nothing inside still names the warm lab.
 */
export function guardRailLabels(): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
}

/** Every object of a lab namespace, Namespace first, in apply order. Pure: the same input gives the same objects. */
export function buildNamespaceObjects(
  options: ProvisionNamespaceOptions,
  ceilings: ClusterCeilings,
): KubernetesObject[] {
  assertLabId(options.labId);
  assertDnsLabel(options.namespace, 'namespace');
  const { namespace } = options;
  const meta = (name: string) => ({ name, namespace, labels: guardRailLabels() });
  const plan = planQuota(options.limits, ceilings);
  const expiresAt = typeof options.expiresAt === 'string' ? options.expiresAt : options.expiresAt.toISOString();

  const namespaceObject = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: namespace,
      labels: {
        ...labLabels(options.labId),
        [OWNER_LABEL]: toLabelValue(options.ownerKey),
        [LESSON_LABEL]: toLabelValue(options.lessonId),
        ...(options.classId ? { [CLASS_LABEL]: toLabelValue(options.classId) } : {}),
        ...(options.warm && options.classId ? { [WARM_LABEL]: toLabelValue(options.classId) } : {}),
        'pod-security.kubernetes.io/enforce': 'restricted',
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/audit': 'restricted',
      },
      annotations: { [EXPIRES_AT_ANNOTATION]: expiresAt },
    },
  };

  const resourceQuota = {
    apiVersion: 'v1',
    kind: 'ResourceQuota',
    metadata: meta(QUOTA_NAME),
    spec: {
      hard: {
        pods: String(plan.pods),
        'requests.cpu': formatCpu(plan.requestsCpuMillicores),
        'limits.cpu': formatCpu(plan.limitsCpuMillicores),
        'requests.memory': formatMemory(plan.requestsMemoryBytes),
        'limits.memory': formatMemory(plan.limitsMemoryBytes),
        services: String(SERVICES_PER_LAB),
        'services.nodeports': '0',
        'services.loadbalancers': '0',
      },
    },
  };

  const limitRange = {
    apiVersion: 'v1',
    kind: 'LimitRange',
    metadata: meta(LIMIT_RANGE_NAME),
    spec: {
      limits: [
        {
          type: 'Container',
          default: { cpu: formatCpu(plan.podCpuMillicores), memory: formatMemory(plan.podMemoryBytes) },
          defaultRequest: {
            cpu: formatCpu(plan.podCpuRequestMillicores),
            memory: formatMemory(plan.podMemoryRequestBytes),
          },
          max: { cpu: formatCpu(plan.podCpuMillicores), memory: formatMemory(plan.podMemoryBytes) },
        },
      ],
    },
  };

  const networkPolicy = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(name),
    spec: { podSelector: {}, ...spec },
  });
  const networkPolicies = [
    networkPolicy('default-deny', { policyTypes: ['Ingress', 'Egress'] }),
    networkPolicy('allow-same-namespace', {
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }] }],
      egress: [{ to: [{ podSelector: {} }] }],
    }),
    networkPolicy('allow-dns', {
      policyTypes: ['Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    }),
  ];

  const serviceAccount = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(LEARNER_SERVICE_ACCOUNT),
    automountServiceAccountToken: false,
  };

  const role = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(LEARNER_ROLE),
    // Exactly what the safe kubectl subset reads and changes; every rule is also in the runner's
    // lab-manager ClusterRole, because the API server refuses a Role granting more than its author holds.
    rules: LEARNER_RULES,
  };

  const roleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta(LEARNER_ROLE),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: LEARNER_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: LEARNER_SERVICE_ACCOUNT, namespace }],
  };

  return [namespaceObject, resourceQuota, limitRange, ...networkPolicies, serviceAccount, role, roleBinding];
}
