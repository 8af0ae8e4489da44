import { LabbotError } from '@labbot/core';

/** Error codes the cluster driver throws (as LabbotError codes). */
export const ClusterErrorCode = {
  unavailable: 'CLUSTER_UNAVAILABLE',
  quotaExceeded: 'QUOTA_EXCEEDED',
  podSecurityRejected: 'POD_SECURITY_REJECTED',
  applyInvalid: 'APPLY_INVALID',
  notFound: 'CLUSTER_NOT_FOUND',
  forbidden: 'CLUSTER_FORBIDDEN',
  timeout: 'CLUSTER_TIMEOUT',
  failed: 'CLUSTER_REQUEST_FAILED',
} as const;

/** A Kubernetes `Status` object as the API server returns it in an error body. */
export interface KubernetesStatus {
  message: string | undefined;
  reason: string | undefined;
  code: number | undefined;
}

const networkErrorCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/** The HTTP status of a client-node ApiException (or of a watch error), when the error carries one. */
export function httpStatusOf(error: unknown): number | undefined {
  const fields = record(error);
  if (!fields) return undefined;
  for (const key of ['code', 'statusCode']) {
    const value = fields[key];
    if (typeof value === 'number' && value >= 100 && value < 600) return value;
  }
  return undefined;
}

/** The Kubernetes Status carried by an ApiException body (raw text in client-node 2, sometimes already parsed). */
export function kubernetesStatusOf(error: unknown): KubernetesStatus | undefined {
  const body = record(error)?.['body'];
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.trim() ? { message: body.trim(), reason: undefined, code: undefined } : undefined;
    }
  }
  const status = record(parsed);
  if (!status) return undefined;
  return {
    message: typeof status['message'] === 'string' ? status['message'] : undefined,
    reason: typeof status['reason'] === 'string' ? status['reason'] : undefined,
    code: typeof status['code'] === 'number' ? status['code'] : undefined,
  };
}

/** A connection-level failure (refused, reset, DNS, timeout): nothing answered, so retrying later can help. */
export function isNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const fields = record(current);
    if (!fields) return false;
    const code = fields['code'];
    if (typeof code === 'string' && networkErrorCodes.has(code)) return true;
    if (fields['name'] === 'AbortError' || fields['name'] === 'TimeoutError') return true;
    current = fields['cause'];
  }
  return false;
}

/** Turns whatever client-node threw into a LabbotError with a stable code and a sentence a learner may read. */
export function toClusterError(error: unknown, action: string, context: Record<string, string | undefined> = {}) {
  if (error instanceof LabbotError) return error;
  if (isNetworkError(error)) {
    return new LabbotError(ClusterErrorCode.unavailable, `Kubernetes API unreachable while trying to ${action}`, {
      cause: error,
      retryable: true,
      userMessage: 'The lab cluster is not reachable right now. Please try again in a minute.',
      context: { action, ...context },
    });
  }
  const httpStatus = httpStatusOf(error);
  const status = kubernetesStatusOf(error);
  const message = status?.message ?? (error instanceof Error ? error.message : String(error));
  const detail = `${action}: ${httpStatus ?? '?'} ${status?.reason ?? ''} ${message}`.replace(/\s+/g, ' ').trim();
  const options = { cause: error, context: { action, httpStatus, reason: status?.reason, ...context } };
  if (/exceeded quota/i.test(message)) {
    return new LabbotError(ClusterErrorCode.quotaExceeded, detail, {
      ...options,
      userMessage: `Your lab has reached its resource quota, so Kubernetes refused to create more: ${shorten(message)}`,
    });
  }
  if (/violates PodSecurity/i.test(message)) {
    return new LabbotError(ClusterErrorCode.podSecurityRejected, detail, {
      ...options,
      userMessage: `The pod was refused by the namespace's Pod Security rules (restricted): ${shorten(message)}`,
    });
  }
  if (httpStatus === 422 || httpStatus === 400 || status?.reason === 'Invalid' || status?.reason === 'BadRequest') {
    return new LabbotError(ClusterErrorCode.applyInvalid, detail, {
      ...options,
      userMessage: `Kubernetes rejected the object as invalid: ${shorten(message)}`,
    });
  }
  if (httpStatus === 404) {
    return new LabbotError(ClusterErrorCode.notFound, detail, {
      ...options,
      userMessage: `Not found in your lab: ${shorten(message)}`,
    });
  }
  if (httpStatus === 403 || httpStatus === 401) {
    return new LabbotError(ClusterErrorCode.forbidden, detail, {
      ...options,
      userMessage: permissionSentence(httpStatus, message),
    });
  }
  const retryable = httpStatus === undefined || httpStatus === 429 || httpStatus >= 500 || httpStatus === 409;
  const unavailable = httpStatus === 503 || httpStatus === 502 || httpStatus === 504;
  return new LabbotError(unavailable ? ClusterErrorCode.unavailable : ClusterErrorCode.failed, detail, {
    ...options,
    retryable,
    userMessage: unavailable ? 'The lab cluster is not reachable right now. Please try again in a minute.' : undefined,
  });
}

/**
 * One sentence naming the permission a 403 says is missing (the API server's wording is parsed:
 * `User "x" cannot create resource "roles" in API group "rbac.authorization.k8s.io" in the namespace "lab-1"`).
 */
export function permissionSentence(httpStatus: number, message: string): string {
  if (httpStatus === 401)
    return 'The lab runner could not log in to the Kubernetes API (its token is missing, expired or revoked); an operator must fix its credentials.';
  const denied =
    /User "([^"]*)" cannot (\S+) resource "([^"]+)" in API group "([^"]*)"(?: in the namespace "([^"]+)"| at the cluster scope)/.exec(
      message,
    );
  if (denied) {
    const [, user, verb, resource, group, namespace] = denied;
    const qualified = group ? `${resource?.replace(/^([^/]+)/, `$1.${group}`)}` : resource;
    const where = namespace ? `in namespace ${namespace}` : 'cluster-wide';
    return `Kubernetes refused: ${user} lacks the RBAC permission "${verb} ${qualified}" ${where}; an operator must grant it (run \`labbot doctor\` for the rule to add).`;
  }
  const escalation = /attempting to grant RBAC permissions not currently held:\s*(\{[^}]*\})/.exec(message);
  if (escalation)
    return `Kubernetes refused to grant the learner ${escalation[1]} because the lab runner does not hold it itself; an operator must add it to the runner's lab-manager ClusterRole.`;
  return `Kubernetes refused the lab runner: ${shorten(message)}`;
}

function shorten(text: string, max = 300): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
