import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { deleteRegistryRepository, waitFor, waitForValue } from '@labbot/test-support';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';
import { makeTempDir, podWait, runKubectl, tableRows, writeText } from './testing/helpers.js';

// The real kubectl against kube-sim with the Docker kubelet: pods are containers of the offline base image.
const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';
const runId = randomBytes(4).toString('hex');
const runLabel = `labbot.test.run=${runId}`;
const docker = new Docker();
let sim: KubeSim;
let temp: Awaited<ReturnType<typeof makeTempDir>>;
let kubeconfig: string;

const kubectl = (...args: string[]) => runKubectl(kubeconfig, args);

async function applyYaml(name: string, yaml: string, namespace?: string) {
  const file = await writeText(temp.dir, name, yaml);
  return runKubectl(kubeconfig, ['apply', '-f', file, ...(namespace ? ['-n', namespace] : [])]);
}

function deploymentYaml(name: string, replicas: number, command: string, extra = '') {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: ${name}
        image: ${baseImage}
        command: ["sh", "-c", ${JSON.stringify(command)}]
${extra}`;
}

async function namespace(name: string, labels: Record<string, string> = {}) {
  const labelLines = Object.entries(labels)
    .map(([k, v]) => `    ${k}: ${v}`)
    .join('\n');
  const result = await applyYaml(
    `ns-${name}.yaml`,
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${labelLines ? `  labels:\n${labelLines}\n` : ''}`,
  );
  expect(result.stderr).toBe('');
}

/** `kubectl get pods` rows as { name, ready, status, restarts }. */
async function pods(ns: string, selector?: string) {
  const result = await kubectl('get', 'pods', '-n', ns, ...(selector ? ['-l', selector] : []));
  if (result.code !== 0) throw new Error(result.stderr);
  return tableRows(result.stdout).map(([name, ready, status, restarts]) => ({
    name: name ?? '',
    ready,
    status,
    restarts: Number(restarts),
  }));
}

async function runningPods(ns: string, count: number, selector?: string) {
  return waitFor(
    `${count} Running pods in ${ns}`,
    async () => {
      const rows = await pods(ns, selector);
      return rows.length === count && rows.every((p) => p.status === 'Running' && p.ready === '1/1') ? rows : undefined;
    },
    podWait,
  );
}

beforeAll(async () => {
  temp = await makeTempDir();
  sim = await startKubeSim({
    kubelet: 'docker',
    backoffBaseMs: 200,
    // Long enough that the kubectl call after a namespace delete sees it Terminating on a loaded machine.
    namespaceTerminationDelayMs: 8_000,
    registry,
    // This run's containers carry its own label, so another run's (or a leftover's) never match a filter.
    docker: { labels: { 'labbot.test': '1', 'labbot.test.run': runId } },
  });
  kubeconfig = path.join(temp.dir, 'kubeconfig');
  await sim.writeKubeconfig(kubeconfig);
});

afterAll(async () => {
  try {
    await sim?.stop();
  } finally {
    // Whatever stop() could not remove: only this run's containers carry its label.
    const left = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [runLabel] }) });
    await Promise.allSettled(left.map((container) => docker.getContainer(container.Id).remove({ force: true })));
    await temp?.remove();
  }
});

describe('kubectl against kube-sim (docker kubelet)', () => {
  it('lists the built-in namespaces and the node', async () => {
    const ns = await kubectl('get', 'ns');
    expect(ns.code).toBe(0);
    const names = tableRows(ns.stdout).map((row) => row[0]);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-public']));
    expect(tableRows(ns.stdout).every((row) => row[1] === 'Active')).toBe(true);
    const nodes = await kubectl('get', 'nodes');
    expect(nodes.stdout).toContain('sim-node-1');
  });

  it('runs the seed workflow: apply 3 replicas, Running pods as containers, logs, self-healing, scale, rollout', async () => {
    await namespace('seed');
    const applied = await applyYaml(
      'web.yaml',
      deploymentYaml('web', 3, 'echo hello from web; while true; do sleep 1; done'),
      'seed',
    );
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toContain('deployment.apps/web created');
    const running = await runningPods('seed', 3);

    // Each pod is one container on the engine, labelled back to its pod, with networking off.
    const containers = await docker.listContainers({
      filters: JSON.stringify({ label: ['io.kubernetes.pod.namespace=seed', runLabel] }),
    });
    expect(containers.map((c) => c.Labels['io.kubernetes.pod.name']).sort()).toEqual(running.map((p) => p.name).sort());
    const inspected = await docker.getContainer(containers[0]?.Id ?? '').inspect();
    expect(inspected.HostConfig.NetworkMode).toBe('none');

    const logs = await kubectl('logs', '-n', 'seed', running[0]?.name ?? '');
    expect(logs.stdout).toContain('hello from web');

    const victim = running[0]?.name ?? '';
    const deleted = await kubectl('delete', 'pod', '-n', 'seed', victim);
    expect(deleted.stdout).toContain(`pod "${victim}" deleted`);
    const healed = await runningPods('seed', 3);
    expect(healed.map((p) => p.name)).not.toContain(victim);
    await waitFor(
      'the deleted pod container to be removed',
      async () => {
        const left = await docker.listContainers({
          all: true,
          filters: JSON.stringify({ label: [`io.kubernetes.pod.name=${victim}`, runLabel] }),
        });
        return left.length === 0 ? true : undefined;
      },
      podWait,
    );

    const scaled = await kubectl('scale', 'deployment/web', '-n', 'seed', '--replicas=5');
    expect(scaled.stdout).toContain('deployment.apps/web scaled');
    await runningPods('seed', 5);
    const deployment = await kubectl('get', 'deployment', 'web', '-n', 'seed');
    expect(tableRows(deployment.stdout)[0]?.slice(0, 4)).toEqual(['web', '5/5', '5', '5']);

    const changed = await applyYaml(
      'web2.yaml',
      deploymentYaml('web', 5, 'echo version two; while true; do sleep 1; done'),
      'seed',
    );
    expect(changed.stdout).toContain('deployment.apps/web configured');
    const rollout = await runKubectl(
      kubeconfig,
      ['rollout', 'status', 'deployment/web', '-n', 'seed', '--timeout=90s'],
      { timeoutMs: 100_000 },
    );
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');
    expect(rollout.code).toBe(0);
    const replicaSets = tableRows((await kubectl('get', 'rs', '-n', 'seed')).stdout);
    expect(replicaSets).toHaveLength(2);
    expect(replicaSets.map((row) => row[1]).sort()).toEqual(['0', '5']);
    const after = await runningPods('seed', 5);
    const newLogs = await kubectl('logs', '-n', 'seed', after[0]?.name ?? '');
    expect(newLogs.stdout).toContain('version two');
  });

  it('validates with the OpenAPI schema by default: a misspelled field is refused like the real server', async () => {
    await namespace('typos');
    const typo = deploymentYaml('typo', 1, 'sleep 1000').replace('  replicas: 1', '  replica: 1');
    const refused = await applyYaml('typo.yaml', typo, 'typos');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.replica"',
    );
    const file = await writeText(temp.dir, 'typo2.yaml', typo);
    const ignored = await kubectl('apply', '--validate=false', '-f', file, '-n', 'typos');
    expect(ignored.stdout).toContain('deployment.apps/typo created');
    const explained = await kubectl('explain', 'deployment.spec.replicas');
    expect(explained.stdout).toContain('FIELD: replicas <integer>');
  });

  it('applies server-side with field ownership: conflicts with another manager, then --force-conflicts', async () => {
    await namespace('ssa');
    const file = await writeText(temp.dir, 'ssa.yaml', deploymentYaml('owned', 2, 'sleep 1000'));
    const first = await kubectl('apply', '--server-side', '-f', file, '-n', 'ssa');
    expect(first.stdout).toContain('deployment.apps/owned serverside-applied');
    const edited = await runKubectl(kubeconfig, [
      'patch',
      'deployment',
      'owned',
      '-n',
      'ssa',
      '--field-manager=kubectl-edit',
      '-p',
      '{"spec":{"replicas":1}}',
    ]);
    expect(edited.stdout).toContain('patched');
    const conflict = await kubectl('apply', '--server-side', '-f', file, '-n', 'ssa');
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
    );
    const forced = await kubectl('apply', '--server-side', '--force-conflicts', '-f', file, '-n', 'ssa');
    expect(forced.stdout).toContain('serverside-applied');
    const live = JSON.parse(
      (await kubectl('get', 'deployment', 'owned', '-n', 'ssa', '-o', 'json', '--show-managed-fields')).stdout,
    );
    expect(live.spec.replicas).toBe(2);
    const owners = live.metadata.managedFields.filter(
      (m: { fieldsV1: { 'f:spec'?: Record<string, unknown> } }) => m.fieldsV1['f:spec']?.['f:replicas'],
    );
    expect(owners.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`)).toEqual([
      'kubectl/Apply',
    ]);
  });

  it('shows CrashLoopBackOff with growing restarts for an image that prints and exits', async () => {
    await namespace('crash');
    await applyYaml(
      'crash.yaml',
      deploymentYaml('crash', 1, 'echo bye').replace('  replicas: 1', '  replicas: 1\n  progressDeadlineSeconds: 3'),
      'crash',
    );
    // The back-off doubles from the 200 ms base: 200ms, 400ms, 800ms, 1.6s ... Each delay shows only while the
    // container waits, and the waits grow fast: record them from the start, alongside the table's status column.
    const delays = new Set<number>();
    const recordDelay = async () => {
      const list = JSON.parse((await kubectl('get', 'pods', '-n', 'crash', '-o', 'json')).stdout);
      const message = String(list.items[0]?.status?.containerStatuses?.[0]?.state?.waiting?.message ?? '');
      const match = /^back-off (\d+(?:\.\d+)?)(ms|s) restarting failed container=crash pod=/.exec(message);
      if (match?.[1]) delays.add(Number(match[1]) * (match[2] === 's' ? 1000 : 1));
    };
    const seen = await waitFor(
      'CrashLoopBackOff with 2+ restarts',
      async () => {
        await recordDelay();
        const [pod] = await pods('crash');
        return pod && pod.status === 'CrashLoopBackOff' && pod.restarts >= 2 ? pod : undefined;
      },
      { ...podWait, timeoutMs: 60_000, intervalMs: 100 },
    );
    const later = await waitFor(
      'three growing back-off delays and a restart after the one seen',
      async () => {
        await recordDelay();
        const json = JSON.parse((await kubectl('get', 'pod', seen.name, '-n', 'crash', '-o', 'json')).stdout);
        return delays.size >= 3 && json.status.containerStatuses[0].restartCount > seen.restarts ? json : undefined;
      },
      { ...podWait, timeoutMs: 90_000, intervalMs: 50 },
    );
    // Every delay is the base times a power of two, and three distinct ones were seen.
    for (const delay of delays) expect(Math.log2(delay / 200) % 1).toBe(0);
    expect(later.status.containerStatuses[0].restartCount).toBeGreaterThan(seen.restarts);
    const json = JSON.parse((await kubectl('get', 'pod', seen.name, '-n', 'crash', '-o', 'json')).stdout);
    expect(json.status.containerStatuses[0].lastState.terminated).toMatchObject({ reason: 'Completed', exitCode: 0 });
    // The current container may have started and not printed yet (as on a real node): wait for its line.
    await waitFor(
      "the current container's log",
      async () => ((await kubectl('logs', '-n', 'crash', seen.name)).stdout.includes('bye') ? true : undefined),
      { ...podWait, timeoutMs: 30_000, intervalMs: 100 },
    );
    expect((await kubectl('logs', '--previous', '--tail=1', '-n', 'crash', seen.name)).stdout).toBe('bye\n');
    const events = await kubectl('get', 'events', '-n', 'crash');
    expect(events.stdout).toContain('Back-off restarting failed container crash');
    // No progress for progressDeadlineSeconds: rollout status gives up as on a real cluster. Asked once: the kubelet
    // never reports the container Ready (it exits long before a relist could see it running), so the Deployment
    // never completes.
    const rollout = await runKubectl(
      kubeconfig,
      ['rollout', 'status', 'deployment/crash', '-n', 'crash', '--timeout=30s'],
      { timeoutMs: 40_000 },
    );
    expect(rollout.code).not.toBe(0);
    expect(rollout.stderr).toContain('error: deployment "crash" exceeded its progress deadline');
  }, 240_000);

  it('reports exit codes, OOMKilled and ImagePullBackOff like the kubelet', async () => {
    await namespace('states');
    const pod = (name: string, image: string, command: string, extra = '') => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: ${image}
    command: ["sh", "-c", ${JSON.stringify(command)}]
${extra}`;
    await applyYaml('fail.yaml', pod('fails', baseImage, 'echo failing; exit 3'), 'states');
    await applyYaml(
      'oom.yaml',
      pod(
        'oom',
        baseImage,
        'a=$(head -c 67108864 /dev/zero | tr "\\0" a)',
        '    resources:\n      limits: {memory: 16Mi}\n',
      ),
      'states',
    );
    await applyYaml('absent.yaml', pod('absent', `${registry}/kube-sim-test/absent:1`, 'true'), 'states');
    const statuses = await waitForValue(
      'terminal states',
      async () => Object.fromEntries((await pods('states')).map((r) => [r.name, r.status])),
      (byName) => byName.fails === 'Error' && byName.oom === 'OOMKilled' && byName.absent === 'ImagePullBackOff',
      // Three containers and a failed pull on an engine other test files share: a bound, not a speed claim.
      { ...podWait, timeoutMs: 100_000 },
    );
    expect(statuses).toMatchObject({ fails: 'Error', oom: 'OOMKilled', absent: 'ImagePullBackOff' });
    const failed = JSON.parse((await kubectl('get', 'pod', 'fails', '-n', 'states', '-o', 'json')).stdout);
    expect(failed.status.phase).toBe('Failed');
    expect(failed.status.containerStatuses[0].state.terminated.exitCode).toBe(3);
    const events = (await kubectl('get', 'events', '-n', 'states')).stdout;
    expect(events).toContain(`Failed to pull image "${registry}/kube-sim-test/absent:1"`);
  });

  it('pulls an image that names the local registry when it is not on the engine', async () => {
    // A repository of this run only, deleted from the shared registry at the end.
    const repository = `kube-sim-test/busybox-${runId}`;
    const tag = `${registry}/${repository}:1`;
    await docker
      .getImage(baseImage)
      .tag({ repo: tag.slice(0, tag.lastIndexOf(':')), tag: tag.slice(tag.lastIndexOf(':') + 1) });
    const push = await docker.getImage(tag).push({ authconfig: { serveraddress: registry } });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(push, (error: Error | null) => (error ? reject(error) : resolve())),
    );
    await docker.getImage(tag).remove();
    try {
      await namespace('pulls');
      const applied = await applyYaml(
        'pulled.yaml',
        `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pulled\nspec:\n  containers:\n  - name: c\n    image: ${tag}\n    command: [sleep, "1000"]\n`,
        'pulls',
      );
      expect(applied.stderr).toBe('');
      await runningPods('pulls', 1);
      const events = (await kubectl('get', 'events', '-n', 'pulls')).stdout;
      expect(events).toContain(`Successfully pulled image "${tag}"`);
    } finally {
      await kubectl('delete', 'pod', 'pulled', '-n', 'pulls');
      await docker
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
      await deleteRegistryRepository(registry, repository);
    }
  });

  it('refuses a quota-breaking scale-up with the real quota error', async () => {
    await namespace('quota');
    const quota = await applyYaml(
      'quota.yaml',
      'apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: lab-quota\nspec:\n  hard:\n    pods: "2"\n',
      'quota',
    );
    expect(quota.stderr).toBe('');
    await applyYaml('q.yaml', deploymentYaml('q', 2, 'while true; do sleep 1; done'), 'quota');
    await runningPods('quota', 2);
    await kubectl('scale', 'deployment/q', '-n', 'quota', '--replicas=4');
    const message = 'exceeded quota: lab-quota, requested: pods=1, used: pods=2, limited: pods=2';
    const events = await waitFor(
      'a FailedCreate event',
      async () => {
        const out = (await kubectl('get', 'events', '-n', 'quota')).stdout;
        return out.includes(message) ? out : undefined;
      },
      podWait,
    );
    expect(events).toContain('FailedCreate');
    expect((await pods('quota')).length).toBe(2);
    const bare = await applyYaml(
      'bare.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: extra\nspec:\n  containers:\n  - name: c\n    image: ${baseImage}\n`,
      'quota',
    );
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toContain(`Error from server (Forbidden): error when creating`);
    expect(bare.stderr).toContain(`pods "extra" is forbidden: ${message}`);
    const described = (await kubectl('describe', 'quota', 'lab-quota', '-n', 'quota')).stdout;
    expect(described).toMatch(/pods\s+2\s+2/);
  });

  it('fills LimitRange defaults into pods and maps them to the container limits', async () => {
    await namespace('limits');
    const range = await applyYaml(
      'range.yaml',
      `apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
spec:
  limits:
  - type: Container
    default: {cpu: 500m, memory: 64Mi}
    defaultRequest: {cpu: 100m, memory: 32Mi}
`,
      'limits',
    );
    expect(range.stderr).toBe('');
    await applyYaml(
      'plain.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: plain\nspec:\n  containers:\n  - name: c\n    image: ${baseImage}\n    command: [sleep, "1000"]\n`,
      'limits',
    );
    const pod = JSON.parse((await kubectl('get', 'pod', 'plain', '-n', 'limits', '-o', 'json')).stdout);
    expect(pod.spec.containers[0].resources).toEqual({
      limits: { cpu: '500m', memory: '64Mi' },
      requests: { cpu: '100m', memory: '32Mi' },
    });
    expect(pod.status.qosClass).toBe('Burstable');
    await runningPods('limits', 1);
    const [container] = await docker.listContainers({
      filters: JSON.stringify({ label: ['io.kubernetes.pod.name=plain', 'io.kubernetes.pod.namespace=limits'] }),
    });
    const inspected = await docker.getContainer(container?.Id ?? '').inspect();
    expect(inspected.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(inspected.HostConfig.NanoCpus).toBe(500_000_000);
    expect(container?.Labels['io.kubernetes.pod.uid']).toBe(pod.metadata.uid);
  });

  it('refuses a privileged pod in a namespace that enforces the restricted Pod Security level', async () => {
    await namespace('secure', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    const privileged = await applyYaml(
      'priv.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: priv\nspec:\n  containers:\n  - name: c\n    image: ${baseImage}\n    securityContext:\n      privileged: true\n`,
      'secure',
    );
    expect(privileged.code).not.toBe(0);
    expect(privileged.stderr).toContain('Error from server (Forbidden): error when creating');
    expect(privileged.stderr).toContain(
      'pods "priv" is forbidden: violates PodSecurity "restricted:latest": privileged (container "c" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
    const warned = await applyYaml('loose.yaml', deploymentYaml('loose', 1, 'sleep 1000'), 'secure');
    expect(warned.stderr).toContain('Warning: would violate PodSecurity "restricted:latest"');
    const hardened = await applyYaml(
      'hardened.yaml',
      `apiVersion: v1
kind: Pod
metadata:
  name: hardened
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 10001, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: ${baseImage}
    command: ["sh", "-c", "id -u; sleep 1000"]
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`,
      'secure',
    );
    expect(hardened.stderr).toBe('');
    await waitFor(
      'the hardened pod to run',
      async () => ((await pods('secure')).find((p) => p.name === 'hardened')?.status === 'Running' ? true : undefined),
      podWait,
    );
    const logs = await waitFor(
      'id output',
      async () => {
        const out = (await kubectl('logs', 'hardened', '-n', 'secure')).stdout;
        return out.includes('10001') ? out : undefined;
      },
      podWait,
    );
    expect(logs.trim()).toBe('10001');
  });

  it('creates objects imperatively (kubectl create sends protobuf bodies) and runs a pod with kubectl run', async () => {
    const steps = [
      ['create', 'namespace', 'imperative'],
      [
        'create',
        'deployment',
        'hello',
        `--image=${baseImage}`,
        '--replicas=2',
        '-n',
        'imperative',
        '--',
        'sh',
        '-c',
        'echo hi from create; sleep 1000',
      ],
      ['create', 'configmap', 'settings', '--from-literal=mode=lab', '-n', 'imperative'],
      ['create', 'service', 'clusterip', 'hello', '--tcp=80:8080', '-n', 'imperative'],
      ['create', 'serviceaccount', 'bot', '-n', 'imperative'],
      ['create', 'role', 'reader', '--verb=get,list', '--resource=pods', '-n', 'imperative'],
      ['create', 'rolebinding', 'reader', '--role=reader', '--serviceaccount=imperative:bot', '-n', 'imperative'],
    ];
    for (const step of steps) {
      const result = await kubectl(...step);
      expect(result.stderr, step.join(' ')).toBe('');
      expect(result.stdout).toContain('created');
    }
    await runningPods('imperative', 2, 'app=hello');
    const quotaCreated = await kubectl('create', 'quota', 'q', '--hard=pods=5,requests.cpu=2', '-n', 'imperative');
    expect(quotaCreated.stdout).toContain('resourcequota/q created');
    const logs = await waitFor(
      'logs',
      async () => {
        const out = (await kubectl('logs', 'deploy/hello', '-n', 'imperative')).stdout;
        return out.includes('hi from create') ? out : undefined;
      },
      podWait,
    );
    expect(logs).toContain('hi from create');
    const role = JSON.parse((await kubectl('get', 'role', 'reader', '-n', 'imperative', '-o', 'json')).stdout);
    expect(role.rules).toEqual([{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }]);
    const quota = JSON.parse((await kubectl('get', 'quota', 'q', '-n', 'imperative', '-o', 'json')).stdout);
    expect(quota.spec.hard).toEqual({ pods: '5', 'requests.cpu': '2' });
    const cm = JSON.parse((await kubectl('get', 'configmap', 'settings', '-n', 'imperative', '-o', 'json')).stdout);
    expect(cm.data).toEqual({ mode: 'lab' });
    // requests.cpu is limited by the quota, so a pod without requests is refused with the real message.
    const run = await kubectl('run', 'solo', `--image=${baseImage}`, '-n', 'imperative', '--', 'sleep', '1000');
    expect(run.stderr).toContain('pods "solo" is forbidden: failed quota: q: must specify requests.cpu for: solo');
  });

  it('runs commands in a pod with kubectl exec (WebSocket remote command): output, exit code, stdin', async () => {
    await namespace('shell');
    await applyYaml(
      'box.yaml',
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: box\nspec:\n  containers:\n  - name: c\n    image: ${baseImage}\n    command: [sleep, "1000"]\n`,
      'shell',
    );
    await runningPods('shell', 1);
    const echoed = await kubectl('exec', 'box', '-n', 'shell', '--', 'echo', 'hello from exec');
    expect(echoed).toMatchObject({ code: 0, stdout: 'hello from exec\n' });
    const failed = await kubectl('exec', 'box', '-n', 'shell', '--', 'sh', '-c', 'echo oops >&2; exit 3');
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain('oops');
    expect(failed.stderr).toContain('command terminated with exit code 3');
    const piped = await runKubectl(kubeconfig, ['exec', '-i', 'box', '-n', 'shell', '--', 'cat'], {
      input: 'through stdin\n',
    });
    expect(piped).toMatchObject({ code: 0, stdout: 'through stdin\n' });
  });

  it('deletes a namespace: Terminating, then its pods and containers go, then it is gone', async () => {
    await namespace('doomed');
    await applyYaml('doomed.yaml', deploymentYaml('d', 2, 'while true; do sleep 1; done'), 'doomed');
    await runningPods('doomed', 2);
    const deleted = await kubectl('delete', 'ns', 'doomed', '--wait=false');
    expect(deleted.stdout).toContain('namespace "doomed" deleted');
    const listed = await kubectl('get', 'ns', 'doomed');
    expect(tableRows(listed.stdout)[0]?.[1]).toBe('Terminating');
    await waitFor(
      'the namespace to be gone',
      async () => {
        const result = await kubectl('get', 'ns', 'doomed');
        return result.code !== 0 && result.stderr.includes('namespaces "doomed" not found') ? true : undefined;
      },
      podWait,
    );
    const left = await docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: ['io.kubernetes.pod.namespace=doomed', runLabel] }),
    });
    expect(left).toHaveLength(0);
  });
});
