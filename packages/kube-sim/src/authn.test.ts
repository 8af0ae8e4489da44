import { describe, expect, it } from 'vitest';
import { Authenticator } from './authn.js';
import { resourceByKind } from './resources.js';
import { ObjectStore } from './store.js';

function setup() {
  const store = new ObjectStore({ historyLimit: 100 });
  store.create(resourceByKind('ServiceAccount'), { metadata: { name: 'runner', namespace: 'labbot' } });
  let now = Date.parse('2026-01-01T00:00:00Z');
  const authenticator = new Authenticator({ store, adminToken: 'admin-secret', now: () => now });
  return { store, authenticator, advance: (ms: number) => (now += ms) };
}

describe('kube-sim token authentication', () => {
  it('knows a ServiceAccount token until it expires', () => {
    const { authenticator, advance } = setup();
    const { token, expirationTimestamp } = authenticator.issue('labbot', 'runner', 600);
    expect(expirationTimestamp).toBe('2026-01-01T00:10:00Z');
    expect(authenticator.authenticateToken(token)).toMatchObject({
      username: 'system:serviceaccount:labbot:runner',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:labbot', 'system:authenticated'],
    });
    advance(599_000);
    expect(authenticator.authenticateToken(token)).toBeDefined();
    advance(1_000);
    expect(authenticator.authenticateToken(token)).toBeUndefined();
  });

  it('refuses a forged or altered token and tokens of another audience', () => {
    const { authenticator } = setup();
    const { token } = authenticator.issue('labbot', 'runner');
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const altered = Buffer.from(JSON.stringify({ ...claims, sub: 'system:serviceaccount:kube-system:admin' })).toString(
      'base64url',
    );
    expect(authenticator.authenticateToken(`${header}.${altered}.${signature}`)).toBeUndefined();
    expect(authenticator.authenticateToken(`${header}.${payload}.${signature.slice(1)}x`)).toBeUndefined();
    const other = authenticator.issue('labbot', 'runner', 3600, ['vault']);
    expect(authenticator.authenticateToken(other.token)).toBeUndefined();
    expect(authenticator.authenticateToken('admin-secret')?.groups).toContain('system:masters');
    expect(authenticator.authenticateToken('admin-secre')).toBeUndefined();
  });

  it('refuses tokens of a ServiceAccount that was deleted, even when one of the same name is back', () => {
    const { store, authenticator } = setup();
    const { token } = authenticator.issue('labbot', 'runner');
    store.remove(resourceByKind('ServiceAccount'), 'labbot', 'runner');
    expect(authenticator.authenticateToken(token)).toBeUndefined();
    store.create(resourceByKind('ServiceAccount'), { metadata: { name: 'runner', namespace: 'labbot' } });
    expect(authenticator.authenticateToken(token)).toBeUndefined();
  });
});
