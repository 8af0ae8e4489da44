import { LabbotError } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { buildNamespaceObjects, planQuota } from './guard-rails.js';

const ceilings = { cpu: '2', memory: '1Gi', pods: 10 };
const options = {
  labId: '0123456789ab',
  namespace: 'lab-0123456789ab',
  ownerKey: 'a1b2c3d4e5f6',
  lessonId: 'docker-vs-kubernetes',
  expiresAt: new Date('2026-11-25T15:00:00Z'),
  limits: { cpu: '200m', memory: '64Mi', pods: 3 },
};

function byKind(kind: string, name?: string) {
  const found = buildNamespaceObjects(options, ceilings).filter(
    (object) => object.kind === kind && (name === undefined || object.metadata?.name === name),
  );
  expect(found.length).toBeGreaterThan(0);
  return found[0] as Record<string, unknown> & { metadata: { labels: Record<string, string> } };
}

describe('planQuota', () => {
  it('leaves room for one rolling-update surge pod above the replicas', () => {
    const plan = planQuota({ cpu: '200m', memory: '64Mi', pods: 3 }, ceilings);
    expect(plan.pods).toBe(4);
    expect(plan.limitsCpuMillicores).toBe(800);
    expect(plan.requestsCpuMillicores).toBe(400);
    expect(plan.limitsMemoryBytes).toBe(4 * 64 * 2 ** 20);
  });

  it('is clamped by the operator ceilings', () => {
    const plan = planQuota({ cpu: '1', memory: '512Mi', pods: 20 }, { cpu: '2', memory: '1Gi', pods: 6 });
    expect(plan.pods).toBe(6);
    expect(plan.limitsCpuMillicores).toBe(2000);
    expect(plan.limitsMemoryBytes).toBe(2 ** 30);
  });
});

describe('buildNamespaceObjects', () => {
  it('labels the namespace for labbot, the lab, owner, lesson, expiry and PSA restricted', () => {
    const namespace = byKind('Namespace');
    expect(namespace.metadata.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'labbot',
      'labbot.dev/lab': '0123456789ab',
      'labbot.dev/owner': 'a1b2c3d4e5f6',
      'labbot.dev/lesson': 'docker-vs-kubernetes',
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(namespace.metadata.labels).not.toHaveProperty('labbot.dev/class');
    expect(namespace.metadata).toMatchObject({ annotations: { 'labbot.dev/expires-at': '2026-11-25T15:00:00.000Z' } });
  });

  it('stores a class id that is not a label value as a hash', () => {
    const [namespace] = buildNamespaceObjects({ ...options, classId: 'Class #7 / Monday' }, ceilings);
    expect(namespace?.metadata?.labels?.['labbot.dev/class']).toMatch(/^h-[0-9a-f]{20}$/);
  });

  it('has a quota with no NodePort/LoadBalancer services and a LimitRange with defaults', () => {
    expect(byKind('ResourceQuota')).toMatchObject({
      spec: {
        hard: {
          pods: '4',
          'requests.cpu': '400m',
          'limits.cpu': '800m',
          'requests.memory': '256Mi',
          'limits.memory': '256Mi',
          services: '2',
          'services.nodeports': '0',
          'services.loadbalancers': '0',
        },
      },
    });
    expect(byKind('LimitRange')).toMatchObject({
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: '200m', memory: '64Mi' },
            defaultRequest: { cpu: '100m', memory: '64Mi' },
          },
        ],
      },
    });
  });

  it('denies all traffic but the namespace itself and DNS', () => {
    expect(byKind('NetworkPolicy', 'default-deny')).toMatchObject({
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    expect(byKind('NetworkPolicy', 'default-deny')).not.toHaveProperty('spec.ingress');
    expect(byKind('NetworkPolicy', 'allow-same-namespace')).toMatchObject({
      spec: { ingress: [{ from: [{ podSelector: {} }] }], egress: [{ to: [{ podSelector: {} }] }] },
    });
    const dns = byKind('NetworkPolicy', 'allow-dns') as unknown as { spec: { egress: { ports: unknown[] }[] } };
    expect(dns.spec.egress[0]?.ports).toEqual([
      { protocol: 'UDP', port: 53 },
      { protocol: 'TCP', port: 53 },
    ]);
  });

  it('gives the learner a token-less ServiceAccount and a namespaced Role for the kubectl subset only', () => {
    expect(byKind('ServiceAccount')).toMatchObject({
      metadata: { name: 'lab-learner' },
      automountServiceAccountToken: false,
    });
    const role = byKind('Role') as unknown as {
      rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    const allowed = (group: string, resource: string, verb: string) =>
      role.rules.some(
        (rule) => rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb),
      );
    expect(allowed('', 'pods', 'list')).toBe(true);
    expect(allowed('', 'pods/log', 'get')).toBe(true);
    expect(allowed('', 'pods', 'delete')).toBe(true);
    expect(allowed('apps', 'deployments/scale', 'patch')).toBe(true);
    expect(allowed('apps', 'deployments', 'delete')).toBe(false);
    expect(allowed('', 'pods', 'create')).toBe(false);
    expect(allowed('', 'secrets', 'get')).toBe(false);
    expect(role.rules.flatMap((rule) => rule.verbs)).not.toContain('*');
    expect(byKind('RoleBinding')).toMatchObject({
      metadata: { namespace: 'lab-0123456789ab' },
      roleRef: { kind: 'Role', name: 'lab-learner' },
      subjects: [{ kind: 'ServiceAccount', name: 'lab-learner', namespace: 'lab-0123456789ab' }],
    });
  });

  it("puts every namespaced object in the lab namespace, labelled labbot's and naming no lab, and is deterministic", () => {
    const objects = buildNamespaceObjects(options, ceilings);
    expect(objects.map((object) => object.kind)).toEqual([
      'Namespace',
      'ResourceQuota',
      'LimitRange',
      'NetworkPolicy',
      'NetworkPolicy',
      'NetworkPolicy',
      'ServiceAccount',
      'Role',
      'RoleBinding',
    ]);
    // The namespace alone says whose lab it is: a warm lab handed to a learner is relabelled by its Namespace only.
    expect(objects[0]?.metadata?.labels?.['labbot.dev/lab']).toBe('0123456789ab');
    for (const object of objects.slice(1)) {
      expect(object.metadata?.namespace).toBe('lab-0123456789ab');
      expect(object.metadata?.labels).toEqual({ 'app.kubernetes.io/managed-by': 'labbot' });
    }
    expect(buildNamespaceObjects(options, ceilings)).toEqual(objects);
  });

  it('refuses a namespace name that is not a DNS label', () => {
    expect(() => buildNamespaceObjects({ ...options, namespace: '../kube-system' }, ceilings)).toThrow(LabbotError);
  });
});
