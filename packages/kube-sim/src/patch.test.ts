import { describe, expect, it } from 'vitest';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';

const deployment = {
  spec: {
    replicas: 3,
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          { name: 'web', image: 'a:1', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] },
          { name: 'side', image: 'b:1' },
        ],
      },
    },
  },
};

describe('strategic merge patch', () => {
  it('merges containers by name and env by name (kubectl set image / set env)', () => {
    const patched = applyStrategicMergePatch(deployment, {
      spec: { template: { spec: { containers: [{ name: 'web', image: 'a:2', env: [{ name: 'B', value: '2' }] }] } } },
    }) as typeof deployment;
    expect(patched.spec.template.spec.containers).toEqual([
      {
        name: 'web',
        image: 'a:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
        ports: [{ containerPort: 80 }],
      },
      { name: 'side', image: 'b:1' },
    ]);
  });

  it('honours $patch: delete, $setElementOrder and null deletion', () => {
    const patched = applyStrategicMergePatch(deployment, {
      spec: {
        replicas: null,
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'web' }],
            containers: [{ name: 'side', $patch: 'delete' }],
          },
        },
      },
    }) as typeof deployment;
    expect(patched.spec.replicas).toBeUndefined();
    expect(patched.spec.template.spec.containers.map((c) => c.name)).toEqual(['web']);
    expect(Object.keys(patched.spec.template.spec)).toEqual(['containers']);
  });

  it('replaces lists without a merge key (command, args)', () => {
    const patched = applyStrategicMergePatch({ command: ['a', 'b'] }, { command: ['c'] });
    expect(patched).toEqual({ command: ['c'] });
  });
});

describe('merge patch and json patch', () => {
  it('merge patch replaces lists and deletes nulls (RFC 7386)', () => {
    expect(applyMergePatch({ a: [1, 2], b: 1, c: { d: 1 } }, { a: [3], b: null, c: { e: 2 } })).toEqual({
      a: [3],
      c: { d: 1, e: 2 },
    });
  });

  it('json patch applies operations and refuses a failed test with 400', () => {
    expect(applyJsonPatch({ spec: { replicas: 1 } }, [{ op: 'replace', path: '/spec/replicas', value: 4 }])).toEqual({
      spec: { replicas: 4 },
    });
    expect(() => applyJsonPatch({ a: 1 }, [{ op: 'test', path: '/a', value: 2 }])).toThrow(
      expect.objectContaining({ code: 400 }),
    );
  });
});
