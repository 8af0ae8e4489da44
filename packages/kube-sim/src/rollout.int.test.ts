import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';
import { makeTempDir, runKubectl, writeText } from './testing/helpers.js';

// The real kubectl's rollout history and undo against kube-sim: revisions live in the ReplicaSets'
// deployment.kubernetes.io/revision annotations, and an undo makes the old template the newest revision.
// Also what a Deployment meets on its way to rolled out: minReadySeconds, and the ServiceAccount its pods run as.
let sim: KubeSim;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let kubeconfig: string;
const kubectl = (...args: string[]) => runKubectl(kubeconfig, args);

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'virtual', virtualReadyDelayMs: 10 });
  temp = await makeTempDir();
  kubeconfig = await writeText(temp.dir, 'kubeconfig', sim.kubeconfig);
});

afterAll(async () => {
  await sim?.stop();
  await temp?.remove();
});

async function rolledOutIn(namespace: string, name: string): Promise<string> {
  const result = await kubectl('rollout', 'status', `deployment/${name}`, '-n', namespace, '--timeout=30s');
  expect(result.stderr).toBe('');
  return result.stdout;
}

const rolledOut = (): Promise<string> => rolledOutIn('roll', 'web');

/**
 * Creates `namespace` and applies Deployment `name` there: pods labelled app=<name>, one container of image
 * example/<name>:v1, with `spec` and `podSpec` fields added.
 */
async function createDeployment(
  namespace: string,
  name: string,
  options: { replicas: number; spec?: Record<string, unknown>; podSpec?: Record<string, unknown> },
): Promise<void> {
  await kubectl('create', 'namespace', namespace);
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas,
      ...options.spec,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { ...options.podSpec, containers: [{ name, image: `example/${name}:v1` }] },
      },
    },
  };
  const file = await writeText(temp.dir, `${name}.json`, JSON.stringify(deployment));
  expect((await kubectl('apply', '-f', file)).code).toBe(0);
}

describe('kubectl rollout history and undo', () => {
  it('lists revisions, undoes to the previous template and to a chosen revision', async () => {
    await createDeployment('roll', 'web', { replicas: 2 });
    await rolledOut();
    expect((await kubectl('set', 'image', 'deployment/web', 'web=example/web:v2', '-n', 'roll')).code).toBe(0);
    expect(await rolledOut()).toContain('deployment "web" successfully rolled out');

    const history = await kubectl('rollout', 'history', 'deployment/web', '-n', 'roll');
    expect(history.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>/);

    const undo = await kubectl('rollout', 'undo', 'deployment/web', '-n', 'roll');
    expect(undo.stderr).toBe('');
    expect(undo.stdout.trim()).toBe('deployment.apps/web rolled back');
    await rolledOut();
    const image = () =>
      kubectl('get', 'deployment', 'web', '-n', 'roll', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
    expect((await image()).stdout).toBe('example/web:v1');
    // The v1 ReplicaSet became revision 3; revision 1 is gone from the history.
    const after = await kubectl('rollout', 'history', 'deployment/web', '-n', 'roll');
    expect(after.stdout).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>/);
    const replicaSets = await kubectl(
      'get',
      'rs',
      '-n',
      'roll',
      '-o',
      'jsonpath={range .items[*]}{.metadata.annotations.deployment\\.kubernetes\\.io/revision}={.spec.replicas} {end}',
    );
    expect(replicaSets.stdout.trim().split(' ').sort()).toEqual(['2=0', '3=2']);

    const again = await kubectl('rollout', 'undo', 'deployment/web', '-n', 'roll', '--to-revision=2');
    expect(again.stdout.trim()).toBe('deployment.apps/web rolled back');
    await waitFor(
      'the v2 template back',
      async () => ((await image()).stdout === 'example/web:v2' ? true : undefined),
      10_000,
    );
    const skipped = await kubectl('rollout', 'undo', 'deployment/web', '-n', 'roll', '--to-revision=4');
    expect(skipped.stdout.trim()).toBe(
      'deployment.apps/web skipped rollback (current template already matches revision 4)',
    );
  });
});

describe('minReadySeconds', () => {
  const status = async () =>
    (await (await sim.fetch('/apis/apps/v1/namespaces/ready/deployments/slow')).json()) as {
      status?: { readyReplicas?: number; availableReplicas?: number };
    };

  it('counts a Ready pod as available only after minReadySeconds, and rollout status waits for it', async () => {
    await createDeployment('ready', 'slow', { replicas: 2, spec: { minReadySeconds: 2 } });
    const ready = await waitFor('both pods Ready', async () => {
      const current = await status();
      return current.status?.readyReplicas === 2 ? current : undefined;
    });
    const readyAt = Date.now();
    // Ready (the virtual kubelet's 10 ms), but not available: Ready since less than 2 s.
    expect(ready.status?.availableReplicas ?? 0).toBe(0);
    expect(await rolledOutIn('ready', 'slow')).toContain('deployment "slow" successfully rolled out');
    // The Ready condition keeps whole seconds, as the API server does: available between 1 and 2 s after Ready.
    const waited = Date.now() - readyAt;
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5000);
    expect((await status()).status?.availableReplicas).toBe(2);
  });

  it("carries a changed minReadySeconds to the Deployment's ReplicaSet in place", async () => {
    const revision = '{.items[*].metadata.annotations.deployment\\.kubernetes\\.io/revision}';
    const before = await kubectl('get', 'rs', '-n', 'ready', '-o', `jsonpath=${revision}`);
    const patch = await kubectl('patch', 'deployment/slow', '-n', 'ready', '-p', '{"spec":{"minReadySeconds":7}}');
    expect(patch.code).toBe(0);
    await waitFor('the ReplicaSet to take it', async () => {
      const rs = await kubectl('get', 'rs', '-n', 'ready', '-o', 'jsonpath={.items[*].spec.minReadySeconds}');
      return rs.stdout === '7' ? true : undefined;
    });
    // No new ReplicaSet and no new revision: minReadySeconds is not part of the pod template.
    expect((await kubectl('get', 'rs', '-n', 'ready', '-o', `jsonpath=${revision}`)).stdout).toBe(before.stdout);
  });
});

describe('ServiceAccount admission', () => {
  it("creates no pod for a Deployment whose ServiceAccount is missing, says why in the ReplicaSet's events, and rolls out once it exists", async () => {
    await createDeployment('accounts', 'builder', { replicas: 1, podSpec: { serviceAccountName: 'builder' } });
    const failed = await waitFor('a FailedCreate event', async () => {
      const events = await kubectl(
        'get',
        'events',
        '-n',
        'accounts',
        '-o',
        'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}',
      );
      return events.stdout.split('\n').find((line) => line.startsWith('FailedCreate: '));
    });
    expect(failed).toContain('error looking up service account accounts/builder: serviceaccount "builder" not found');
    expect((await kubectl('get', 'pods', '-n', 'accounts', '-o', 'name')).stdout).toBe('');
    expect((await kubectl('create', 'serviceaccount', 'builder', '-n', 'accounts')).code).toBe(0);
    expect(await rolledOutIn('accounts', 'builder')).toContain('successfully rolled out');
  });
});
