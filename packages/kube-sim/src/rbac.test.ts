import { describe, expect, it } from 'vitest';
import { compactString, covers, forbiddenMessage, ruleAllows } from './rbac.js';

const user = { username: 'alice', groups: ['system:authenticated'] };

describe('RBAC rule matching (upstream RuleAllows and Covers)', () => {
  it('matches subresources exactly or through */sub, and resourceNames only for named requests', () => {
    const request = {
      user,
      verb: 'get',
      resourceRequest: true,
      apiGroup: '',
      resource: 'pods',
      subresource: 'log',
      name: 'p',
    };
    expect(ruleAllows(request, { verbs: ['get'], apiGroups: [''], resources: ['pods'] })).toBe(false);
    expect(ruleAllows(request, { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] })).toBe(true);
    expect(ruleAllows(request, { verbs: ['get'], apiGroups: [''], resources: ['*/log'] })).toBe(true);
    expect(
      ruleAllows(
        { ...request, subresource: undefined, verb: 'list', name: undefined },
        { verbs: ['list'], apiGroups: [''], resources: ['pods'], resourceNames: ['p'] },
      ),
    ).toBe(false);
    expect(
      ruleAllows(
        { user, verb: 'get', resourceRequest: false, path: '/apis/apps' },
        { verbs: ['get'], nonResourceURLs: ['/apis/*'] },
      ),
    ).toBe(true);
  });

  it('finds what a granted rule adds to what its author holds, as upstream prints it', () => {
    const held = [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }];
    const missing = covers(held, [
      { verbs: ['get', 'list', 'watch'], apiGroups: ['', 'events.k8s.io'], resources: ['pods', 'events'] },
    ]);
    expect(missing.map(compactString)).toContain('{APIGroups:["events.k8s.io"], Resources:["events"], Verbs:["get"]}');
    expect(missing).toHaveLength(10);
    expect(
      covers(
        [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
        [{ verbs: ['delete'], apiGroups: ['apps'], resources: ['deployments/scale'] }],
      ),
    ).toEqual([]);
  });

  it('words a denial like the API server', () => {
    expect(
      forbiddenMessage({
        user,
        verb: 'create',
        resourceRequest: true,
        apiGroup: 'rbac.authorization.k8s.io',
        resource: 'clusterrolebindings',
      }),
    ).toBe(
      'User "alice" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope',
    );
    expect(forbiddenMessage({ user, verb: 'get', resourceRequest: false, path: '/metrics' })).toBe(
      'User "alice" cannot get path "/metrics"',
    );
  });
});
