import { describe, expect, it } from 'vitest';
import { KubeApi } from './api.js';
import { resourceByKind } from './resources.js';
import { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';

const Namespace = resourceByKind('Namespace');
const Pod = resourceByKind('Pod');
const Service = resourceByKind('Service');
const Deployment = resourceByKind('Deployment');
const ResourceQuota = resourceByKind('ResourceQuota');
const ServiceAccount = resourceByKind('ServiceAccount');
const context = { manager: 'test' };

/** An API server with namespace `lab` and its `default` ServiceAccount (which the controller manager would make). */
function newApi(namespaceLabels: Record<string, string> = {}) {
  const api = new KubeApi(new ObjectStore());
  api.create(Namespace, undefined, { metadata: { name: 'lab', labels: namespaceLabels } }, context);
  api.create(ServiceAccount, 'lab', { metadata: { name: 'default' } }, context);
  return api;
}

function pod(name: string, container: Record<string, unknown> = {}, spec: Record<string, unknown> = {}): KubeObject {
  return {
    metadata: { name },
    spec: { ...spec, containers: [{ name: 'c', image: 'labbot/busybox:1', ...container }] },
  };
}

function refusal(run: () => unknown): { code: number; reason: string; message: string } {
  try {
    run();
  } catch (error) {
    return error as { code: number; reason: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('ServiceAccount admission', () => {
  it('refuses a pod whose ServiceAccount does not exist with the real message, and admits it once it does', () => {
    const api = newApi();
    const learner = pod('web', {}, { serviceAccountName: 'lab-learner' });
    expect(refusal(() => api.create(Pod, 'lab', learner, context))).toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message:
        'pods "web" is forbidden: error looking up service account lab/lab-learner: serviceaccount "lab-learner" not found',
    });
    api.create(ServiceAccount, 'lab', { metadata: { name: 'lab-learner' } }, context);
    expect(api.create(Pod, 'lab', learner, context).object.spec?.serviceAccountName).toBe('lab-learner');
    // The deprecated `serviceAccount` alone names it too.
    const deprecated = api.create(Pod, 'lab', pod('old', {}, { serviceAccount: 'lab-learner' }), context).object;
    expect(deprecated.spec?.serviceAccountName).toBe('lab-learner');
    // Without a name, the pod runs as `default`, which must exist as well.
    expect(api.create(Pod, 'lab', pod('plain'), context).object.spec?.serviceAccountName).toBe('default');
    api.delete(ServiceAccount, 'lab', 'default');
    expect(refusal(() => api.create(Pod, 'lab', pod('later'), context)).message).toContain(
      'error looking up service account lab/default',
    );
  });
});

describe('ResourceQuota admission', () => {
  it('refuses CPU and memory requests beyond the quota with the real message', () => {
    const api = newApi();
    api.create(
      ResourceQuota,
      'lab',
      { metadata: { name: 'q' }, spec: { hard: { 'requests.cpu': '500m', 'requests.memory': '128Mi' } } },
      context,
    );
    api.create(Pod, 'lab', pod('a', { resources: { requests: { cpu: '300m', memory: '64Mi' } } }), context);
    const error = refusal(() =>
      api.create(Pod, 'lab', pod('b', { resources: { requests: { cpu: '300m', memory: '32Mi' } } }), context),
    );
    expect(error.code).toBe(403);
    expect(error.message).toBe(
      'pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=300m, used: requests.cpu=300m, limited: requests.cpu=500m',
    );
  });

  it('counts services, node ports and load balancers', () => {
    const api = newApi();
    api.create(
      ResourceQuota,
      'lab',
      {
        metadata: { name: 'q' },
        spec: { hard: { services: '2', 'services.loadbalancers': '0', 'services.nodeports': '0' } },
      },
      context,
    );
    const lb = refusal(() =>
      api.create(
        Service,
        'lab',
        { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
        context,
      ),
    );
    expect(lb.message).toBe(
      'services "lb" is forbidden: exceeded quota: q, requested: services.loadbalancers=1,services.nodeports=1, used: services.loadbalancers=0,services.nodeports=0, limited: services.loadbalancers=0,services.nodeports=0',
    );
    api.create(Service, 'lab', { metadata: { name: 'one' }, spec: { ports: [{ port: 80 }] } }, context);
    api.create(Service, 'lab', { metadata: { name: 'two' }, spec: { ports: [{ port: 80 }] } }, context);
    const third = refusal(() =>
      api.create(Service, 'lab', { metadata: { name: 'three' }, spec: { ports: [{ port: 80 }] } }, context),
    );
    expect(third.message).toContain('exceeded quota: q, requested: services=1, used: services=2, limited: services=2');
  });
});

describe('Pod Security Admission (restricted)', () => {
  it('refuses host namespaces, hostPath and added capabilities with the real reasons', () => {
    const api = newApi({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'v1.32',
    });
    const error = refusal(() =>
      api.create(
        Pod,
        'lab',
        pod(
          'host',
          { securityContext: { capabilities: { add: ['NET_ADMIN'] } } },
          { hostNetwork: true, volumes: [{ name: 'root', hostPath: { path: '/' } }] },
        ),
        context,
      ),
    );
    expect(error.code).toBe(403);
    expect(error.message).toContain(
      'pods "host" is forbidden: violates PodSecurity "restricted:v1.32": host namespaces (hostNetwork=true)',
    );
    expect(error.message).toContain(
      'non-default capabilities (container "c" must not include "NET_ADMIN" in securityContext.capabilities.add)',
    );
    expect(error.message).toContain('hostPath volumes (volume "root")');
  });

  it('admits a hardened pod, and only warns for a workload template', () => {
    const api = newApi({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    const hardened = api.create(
      Pod,
      'lab',
      pod(
        'ok',
        { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } },
        { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } },
      ),
      context,
    );
    expect(hardened.warnings).toEqual([]);
    const workload = api.create(
      Deployment,
      'lab',
      {
        metadata: { name: 'web' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        },
      },
      context,
    );
    expect(workload.warnings).toHaveLength(1);
    expect(workload.warnings[0]).toMatch(
      /^would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
  });

  it('warns on pods in a namespace labelled warn=restricted without refusing them', () => {
    const api = newApi({ 'pod-security.kubernetes.io/warn': 'restricted' });
    const result = api.create(Pod, 'lab', pod('loose'), context);
    expect(result.object.metadata.name).toBe('loose');
    expect(result.warnings[0]).toContain('would violate PodSecurity "restricted:latest"');
  });
});

describe('validation', () => {
  it('refuses a Deployment whose selector does not match its template with 422 and a cause', () => {
    const api = newApi();
    const error = refusal(() =>
      api.create(
        Deployment,
        'lab',
        {
          metadata: { name: 'web' },
          spec: {
            selector: { matchLabels: { app: 'web' } },
            template: { metadata: { labels: { app: 'other' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
          },
        },
        context,
      ),
    ) as unknown as { code: number; details: { causes: { field: string }[] } };
    expect(error.code).toBe(422);
    expect(error.details.causes[0]?.field).toBe('spec.template.metadata.labels');
  });
});
