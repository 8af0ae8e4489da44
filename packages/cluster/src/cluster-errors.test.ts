import { ApiException } from '@kubernetes/client-node';
import { LabbotError } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { toClusterError } from './cluster-errors.js';

const status = (code: number, reason: string, message: string) =>
  new ApiException(
    code,
    'error',
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code }),
    {},
  );

describe('toClusterError', () => {
  it('maps connection refused (undici "fetch failed" with an ECONNREFUSED cause) to a retryable CLUSTER_UNAVAILABLE', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    const error = toClusterError(refused, 'apply Namespace lab-x');
    expect(error).toBeInstanceOf(LabbotError);
    expect(error.code).toBe('CLUSTER_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(refused);
    expect(error.userMessage).toMatch(/not reachable/);
  });

  it('maps an exceeded quota to QUOTA_EXCEEDED with the API message for the learner', () => {
    const error = toClusterError(
      status(
        403,
        'Forbidden',
        'pods "x" is forbidden: exceeded quota: labbot-quota, requested: pods=1, used: pods=4, limited: pods=4',
      ),
      'create pod',
    );
    expect(error.code).toBe('QUOTA_EXCEEDED');
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toContain('limited: pods=4');
  });

  it('maps a PodSecurity refusal to POD_SECURITY_REJECTED', () => {
    const error = toClusterError(
      status(403, 'Forbidden', 'pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true'),
      'create pod',
    );
    expect(error.code).toBe('POD_SECURITY_REJECTED');
    expect(error.userMessage).toContain('runAsNonRoot');
  });

  it('maps 422 Invalid to APPLY_INVALID and keeps the cause', () => {
    const cause = status(422, 'Invalid', 'Deployment.apps "hello" is invalid: spec.replicas: Invalid value: -1');
    const error = toClusterError(cause, 'apply Deployment hello');
    expect(error.code).toBe('APPLY_INVALID');
    expect(error.cause).toBe(cause);
    expect(error.context).toMatchObject({ action: 'apply Deployment hello', httpStatus: 422, reason: 'Invalid' });
  });

  it('treats 5xx as retryable and 503 as unavailable, and passes a LabbotError through unchanged', () => {
    expect(toClusterError(status(500, 'InternalError', 'boom'), 'x').retryable).toBe(true);
    expect(toClusterError(status(503, 'ServiceUnavailable', 'down'), 'x').code).toBe('CLUSTER_UNAVAILABLE');
    const own = new LabbotError('APPLY_INVALID', 'mine');
    expect(toClusterError(own, 'x')).toBe(own);
  });

  it('names the missing RBAC permission of a 403 in one sentence, not retryable', () => {
    const error = toClusterError(
      status(
        403,
        'Forbidden',
        'roles.rbac.authorization.k8s.io "lab-learner" is forbidden: User "system:serviceaccount:labbot:labbot-runner" cannot patch resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "lab-1"',
      ),
      'apply Role lab-learner',
    );
    expect(error.code).toBe('CLUSTER_FORBIDDEN');
    expect(error.retryable).toBe(false);
    expect(error.userMessage).toBe(
      'Kubernetes refused: system:serviceaccount:labbot:labbot-runner lacks the RBAC permission "patch roles.rbac.authorization.k8s.io" in namespace lab-1; an operator must grant it (run `labbot doctor` for the rule to add).',
    );
    const scale = toClusterError(
      status(
        403,
        'Forbidden',
        'deployments.apps "web" is forbidden: User "u" cannot patch resource "deployments/scale" in API group "apps" at the cluster scope',
      ),
      'scale',
    );
    expect(scale.userMessage).toContain('"patch deployments.apps/scale" cluster-wide');
    const escalation = toClusterError(
      status(
        403,
        'Forbidden',
        'roles.rbac.authorization.k8s.io "lab-learner" is forbidden: user "u" (groups=["g"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["events.k8s.io"], Resources:["events"], Verbs:["get" "list" "watch"]}',
      ),
      'apply Role',
    );
    expect(escalation.userMessage).toContain(
      '{APIGroups:["events.k8s.io"], Resources:["events"], Verbs:["get" "list" "watch"]}',
    );
  });
});
