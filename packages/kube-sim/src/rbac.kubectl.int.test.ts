import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';
import { makeTempDir, runKubectl, writeText } from './testing/helpers.js';

// The real kubectl against kube-sim's authentication and RBAC: who you are, what you may do, what you may grant.
let sim: KubeSim;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let admin: string;
const ns = `rbac-${Date.now().toString(36)}`;

const asAdmin = (...args: string[]) => runKubectl(admin, args);

async function applyAsAdmin(name: string, yaml: string) {
  const result = await runKubectl(admin, ['apply', '-f', await writeText(temp.dir, name, yaml)]);
  expect(result.stderr).toBe('');
  return result;
}

/** A ServiceAccount in `ns` and a kubeconfig holding a token of it from `kubectl create token`. */
async function serviceAccount(name: string): Promise<string> {
  expect((await asAdmin('create', 'serviceaccount', name, '-n', ns)).code).toBe(0);
  const token = await asAdmin('create', 'token', name, '-n', ns, '--duration=1h');
  expect(token.code).toBe(0);
  return writeText(temp.dir, `kubeconfig-${name}`, sim.kubeconfigForToken(token.stdout.trim(), ns));
}

beforeAll(async () => {
  temp = await makeTempDir();
  sim = await startKubeSim({ kubelet: 'virtual' });
  admin = path.join(temp.dir, 'kubeconfig');
  await sim.writeKubeconfig(admin);
  expect((await asAdmin('create', 'namespace', ns)).code).toBe(0);
});

afterAll(async () => {
  await sim?.stop();
  await temp?.remove();
});

describe('kube-sim authentication', () => {
  it('refuses requests without a valid bearer token with 401, and knows the admin as system:masters', async () => {
    for (const authorization of ['', 'Bearer not-a-token', `Bearer ${sim.adminToken}x`]) {
      const response = await sim.fetch('/api/v1/namespaces', { headers: { authorization } });
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
    const whoami = await asAdmin('auth', 'whoami', '-o', 'jsonpath={.status.userInfo.groups}');
    expect(JSON.parse(whoami.stdout)).toContain('system:masters');
  });

  it("refuses the token of a deleted ServiceAccount (and a recreated one's old token)", async () => {
    const kubeconfig = await serviceAccount('short-lived');
    const before = await runKubectl(kubeconfig, ['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
    expect(before.stdout).toBe(`system:serviceaccount:${ns}:short-lived`);
    expect((await asAdmin('delete', 'serviceaccount', 'short-lived', '-n', ns)).code).toBe(0);
    const after = await runKubectl(kubeconfig, ['get', 'pods']);
    expect(after.code).not.toBe(0);
    expect(after.stderr).toContain('You must be logged in to the server (Unauthorized)');
    expect((await asAdmin('create', 'serviceaccount', 'short-lived', '-n', ns)).code).toBe(0);
    const recreated = await runKubectl(kubeconfig, ['auth', 'whoami']);
    expect(recreated.stderr).toContain('Unauthorized');
  });

  it('refuses a token request shorter than 10 minutes, as the API server validates', async () => {
    await asAdmin('create', 'serviceaccount', 'brief', '-n', ns);
    const result = await asAdmin('create', 'token', 'brief', '-n', ns, '--duration=5m');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('may not specify a duration less than 10 minutes');
  });
});

describe('kube-sim RBAC with the real kubectl', () => {
  it('answers kubectl auth can-i as the RBAC objects say (Role, ClusterRole, resourceNames, subresources)', async () => {
    await applyAsAdmin(
      'reader.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: reader, namespace: ${ns} }
rules:
- { apiGroups: [""], resources: [pods, pods/log], verbs: [get, list, watch] }
- { apiGroups: [apps], resources: [deployments/scale], verbs: [patch] }
- { apiGroups: [""], resources: [configmaps], verbs: [get], resourceNames: [settings] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: reader, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader }
subjects: [{ kind: ServiceAccount, name: reader, namespace: ${ns} }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: ${ns}-node-viewer }
rules: [{ apiGroups: [""], resources: [nodes], verbs: [list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: ${ns}-node-viewer }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ${ns}-node-viewer }
subjects: [{ kind: ServiceAccount, name: reader, namespace: ${ns} }]
`,
    );
    const reader = await serviceAccount('reader');
    const matrix: [string[], 'yes' | 'no'][] = [
      [['get', 'pods'], 'yes'],
      [['watch', 'pods'], 'yes'],
      [['get', 'pods', '--subresource=log'], 'yes'],
      [['delete', 'pods'], 'no'],
      [['get', 'pods', '-n', 'default'], 'no'],
      [['list', 'pods', '--all-namespaces'], 'no'],
      [['patch', 'deployments.apps', '--subresource=scale'], 'yes'],
      [['patch', 'deployments.apps'], 'no'],
      [['get', 'configmaps/settings'], 'yes'],
      [['get', 'configmaps/other'], 'no'],
      [['get', 'secrets'], 'no'],
      [['list', 'nodes'], 'yes'],
      [['create', 'clusterrolebindings'], 'no'],
    ];
    for (const [args, expected] of matrix) {
      const own = await runKubectl(reader, ['auth', 'can-i', ...args]);
      expect(`${args.join(' ')}: ${own.stdout.trim()}`).toBe(`${args.join(' ')}: ${expected}`);
      // The admin asks the same for the ServiceAccount by impersonating it (SubjectAccessReview semantics).
      const impersonated = await asAdmin(
        'auth',
        'can-i',
        ...args,
        '-n',
        ns,
        '--as',
        `system:serviceaccount:${ns}:reader`,
      );
      if (!args.includes('-n'))
        expect(`${args.join(' ')} --as: ${impersonated.stdout.trim()}`).toBe(`${args.join(' ')} --as: ${expected}`);
    }
    // A denied request carries the API server's wording.
    const secrets = await runKubectl(reader, ['get', 'secrets']);
    expect(secrets.stderr.trim()).toBe(
      `Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "secrets" in API group "" in the namespace "${ns}"`,
    );
    const clusterScoped = await runKubectl(reader, ['get', 'namespaces']);
    expect(clusterScoped.stderr).toContain(
      `namespaces is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "namespaces" in API group "" at the cluster scope`,
    );
    // Discovery and /version are open to every authenticated user (system:discovery).
    expect((await runKubectl(reader, ['version', '-o', 'json'])).code).toBe(0);
    expect((await runKubectl(reader, ['api-resources', '--api-group=rbac.authorization.k8s.io'])).stdout).toContain(
      'clusterrolebindings',
    );
  });

  it('authorizes watches: list without watch cannot follow', async () => {
    await applyAsAdmin(
      'lister.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: lister, namespace: ${ns} }
rules: [{ apiGroups: [""], resources: [pods], verbs: [list] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: lister, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: lister }
subjects: [{ kind: ServiceAccount, name: lister }]
`,
    );
    const lister = await serviceAccount('lister');
    expect((await runKubectl(lister, ['get', 'pods'])).code).toBe(0);
    const watch = await runKubectl(lister, ['get', 'pods', '--watch-only', '--request-timeout=5s']);
    expect(watch.code).not.toBe(0);
    expect(watch.stderr).toContain(`cannot watch resource "pods" in API group "" in the namespace "${ns}"`);
  });

  it('refuses a Role granting more than its author holds, and allows it with escalate', async () => {
    await applyAsAdmin(
      'delegator.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: delegator, namespace: ${ns} }
rules:
- { apiGroups: [rbac.authorization.k8s.io], resources: [roles, rolebindings], verbs: [create, get] }
- { apiGroups: [""], resources: [pods], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: delegator, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: delegator }
subjects: [{ kind: ServiceAccount, name: delegator }]
`,
    );
    const delegator = await serviceAccount('delegator');
    // Within what it holds: allowed.
    const subset = await runKubectl(delegator, ['create', 'role', 'pod-getter', '--verb=get', '--resource=pods']);
    expect(subset.stderr).toBe('');
    // More than it holds: refused with the API server's message, naming what is missing.
    const more = await runKubectl(delegator, [
      'create',
      'role',
      'secret-reader',
      '--verb=get,list',
      '--resource=pods,secrets',
    ]);
    expect(more.code).not.toBe(0);
    expect(more.stderr).toContain(
      `roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "system:serviceaccount:${ns}:delegator" (groups=["system:serviceaccounts" "system:serviceaccounts:${ns}" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get" "list"]}`,
    );
    // Binding a role it does not hold is refused too; binding one it holds is not.
    const bindAdmin = await runKubectl(delegator, [
      'create',
      'rolebinding',
      'grab-admin',
      '--clusterrole=cluster-admin',
      `--serviceaccount=${ns}:delegator`,
    ]);
    expect(bindAdmin.stderr).toContain('is attempting to grant RBAC permissions not currently held');
    const bindHeld = await runKubectl(delegator, [
      'create',
      'rolebinding',
      'pod-getter',
      '--role=pod-getter',
      `--serviceaccount=${ns}:reader`,
    ]);
    expect(bindHeld.stderr).toBe('');

    // With escalate on roles the same Role is allowed; with bind on cluster-admin, the binding.
    await applyAsAdmin(
      'escalator.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: escalator, namespace: ${ns} }
rules:
- { apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate] }
- { apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [view-secrets-${ns}] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: escalator, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: escalator }
subjects: [{ kind: ServiceAccount, name: delegator }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: view-secrets-${ns} }
rules: [{ apiGroups: [""], resources: [secrets], verbs: [get] }]
`,
    );
    const escalated = await runKubectl(delegator, [
      'create',
      'role',
      'secret-reader',
      '--verb=get,list',
      '--resource=pods,secrets',
    ]);
    expect(escalated.stderr).toBe('');
    expect(escalated.stdout).toContain('role.rbac.authorization.k8s.io/secret-reader created');
    const bound = await runKubectl(delegator, [
      'create',
      'rolebinding',
      'view-secrets',
      `--clusterrole=view-secrets-${ns}`,
      `--serviceaccount=${ns}:reader`,
    ]);
    expect(bound.stderr).toBe('');
    // bind is per role name: cluster-admin stays refused.
    const stillRefused = await runKubectl(delegator, [
      'create',
      'rolebinding',
      'grab-admin',
      '--clusterrole=cluster-admin',
      `--serviceaccount=${ns}:delegator`,
    ]);
    expect(stillRefused.stderr).toContain('is attempting to grant RBAC permissions not currently held');
  });

  it('lets only callers allowed to impersonate use --as', async () => {
    const plain = await serviceAccount('plain');
    const refused = await runKubectl(plain, ['get', 'pods', '--as', `system:serviceaccount:${ns}:reader`]);
    expect(refused.stderr).toContain(
      `serviceaccounts "reader" is forbidden: User "system:serviceaccount:${ns}:plain" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "${ns}"`,
    );
    await applyAsAdmin(
      'impersonator.yaml',
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: impersonate-reader, namespace: ${ns} }
rules: [{ apiGroups: [""], resources: [serviceaccounts], verbs: [impersonate], resourceNames: [reader] }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: impersonate-reader, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: impersonate-reader }
subjects: [{ kind: ServiceAccount, name: plain }]
`,
    );
    const asReader = await runKubectl(plain, [
      'auth',
      'whoami',
      '--as',
      `system:serviceaccount:${ns}:reader`,
      '-o',
      'json',
    ]);
    expect(JSON.parse(asReader.stdout).status.userInfo.username).toBe(`system:serviceaccount:${ns}:reader`);
    // The impersonated identity has the reader's rights, not more.
    expect((await runKubectl(plain, ['get', 'pods', '--as', `system:serviceaccount:${ns}:reader`])).code).toBe(0);
    const secrets = await runKubectl(plain, ['get', 'secrets', '--as', `system:serviceaccount:${ns}:reader`]);
    expect(secrets.stderr).toContain(`User "system:serviceaccount:${ns}:reader" cannot list resource "secrets"`);
    const other = await runKubectl(plain, ['get', 'pods', '--as', `system:serviceaccount:${ns}:delegator`]);
    expect(other.stderr).toContain('cannot impersonate resource "serviceaccounts"');
  });
});
