import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ApiError, invalid } from './api-error.js';
import {
  AUTHENTICATED,
  deniedError,
  type RbacAuthorizer,
  SYSTEM_MASTERS,
  serviceAccountGroups,
  serviceAccountUsername,
  splitServiceAccountUsername,
  type UserInfo,
} from './rbac.js';
import { resourceByKind } from './resources.js';
import type { ObjectStore } from './store.js';
import { isObject } from './types.js';

export const ISSUER = 'https://kubernetes.default.svc.cluster.local';
/** Upstream TokenRequest validation: at least 10 minutes. */
const MIN_EXPIRATION_SECONDS = 600;
const DEFAULT_EXPIRATION_SECONDS = 3600;

export interface AuthenticatorOptions {
  store: ObjectStore;
  /** The kubeconfig's token: user `kube-sim-admin` in `system:masters`. */
  adminToken: string;
  /** Clock seam for token expiry (ms since the epoch). */
  now: () => number;
}

export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

interface TokenClaims {
  iss: string;
  sub: string;
  aud: string[];
  exp: number;
  iat: number;
  nbf: number;
  'kubernetes.io': { namespace: string; serviceaccount: { name: string; uid: string } };
}

const base64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

export const unauthorized = () => new ApiError(401, 'Unauthorized', 'Unauthorized');

/**
 * Bearer-token authentication as the API server does it for kube-sim's users: one static admin token
 * (group system:masters) and ServiceAccount tokens from the TokenRequest API (signed JWTs, checked on
 * every request for signature, expiry and that the ServiceAccount still exists with the same uid).
 */
export class Authenticator {
  private readonly key = randomBytes(32);

  constructor(private readonly options: AuthenticatorOptions) {}

  /** TokenRequest for a ServiceAccount (`kubectl create token`). */
  issue(namespace: string, name: string, expirationSeconds?: number, audiences?: string[]): IssuedToken {
    const serviceAccounts = resourceByKind('ServiceAccount');
    const account = this.options.store.mustGet(serviceAccounts, namespace, name);
    const seconds = expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    if (!Number.isInteger(seconds) || seconds < MIN_EXPIRATION_SECONDS) {
      throw invalid({ ...serviceAccounts, kind: 'TokenRequest' }, '', [
        {
          reason: 'FieldValueInvalid',
          field: 'spec.expirationSeconds',
          message: `Invalid value: ${seconds}: may not specify a duration less than 10 minutes`,
        },
      ]);
    }
    const issuedAt = Math.floor(this.options.now() / 1000);
    const claims: TokenClaims = {
      iss: ISSUER,
      sub: serviceAccountUsername(namespace, name),
      aud: audiences?.length ? audiences : [ISSUER],
      exp: issuedAt + seconds,
      iat: issuedAt,
      nbf: issuedAt,
      'kubernetes.io': { namespace, serviceaccount: { name, uid: account.metadata.uid ?? '' } },
    };
    const unsigned = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
    return {
      token: `${unsigned}.${this.sign(unsigned)}`,
      expirationTimestamp: new Date(claims.exp * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
  }

  private sign(unsigned: string): string {
    return createHmac('sha256', this.key).update(unsigned).digest('base64url');
  }

  /** The user of a bearer token; undefined when the token is unknown, forged, expired or its ServiceAccount is gone. */
  authenticateToken(token: string): UserInfo | undefined {
    if (safeEqual(token, this.options.adminToken))
      return { username: 'kube-sim-admin', groups: [SYSTEM_MASTERS, AUTHENTICATED] };
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    if (!safeEqual(signature, this.sign(`${header}.${payload}`))) return undefined;
    let claims: TokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as TokenClaims;
    } catch {
      return undefined;
    }
    const now = this.options.now() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.nbf > now + 60) return undefined;
    if (!claims.aud?.includes(ISSUER)) return undefined;
    const bound = claims['kubernetes.io'];
    if (!isObject(bound) || !bound.namespace || !bound.serviceaccount?.name) return undefined;
    const account = this.options.store.get(
      resourceByKind('ServiceAccount'),
      bound.namespace,
      bound.serviceaccount.name,
    );
    // A deleted (or deleted and recreated) ServiceAccount invalidates its tokens.
    if (!account || account.metadata.uid !== bound.serviceaccount.uid || account.metadata.deletionTimestamp)
      return undefined;
    return {
      username: serviceAccountUsername(bound.namespace, bound.serviceaccount.name),
      uid: bound.serviceaccount.uid,
      groups: [...serviceAccountGroups(bound.namespace), AUTHENTICATED],
    };
  }

  /** The request's user: 401 without a valid bearer token. */
  authenticate(req: IncomingMessage): UserInfo {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const user = match?.[1] ? this.authenticateToken(match[1]) : undefined;
    if (!user) throw unauthorized();
    return user;
  }
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function headerValues(req: IncomingMessage, name: string): string[] {
  return (req.headersDistinct[name] ?? []).map((value) => value.trim()).filter(Boolean);
}

/**
 * The impersonation filter (upstream endpoints/filters/impersonation.go): `Impersonate-User`,
 * `Impersonate-Group`, `Impersonate-Uid` and `Impersonate-Extra-*`, each authorized with the
 * `impersonate` verb for the caller. Returns the caller when nothing is impersonated.
 */
export function impersonate(req: IncomingMessage, caller: UserInfo, rbac: RbacAuthorizer): UserInfo {
  const username = headerValues(req, 'impersonate-user')[0];
  const groupsWanted = headerValues(req, 'impersonate-group');
  const uid = headerValues(req, 'impersonate-uid')[0];
  const extraHeaders = Object.keys(req.headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (!username) {
    if (groupsWanted.length || uid || extraHeaders.length) {
      throw new ApiError(
        500,
        'InternalError',
        'Internal error occurred: requested [Impersonate-Group or Impersonate-Extra or Impersonate-Uid] without impersonating a user',
      );
    }
    return caller;
  }
  const check = (resource: string, name: string, namespace?: string, subresource?: string, group = '') => {
    const attributes = {
      user: caller,
      verb: 'impersonate',
      resourceRequest: true,
      apiGroup: group,
      resource,
      ...(subresource ? { subresource } : {}),
      ...(namespace ? { namespace } : {}),
      name,
    };
    const decision = rbac.authorize(attributes);
    if (!decision.allowed) throw deniedError(attributes, decision.reason);
  };
  let groups: string[] = [];
  const serviceAccount = splitServiceAccountUsername(username);
  if (serviceAccount) {
    check('serviceaccounts', serviceAccount.name, serviceAccount.namespace);
    if (groupsWanted.length === 0) groups = serviceAccountGroups(serviceAccount.namespace);
  } else {
    check('users', username);
  }
  for (const group of groupsWanted) {
    check('groups', group);
    groups.push(group);
  }
  if (uid) check('uids', uid, undefined, undefined, 'authentication.k8s.io');
  const extra: Record<string, string[]> = {};
  for (const header of extraHeaders) {
    const key = decodeURIComponent(header.slice('impersonate-extra-'.length));
    const values = headerValues(req, header);
    for (const value of values) check('userextras', value, undefined, key, 'authentication.k8s.io');
    extra[key] = values;
  }
  if (username !== 'system:anonymous' && !groups.includes(AUTHENTICATED) && !groups.includes('system:unauthenticated'))
    groups.push(AUTHENTICATED);
  return {
    username,
    groups,
    ...(uid ? { uid } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
