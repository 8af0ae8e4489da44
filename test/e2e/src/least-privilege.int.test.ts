import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApiException, CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import {
  checkRunnerPermissions,
  createClusterDriver,
  describePermission,
  impersonating,
  learnerUsername,
} from '@labbot/cluster';
import { labIdFor } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, startLabHarness } from './harness.js';

// The runner as the labbot-runner ServiceAccount (infra/k8s RBAC applied by the real kubectl), and the learner as
// the lab's ServiceAccount: what each may do is what a real API server would let them.
const runner = 'system:serviceaccount:labbot:labbot-runner';
let harness: LabHarness;
let chat: LocalChat;

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 11, kubelet: 'virtual' });
});

afterAll(async () => {
  await chat?.stop();
  await harness?.stop();
});

/** The Status message of a refused call (ApiException body), or 'allowed'. */
async function refusal(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'allowed';
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const status = JSON.parse(String(error.body)) as { code: number; message: string };
    return `${status.code} ${status.message}`;
  }
}

const pod = { metadata: { name: 'intruder' }, spec: { containers: [{ name: 'c', image: 'labbot/busybox:1' }] } };

async function provision(kubeConfig: KubeConfig, owner: string) {
  const driver = createClusterDriver({ kubeConfig, ceilings: { cpu: '2', memory: '1Gi', pods: 6 } });
  const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: owner, lessonId: 'least-privilege' });
  const namespace = `lab-lp-${owner}-${Date.now().toString(36)}`;
  await driver.provisionNamespace({
    labId,
    namespace,
    owner,
    lessonId: 'least-privilege',
    expiresAt: new Date(Date.now() + 3600_000),
    limits: { cpu: '100m', memory: '32Mi', pods: 1 },
  });
  return namespace;
}

describe('the runner under least privilege', () => {
  it('cannot write outside lab namespaces: a pod in default, a Secret in kube-system, a ClusterRoleBinding', async () => {
    const core = harness.runnerKubeConfig.makeApiClient(CoreV1Api);
    const rbac = harness.runnerKubeConfig.makeApiClient(RbacAuthorizationV1Api);
    expect(await refusal(() => core.createNamespacedPod({ namespace: 'default', body: pod }))).toBe(
      `403 pods is forbidden: User "${runner}" cannot create resource "pods" in API group "" in the namespace "default"`,
    );
    expect(
      await refusal(() =>
        core.createNamespacedSecret({ namespace: 'kube-system', body: { metadata: { name: 'stolen' } } }),
      ),
    ).toBe(
      `403 secrets is forbidden: User "${runner}" cannot create resource "secrets" in API group "" in the namespace "kube-system"`,
    );
    expect(
      await refusal(() =>
        rbac.createClusterRoleBinding({
          body: {
            metadata: { name: 'runner-admin' },
            roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
            subjects: [{ kind: 'ServiceAccount', name: 'labbot-runner', namespace: 'labbot' }],
          },
        }),
      ),
    ).toBe(
      `403 clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "${runner}" cannot create resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope`,
    );
    // Its RoleBinding right is only good for its own lab-manager role: cluster-admin stays out of reach.
    const grab = await refusal(() =>
      rbac.createNamespacedRoleBinding({
        namespace: 'default',
        body: {
          metadata: { name: 'runner-admin' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'labbot-runner', namespace: 'labbot' }],
        },
      }),
    );
    expect(grab).toContain('is attempting to grant RBAC permissions not currently held');
  });

  it('the learner identity (parser bypassed) cannot read another lab’s pods or any Secret', async () => {
    const mine = await provision(harness.runnerKubeConfig, 'ada');
    const theirs = await provision(harness.runnerKubeConfig, 'bob');
    const learner = impersonating(harness.runnerKubeConfig, learnerUsername(mine)).makeApiClient(CoreV1Api);
    expect(await refusal(() => learner.listNamespacedPod({ namespace: mine }))).toBe('allowed');
    expect(await refusal(() => learner.listNamespacedPod({ namespace: theirs }))).toBe(
      `403 pods is forbidden: User "${learnerUsername(mine)}" cannot list resource "pods" in API group "" in the namespace "${theirs}"`,
    );
    for (const namespace of [mine, theirs, 'kube-system'])
      expect(await refusal(() => learner.listNamespacedSecret({ namespace }))).toMatch(
        /^403 secrets is forbidden: .* cannot list resource "secrets"/,
      );
    expect(await refusal(() => learner.createNamespacedPod({ namespace: mine, body: pod }))).toMatch(
      /^403 .* cannot create resource "pods"/,
    );
    // The driver's /lab kubectl runs as that learner and still does what the safe subset needs.
    const driver = createClusterDriver({
      kubeConfig: harness.runnerKubeConfig,
      ceilings: { cpu: '2', memory: '1Gi', pods: 6 },
    });
    const result = await driver.kubectl(mine, { verb: 'get', resource: 'pods', wide: false });
    expect(result).toMatchObject({ ok: true });
  });

  it('labbot doctor’s checks find every permission held, and name the one an operator removed', async () => {
    const namespace = await provision(harness.runnerKubeConfig, 'cy');
    const all = await checkRunnerPermissions(harness.runnerKubeConfig, { labNamespace: namespace });
    expect(all.filter((check) => !check.allowed).map((check) => describePermission(check.permission))).toEqual([]);
    expect(all.some((check) => check.permission.scope === 'lab')).toBe(true);

    const kubectl = (...args: string[]) =>
      promisify(execFile)('/usr/bin/kubectl', ['--kubeconfig', harness.kubeconfigPath, ...args], {
        env: { ...process.env, HOME: join(harness.kubeconfigPath, '..') },
      });
    await kubectl(
      'patch',
      'clusterrole',
      'labbot-lab-manager',
      '--type=json',
      '-p',
      JSON.stringify([{ op: 'remove', path: '/rules/9' }]),
    );
    try {
      const narrowed = await checkRunnerPermissions(harness.runnerKubeConfig, { labNamespace: namespace });
      expect(narrowed.filter((check) => !check.allowed).map((check) => describePermission(check.permission))).toEqual([
        'get roles.rbac.authorization.k8s.io',
        'create roles.rbac.authorization.k8s.io',
        'patch roles.rbac.authorization.k8s.io',
      ]);

      // A lab the runner cannot finish fails with one sentence naming the permission.
      await harness.startRunner();
      chat = await harness.startChat();
      const labId = labIdFor({
        platform: 'local',
        workspaceId: 'local',
        userId: 'dee',
        lessonId: 'docker-vs-kubernetes',
      });
      await chat.type('start docker-vs-kubernetes', 'dee');
      const failed = await harness.waitForLab(labId, (lab) => lab.observed.phase === 'failed', 120_000);
      expect(failed.observed.error?.code).toBe('CLUSTER_FORBIDDEN');
      expect(failed.observed.error?.message).toMatch(
        new RegExp(
          `^Kubernetes refused: ${runner} lacks the RBAC permission "patch roles\\.rbac\\.authorization\\.k8s\\.io" in namespace ${failed.namespace}; an operator must grant it \\(run \`labbot doctor\` for the rule to add\\)\\.$`,
        ),
      );
    } finally {
      await kubectl('apply', '-f', new URL('../../../infra/k8s/runner-rbac.yaml', import.meta.url).pathname);
    }
  });
});
