import { LabbotError } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { hardenDeployment } from './workload.js';

const manifest = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'hello', labels: { app: 'hello' } },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'hello' } },
    template: {
      metadata: { labels: { app: 'hello' } },
      spec: {
        containers: [
          {
            name: 'hello',
            image: 'LESSON_IMAGE',
            command: ['sh', '-c', 'while true; do echo hi; sleep 5; done'],
            securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } },
          },
        ],
        hostNetwork: true,
      },
    },
  },
};
const options = { namespace: 'lab-0123456789ab', labId: '0123456789ab', image: 'labbot/lesson:abc123' };

type Hardened = {
  metadata: { namespace: string; labels: Record<string, string> };
  spec: {
    selector: unknown;
    template: {
      metadata: { labels: Record<string, string> };
      spec: Record<string, unknown> & { containers: Record<string, unknown>[] };
    };
  };
};

describe('hardenDeployment', () => {
  it("puts the deployment in the lab namespace labelled as labbot's, naming no lab (a warm lab's serves any learner)", () => {
    const hardened = hardenDeployment(manifest, options) as unknown as Hardened;
    expect(hardened.metadata.namespace).toBe('lab-0123456789ab');
    expect(hardened.metadata.labels).toEqual({ app: 'hello', 'app.kubernetes.io/managed-by': 'labbot' });
    expect(hardened.spec.template.metadata.labels).toEqual({ app: 'hello', 'app.kubernetes.io/managed-by': 'labbot' });
    expect(hardened.spec.selector).toEqual({ matchLabels: { app: 'hello' } });
  });

  it('adds a securityContext that passes PSA restricted even for an image without USER', () => {
    const hardened = hardenDeployment(manifest, options) as unknown as Hardened;
    const podSpec = hardened.spec.template.spec;
    expect(podSpec['securityContext']).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(podSpec['automountServiceAccountToken']).toBe(false);
    expect(podSpec['serviceAccountName']).toBe('lab-learner');
    expect(podSpec).not.toHaveProperty('hostNetwork');
    const [container] = podSpec.containers;
    expect(container?.['image']).toBe('labbot/lesson:abc123');
    expect(container?.['imagePullPolicy']).toBe('IfNotPresent');
    expect(container?.['securityContext']).toEqual({
      runAsNonRoot: true,
      runAsUser: 10001,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
      readOnlyRootFilesystem: false,
    });
  });

  it('mounts the root filesystem read-only when the lesson allows', () => {
    const hardened = hardenDeployment(manifest, { ...options, readOnlyRootFilesystem: true }) as unknown as Hardened;
    expect(hardened.spec.template.spec.containers[0]?.['securityContext']).toMatchObject({
      readOnlyRootFilesystem: true,
    });
  });

  it('does not modify the manifest it was given', () => {
    const before = structuredClone(manifest);
    hardenDeployment(manifest, options);
    expect(manifest).toEqual(before);
  });

  it('refuses what is not an apps/v1 Deployment with containers', () => {
    expect(() => hardenDeployment({ ...manifest, kind: 'Pod' }, options)).toThrow(LabbotError);
    expect(() => hardenDeployment('nope', options)).toThrow(/not an object/);
    const empty = structuredClone(manifest);
    empty.spec.template.spec.containers = [];
    expect(() => hardenDeployment(empty, options)).toThrow(/containers/);
    try {
      hardenDeployment({ ...manifest, apiVersion: 'extensions/v1beta1' }, options);
    } catch (error) {
      expect((error as LabbotError).code).toBe('APPLY_INVALID');
      expect((error as LabbotError).userMessage).toMatch(/apps\/v1/);
    }
    expect.assertions(5);
  });
});
