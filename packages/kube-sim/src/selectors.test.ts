import { describe, expect, it } from 'vitest';
import { labelSelectorFromSpec, parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { KubeObject } from './types.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', env: 'prod' };

  it('matches equality and inequality terms', () => {
    expect(parseLabelSelector('app=web,tier==front')(labels)).toBe(true);
    expect(parseLabelSelector('app=web,tier!=front')(labels)).toBe(false);
    expect(parseLabelSelector('app!=db')(labels)).toBe(true);
    expect(parseLabelSelector('')(labels)).toBe(true);
  });

  it('matches set-based terms: in, notin, exists, !exists', () => {
    expect(parseLabelSelector('env in (prod, staging),app')(labels)).toBe(true);
    expect(parseLabelSelector('env notin (prod)')(labels)).toBe(false);
    expect(parseLabelSelector('!owner')(labels)).toBe(true);
    expect(parseLabelSelector('owner')(labels)).toBe(false);
    expect(parseLabelSelector('owner notin (x)')(labels)).toBe(true);
  });

  it('refuses a malformed selector with 400', () => {
    expect(() => parseLabelSelector('app in x')).toThrow(expect.objectContaining({ code: 400 }));
  });

  it('evaluates a LabelSelector with matchLabels and matchExpressions; an empty one matches nothing', () => {
    const selector = labelSelectorFromSpec({
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }],
    });
    expect(selector(labels)).toBe(true);
    expect(selector({ app: 'web', env: 'dev' })).toBe(false);
    expect(labelSelectorFromSpec({})(labels)).toBe(false);
  });
});

describe('field selectors', () => {
  const pod: KubeObject = { metadata: { name: 'a', namespace: 'n' }, status: { phase: 'Running' } };
  it('matches dotted paths with = and !=', () => {
    expect(parseFieldSelector('metadata.name=a,status.phase!=Pending')(pod)).toBe(true);
    expect(parseFieldSelector('metadata.name=b')(pod)).toBe(false);
  });
});
