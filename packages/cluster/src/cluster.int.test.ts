import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { type Diagnosis, type PodSummary, userMessageOf } from '@labbot/core';
import { startKubeSim } from '@labbot/kube-sim';
import { waitFor, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterDriver, createClusterDriver } from './driver.js';
import { loadKubeConfig } from './kubeconfig.js';
import { toPlainObject } from './model-form.js';
import type { LabPodWatch } from './pod-watcher.js';

// Against kube-sim with the Docker kubelet: pods are real containers of the offline base image.
const baseImage = process.env['LABBOT_BASE_IMAGE'] ?? 'labbot/busybox:1';
const ceilings = { cpu: '2', memory: '1Gi', pods: 10 };

type Sim = Awaited<ReturnType<typeof startKubeSim>>;
let sim: Sim;
let driver: ClusterDriver;
let objects: KubernetesObjectApi;
let watch: LabPodWatch;
const namespaces: string[] = [];
/** Every snapshot per lab, as the shared watch delivered them. */
const snapshots = new Map<string, { pods: PodSummary[]; diagnosis: Diagnosis | undefined; namespace: string }[]>();

function newLab() {
  const labId = randomBytes(6).toString('hex');
  const namespace = `lab-${labId}`;
  namespaces.push(namespace);
  return { labId, namespace };
}

function provisionOptions(labId: string, namespace: string) {
  return {
    labId,
    namespace,
    owner: { platform: 'local' as const, workspaceId: 'machine', userId: 'ada' },
    lessonId: 'docker-vs-kubernetes',
    classId: 'class-7',
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    limits: { cpu: '100m', memory: '32Mi', pods: 3 },
  };
}

function deployment(name: string, replicas: number, command: string[]) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, command }] } },
    },
  };
}

const execFileAsync = promisify(execFile);
const sleepLoop = ['sh', '-c', 'echo started; while true; do sleep 1; done'];

/** The first snapshot of a lab that matches, polled from what the watch delivered. */
function waitForSnapshot(
  labId: string,
  predicate: (snapshot: { pods: PodSummary[]; diagnosis: Diagnosis | undefined }) => boolean,
  timeoutMs = 60_000,
) {
  return waitFor(`a matching snapshot of lab ${labId}`, () => (snapshots.get(labId) ?? []).find(predicate), {
    timeoutMs,
    intervalMs: 100,
  });
}

/** An object as the API stored it, in the API's JSON shape. */
async function read(kind: string, apiVersion: string, name: string, namespace?: string) {
  return toPlainObject(
    await objects.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }),
  );
}

/** An object without the fields the server changes on every write. */
function content(object: KubernetesObject) {
  const { managedFields: _managed, ...metadata } = object.metadata ?? {};
  return { ...object, metadata };
}

let kubeconfigPath = '';

/** The real kubectl 1.32 of this machine against the same simulator. */
async function realKubectl(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { timeout: 30_000 });
  return stdout.trimEnd();
}

/** A kubectl table without its last (AGE) column, trailing spaces trimmed. */
function withoutAge(table: string): string {
  return table
    .split('\n')
    .map((line) => line.replace(/\s+\S+$/, '').trimEnd())
    .join('\n');
}

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'docker', backoffBaseMs: 1000, docker: { labels: { 'labbot.test': '1' } } });
  const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
  kubeconfigPath = join(mkdtempSync(join(tmpdir(), 'labbot-cluster-')), 'kubeconfig');
  await sim.writeKubeconfig(kubeconfigPath);
  driver = createClusterDriver({ kubeConfig, ceilings, rolloutTimeoutMs: 60_000 });
  objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  watch = driver.watchLabPods({
    debounceMs: 250,
    onSnapshot: (labId, namespace, pods, diagnosis) => {
      const list = snapshots.get(labId) ?? [];
      list.push({ pods, diagnosis, namespace });
      snapshots.set(labId, list);
    },
  });
  await watch.synced;
});

afterAll(async () => {
  await watch?.stop();
  for (const namespace of namespaces) {
    await driver?.deleteNamespace(namespace, { timeoutMs: 60_000 }).catch(() => undefined);
  }
  await sim?.stop();
});

describe('cluster driver against kube-sim (docker kubelet)', () => {
  it('provisions a lab namespace with every guard rail, idempotently', async () => {
    const { labId, namespace } = newLab();
    const first = await driver.provisionNamespace(provisionOptions(labId, namespace));
    expect(first.objects).toHaveLength(10);
    const kinds = [
      ['Namespace', 'v1', namespace, undefined],
      ['ResourceQuota', 'v1', 'labbot-quota', namespace],
      ['LimitRange', 'v1', 'labbot-limits', namespace],
      ['NetworkPolicy', 'networking.k8s.io/v1', 'default-deny', namespace],
      ['NetworkPolicy', 'networking.k8s.io/v1', 'allow-same-namespace', namespace],
      ['NetworkPolicy', 'networking.k8s.io/v1', 'allow-dns', namespace],
      ['ServiceAccount', 'v1', 'lab-learner', namespace],
      ['Role', 'rbac.authorization.k8s.io/v1', 'lab-learner', namespace],
      ['RoleBinding', 'rbac.authorization.k8s.io/v1', 'lab-learner', namespace],
      ['RoleBinding', 'rbac.authorization.k8s.io/v1', 'labbot-runner', namespace],
    ] as const;
    const before = await Promise.all(kinds.map(([kind, version, name, ns]) => read(kind, version, name, ns)));

    await driver.provisionNamespace(provisionOptions(labId, namespace));
    const after = await Promise.all(kinds.map(([kind, version, name, ns]) => read(kind, version, name, ns)));
    // The same objects, unchanged by a second apply (no new resourceVersion, no duplicate).
    expect(after.map(content)).toEqual(before.map(content));
    expect(after.map((object) => object.metadata?.resourceVersion)).toEqual(
      before.map((object) => object.metadata?.resourceVersion),
    );
    const policies = await objects.list('networking.k8s.io/v1', 'NetworkPolicy', namespace);
    expect(policies.items.map((policy) => policy.metadata?.name).sort()).toEqual([
      'allow-dns',
      'allow-same-namespace',
      'default-deny',
    ]);

    const [ns, quota, limits, deny, same, dns, account, role, binding] = after;
    expect(ns).toMatchObject({
      metadata: {
        labels: {
          'app.kubernetes.io/managed-by': 'labbot',
          'labbot.dev/lab': labId,
          'labbot.dev/lesson': 'docker-vs-kubernetes',
          'labbot.dev/class': 'class-7',
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
        },
        annotations: { 'labbot.dev/expires-at': '2030-01-01T00:00:00.000Z' },
      },
    });
    expect(ns?.metadata?.labels?.['labbot.dev/owner']).toMatch(/^[0-9a-f]{12}$/);
    expect(quota).toMatchObject({
      spec: {
        hard: {
          pods: '4',
          'limits.cpu': '400m',
          'requests.cpu': '200m',
          'limits.memory': '128Mi',
          'requests.memory': '128Mi',
          services: '2',
          'services.nodeports': '0',
          'services.loadbalancers': '0',
        },
      },
    });
    expect(limits).toMatchObject({
      spec: {
        limits: [
          {
            type: 'Container',
            default: { cpu: '100m', memory: '32Mi' },
            defaultRequest: { cpu: '50m', memory: '32Mi' },
            max: { cpu: '100m', memory: '32Mi' },
          },
        ],
      },
    });
    expect(deny).toMatchObject({ spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
    expect(same).toMatchObject({ spec: { ingress: [{ from: [{ podSelector: {} }] }] } });
    expect(dns).toMatchObject({
      spec: {
        egress: [
          {
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    });
    expect(account).toMatchObject({ automountServiceAccountToken: false });
    expect(role).toMatchObject({
      rules: expect.arrayContaining([expect.objectContaining({ resources: ['deployments/scale'] })]),
    });
    expect(binding).toMatchObject({ subjects: [{ kind: 'ServiceAccount', name: 'lab-learner', namespace }] });

    const listed = await driver.listLabNamespaces();
    expect(listed.find((entry) => entry.name === namespace)).toMatchObject({
      labId,
      lessonId: 'docker-vs-kubernetes',
      classId: 'class-7',
      expiresAt: '2030-01-01T00:00:00.000Z',
    });
  });

  it('runs a 3-replica Deployment of the base image to 3 Ready pods seen through the shared watch', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    const applied = await driver.applyDeployment({
      namespace,
      labId,
      manifest: deployment('hello', 3, sleepLoop),
      image: baseImage,
    });
    // Nothing per lab on the Deployment: the shared watch finds its pods by the namespace's lab label.
    expect(applied.metadata?.labels?.['labbot.dev/lab']).toBeUndefined();
    expect(applied.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('labbot');
    const ready = await waitForSnapshot(labId, ({ pods }) => pods.length === 3 && pods.every((pod) => pod.ready));
    expect(ready.diagnosis).toBeUndefined();
    expect(ready.pods.every((pod) => pod.phase === 'Running' && pod.restarts === 0)).toBe(true);

    // What the API stored passes PSA restricted because of the securityContext the driver added.
    const pods = await objects.list('v1', 'Pod', namespace);
    for (const pod of pods.items.map(toPlainObject) as { spec?: unknown }[]) {
      expect(pod.spec).toMatchObject({
        securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
        automountServiceAccountToken: false,
        serviceAccountName: 'lab-learner',
      });
    }

    // The learner's kubectl subset, confined to this namespace.
    const table = await driver.kubectl(namespace, { verb: 'get', resource: 'pods', wide: false });
    expect(table.text.split('\n')).toHaveLength(4);
    expect(table.text).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(table.text.match(/1\/1\s+Running/g)).toHaveLength(3);
    // The same table the real kubectl prints for the same pods (the AGE column may differ by a second).
    for (const resource of ['pods', 'deployments', 'replicasets'] as const) {
      const ours = await driver.kubectl(namespace, { verb: 'get', resource, wide: false });
      const real = await realKubectl(['get', resource, '-n', namespace]);
      expect(withoutAge(ours.text), resource).toBe(withoutAge(real));
    }
    const describeDeployment = await driver.kubectl(namespace, {
      verb: 'describe',
      resource: 'deployment',
      name: 'hello',
    });
    expect(describeDeployment.text).toMatch(
      /Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable/,
    );
    expect(describeDeployment.text).toContain('ScalingReplicaSet');
    const all = await driver.kubectl(namespace, { verb: 'get', resource: 'all', wide: false });
    expect(all.text).toMatch(/^deployment\.apps\/hello\s+3\/3\s+3\s+3\s/m);
    expect(all.text.match(/^pod\/hello-/gm)).toHaveLength(3);
    const rollout = await driver.kubectl(namespace, { verb: 'rollout-status', deployment: 'hello' });
    expect(rollout).toMatchObject({ ok: true });
    expect(rollout.text).toContain('deployment "hello" successfully rolled out');
    const podName = ready.pods[0]?.name ?? '';
    const logs = await driver.kubectl(namespace, { verb: 'logs', pod: podName, previous: false });
    expect(logs.text).toContain('started');

    const deleted = await driver.kubectl(namespace, { verb: 'delete', resource: 'pod', name: podName });
    expect(deleted.text).toBe(`pod "${podName}" deleted`);
    await waitForSnapshot(
      labId,
      ({ pods }) => pods.length === 3 && pods.every((pod) => pod.ready) && !pods.some((pod) => pod.name === podName),
    );

    const scaled = await driver.kubectl(namespace, { verb: 'scale', deployment: 'hello', replicas: 2 });
    expect(scaled.text).toBe('deployment.apps/hello scaled');
    await waitForSnapshot(labId, ({ pods }) => pods.length === 2 && pods.every((pod) => pod.ready));

    const missing = await driver.kubectl(namespace, { verb: 'describe', resource: 'pod', name: 'nope' });
    expect(missing).toEqual({ ok: false, text: 'Error from server (NotFound): pods "nope" not found' });
  });

  it('diagnoses an image that prints and exits as CrashLoopBackOff', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({
      namespace,
      labId,
      manifest: deployment('hello', 1, ['echo', 'Hello from inside the Docker container!']),
      image: baseImage,
    });
    const crashing = await waitForSnapshot(labId, ({ diagnosis }) => diagnosis?.reason === 'CrashLoopBackOff');
    expect(crashing.diagnosis?.summary).toMatch(/exit code 0/);
    // The pod itself then reaches the CrashLoopBackOff state the API reports.
    const backOff = await waitForSnapshot(labId, ({ pods }) => pods[0]?.reason === 'CrashLoopBackOff');
    expect(backOff.pods[0]?.restarts).toBeGreaterThanOrEqual(1);
    expect(backOff.diagnosis?.reason).toBe('CrashLoopBackOff');
    expect(crashing.diagnosis?.hint).toMatch(/long-running process/);
    expect(await driver.diagnoseNamespace(namespace)).toMatchObject({ reason: 'CrashLoopBackOff' });
  });

  it('diagnoses a missing image as ImagePullBackOff', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({
      namespace,
      labId,
      manifest: deployment('hello', 1, sleepLoop),
      image: 'labbot/no-such-image:404',
    });
    const pulling = await waitForSnapshot(labId, ({ diagnosis }) => diagnosis?.reason === 'ImagePullBackOff');
    expect(pulling.diagnosis?.summary).toContain('labbot/no-such-image:404');
  });

  it('diagnoses a container that goes over its memory limit as OOMKilled', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    // 64 MiB held in a shell variable, under the LimitRange's default limit of 32Mi.
    const hog = ['sh', '-c', 'a=$(head -c 67108864 /dev/zero | tr "\\0" a); sleep 3600'];
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 1, hog), image: baseImage });
    const oom = await waitForSnapshot(labId, ({ diagnosis }) => diagnosis?.reason === 'OOMKilled');
    expect(oom.diagnosis?.summary).toMatch(/memory limit/);
  });

  it('diagnoses pods refused by the quota from the ReplicaSet events', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    // The quota leaves room for 3 replicas + 1 surge pod: 6 replicas cannot all be created.
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 6, sleepLoop), image: baseImage });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 4);
    const diagnosis = await waitForValue(
      'the PendingQuota diagnosis',
      () => driver.diagnoseNamespace(namespace),
      (found) => found?.reason === 'PendingQuota',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(diagnosis).toMatchObject({ reason: 'PendingQuota' });
    expect(diagnosis?.summary).toContain('exceeded quota');
  });

  it('diagnoses a pod template refused by Pod Security (restricted)', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    const manifest = deployment('hello', 1, sleepLoop);
    // A hostPath volume cannot be made compliant by the securityContext: PSA restricted must refuse the pods.
    Object.assign(manifest.spec.template.spec, { volumes: [{ name: 'host', hostPath: { path: '/etc' } }] });
    await driver.applyDeployment({ namespace, labId, manifest, image: baseImage });
    const diagnosis = await waitForValue(
      'the PodSecurity diagnosis',
      () => driver.diagnoseNamespace(namespace),
      (found) => found?.reason === 'PodSecurity',
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(diagnosis).toMatchObject({ reason: 'PodSecurity' });
    expect(diagnosis?.summary).toContain('hostPath');
    expect(await driver.listPods(namespace)).toEqual([]);
  });

  it('keeps reporting after the simulator drops every watch', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 1, sleepLoop), image: baseImage });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 1 && pods.every((pod) => pod.ready));
    expect(sim.dropWatches()).toBeGreaterThanOrEqual(1);
    await driver.kubectl(namespace, { verb: 'scale', deployment: 'hello', replicas: 3 });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 3 && pods.every((pod) => pod.ready), 30_000);
  });

  it('retries a /lab kubectl request the API server failed for a moment; one clear sentence when retries run out', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 1, sleepLoop), image: baseImage });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 1 && pods.every((pod) => pod.ready));
    try {
      // Every other list of pods answers 503: the learner still gets the table.
      let draws = 0;
      sim.setFaults({ errorRate: { 'list pods': 1 }, errorCode: 503, random: () => (draws++ % 2 === 0 ? 0 : 1) });
      const table = await driver.kubectl(namespace, { verb: 'get', resource: 'pods', wide: false });
      expect(table.ok).toBe(true);
      expect(table.text).toContain('hello-');
      expect(draws).toBeGreaterThanOrEqual(2);

      // Down for longer than the retries: one sentence for the learner, no status code or internals.
      sim.setFaults({ errorRate: { 'list pods': 1 }, errorCode: 503 });
      const failure = await driver
        .kubectl(namespace, { verb: 'get', resource: 'pods', wide: false })
        .catch((error: unknown) => error);
      expect(userMessageOf(failure)).toBe('The lab cluster is not reachable right now. Please try again in a minute.');
    } finally {
      sim.setFaults({});
    }
  });

  it('starts a lab in few API requests: guard rails + Deployment, pods seen through the shared watch', async () => {
    // A first lab warms the driver's discovery cache (one GET per API group version, once per process).
    const warm = newLab();
    await driver.provisionNamespace(provisionOptions(warm.labId, warm.namespace));
    await driver.applyDeployment({ ...warm, manifest: deployment('hello', 1, sleepLoop), image: baseImage });
    const { labId, namespace } = newLab();
    sim.resetStats();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 3, sleepLoop), image: baseImage });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 3 && pods.every((pod) => pod.ready));
    const stats = sim.stats();
    // One server-side apply per object (9 guard rails + the runner's RoleBinding + 1 Deployment) and the namespace's
    // provisioned mark; discovery is cached, the watch is shared.
    expect(stats.byVerb['patch']).toBe(12);
    expect(stats.byVerb['get'] ?? 0).toBe(0);
    expect(stats.byVerb['list'] ?? 0).toBe(0);
    // At most a reconnect of the one shared watch besides the applies.
    expect(stats.total).toBeLessThanOrEqual(13);
  });

  it('tears a lab namespace down and waits until it is gone', async () => {
    const { labId, namespace } = newLab();
    await driver.provisionNamespace(provisionOptions(labId, namespace));
    await driver.applyDeployment({ namespace, labId, manifest: deployment('hello', 1, sleepLoop), image: baseImage });
    await waitForSnapshot(labId, ({ pods }) => pods.length === 1 && pods.every((pod) => pod.ready));
    await driver.deleteNamespace(namespace, { timeoutMs: 60_000 });
    const gone = await read('Namespace', 'v1', namespace).then(
      () => 'still there',
      (error: unknown) => (error as { code?: number }).code,
    );
    expect(gone).toBe(404);
    expect((await driver.listLabNamespaces()).some((entry) => entry.name === namespace)).toBe(false);
    await waitForSnapshot(labId, ({ pods }) => pods.length === 0, 30_000);
    // Deleting what is already gone is fine; a namespace labbot does not manage is refused.
    await driver.deleteNamespace(namespace);
    await expect(driver.deleteNamespace('default')).rejects.toMatchObject({
      code: 'CLUSTER_FORBIDDEN',
      message: 'namespace default is not managed by labbot',
    });
  });
});
