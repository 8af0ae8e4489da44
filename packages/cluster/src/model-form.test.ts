import { describe, expect, it } from 'vitest';
import { buildNamespaceObjects } from './guard-rails.js';
import { droppedFields, toModelForm, toPlainObject } from './model-form.js';
import { hardenDeployment } from './workload.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'hello' },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'hello' } },
    template: {
      metadata: { labels: { app: 'hello' } },
      spec: { containers: [{ name: 'hello', command: ['sleep', '3600'], ports: [{ containerPort: 8080 }] }] },
    },
  },
};

describe('client-node model form', () => {
  it('keeps every guard-rail field through the round trip client-node applies (LimitRange default, policy from)', () => {
    const objects = buildNamespaceObjects(
      {
        labId: '0123456789ab',
        namespace: 'lab-0123456789ab',
        ownerKey: 'a1b2c3d4e5f6',
        lessonId: 'docker-vs-kubernetes',
        expiresAt: '2030-01-01T00:00:00.000Z',
        limits: { cpu: '100m', memory: '32Mi', pods: 3 },
      },
      { cpu: '2', memory: '1Gi', pods: 10 },
    );
    for (const object of objects) {
      const model = toModelForm(object);
      expect(toPlainObject(model), object.kind).toEqual(object);
    }
    const limitRange = toModelForm(objects.find((object) => object.kind === 'LimitRange') ?? {});
    expect(JSON.stringify(limitRange)).toContain('"_default"');
  });

  it('keeps string values that look like numbers to YAML (a lab id such as 93e515209255) as the same strings', () => {
    // Lab ids are 12 hex digits: about 1 in 280 is digits, one "e" and digits, a float far beyond Infinity to YAML 1.2.
    const labels = { 'labbot.dev/lab': '93e515209255', all: '123456789012', exp: '1e5', hex: '0x1f', word: 'true' };
    const namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lab-93e515209255', labels } };
    expect(toPlainObject(toModelForm(namespace))).toEqual(namespace);
  });

  it('finds fields the schema does not know, such as a typo in a lesson manifest', () => {
    const hardened = hardenDeployment(deployment, { namespace: 'lab-0123456789ab', labId: '0123456789ab', image: 'x' });
    expect(droppedFields(hardened, toPlainObject(toModelForm(hardened)))).toEqual([]);
    const typo = structuredClone(deployment) as typeof deployment & { spec: { replicaz?: number } };
    typo.spec.replicaz = 3;
    Object.assign(typo.spec.template.spec.containers[0] ?? {}, { imagePullPolicyy: 'Always' });
    const withTypos = hardenDeployment(typo, { namespace: 'lab-0123456789ab', labId: '0123456789ab', image: 'x' });
    expect(droppedFields(withTypos, toPlainObject(toModelForm(withTypos))).sort()).toEqual([
      'spec.replicaz',
      'spec.template.spec.containers[0].imagePullPolicyy',
    ]);
  });
});
