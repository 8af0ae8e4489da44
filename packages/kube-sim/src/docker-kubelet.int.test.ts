import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment, type V1Pod, Watch } from '@kubernetes/client-node';
import { waitFor } from '@labbot/test-support';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';
import { podWait } from './testing/helpers.js';

// The Docker kubelet's bookkeeping: status follows the engine, and stop() leaves no container behind.
const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const runLabel = `kube-sim-test-${randomBytes(4).toString('hex')}`;
const docker = new Docker();
let sim: KubeSim | undefined;

async function containersOfRun(all = true) {
  return docker.listContainers({ all, filters: JSON.stringify({ label: [`labbot.test.run=${runLabel}`] }) });
}

/** A kube-sim with the Docker kubelet whose containers carry this run's label; its admin's config and core client. */
async function startDockerSim(options: { backoffBaseMs?: number; client?: Docker } = {}) {
  const started = await startKubeSim({
    kubelet: 'docker',
    ...(options.backoffBaseMs ? { backoffBaseMs: options.backoffBaseMs } : {}),
    docker: {
      ...(options.client ? { client: options.client } : {}),
      labels: { 'labbot.test': '1', 'labbot.test.run': runLabel },
    },
  });
  sim = started;
  const config = new KubeConfig();
  config.loadFromString(started.kubeconfig);
  return { started, config, core: config.makeApiClient(CoreV1Api) };
}

afterAll(async () => {
  await sim?.stop();
  for (const container of await containersOfRun()) await docker.getContainer(container.Id).remove({ force: true });
});

describe('docker kubelet', () => {
  it('follows the engine when a container is killed behind its back, and removes every container on stop', async () => {
    const { started, core } = await startDockerSim({ backoffBaseMs: 200 });
    const pod: V1Pod = {
      metadata: { name: 'worker' },
      spec: {
        securityContext: { runAsUser: 10001 },
        containers: [{ name: 'main', image: baseImage, command: ['sh', '-c', 'while true; do sleep 1; done'] }],
      },
    };
    await core.createNamespacedPod({ namespace: 'default', body: pod });
    const running = await waitFor(
      'worker running',
      async () => {
        const current = await core.readNamespacedPod({ namespace: 'default', name: 'worker' });
        return current.status?.containerStatuses?.[0]?.ready ? current : undefined;
      },
      podWait,
    );
    const [container] = await containersOfRun(false);
    expect(container?.Labels['io.kubernetes.pod.uid']).toBe(running.metadata?.uid);
    const inspected = await docker.getContainer(container?.Id ?? '').inspect();
    expect(inspected.Config.User).toBe('10001');
    expect(running.status?.containerStatuses?.[0]?.containerID).toBe(`docker://${container?.Id}`);

    await docker.getContainer(container?.Id ?? '').kill();
    const restarted = await waitFor(
      'a restart after the kill',
      async () => {
        const current = await core.readNamespacedPod({ namespace: 'default', name: 'worker' });
        const status = current.status?.containerStatuses?.[0];
        return status?.restartCount === 1 && status.ready ? status : undefined;
      },
      podWait,
    );
    expect(restarted.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });

    await started.stop();
    sim = undefined;
    expect(await containersOfRun()).toHaveLength(0);
  });

  it('never reports a container that exits at once as running: its pod is never Ready, its Deployment never available', async () => {
    // A real kubelet learns container state at its PLEG relist (every 1 s): a process that ends milliseconds after
    // its start is seen only as exited, so the pod goes to CrashLoopBackOff without ever being Ready. Every pod and
    // Deployment change is watched, so even a Ready that lasted a millisecond would be seen.
    const { started, config, core } = await startDockerSim({ backoffBaseMs: 200 });
    const apps = config.makeApiClient(AppsV1Api);
    await core.createNamespace({ body: { metadata: { name: 'exits' } } });
    const watch = new Watch(config);
    const readyPods = new Set<string>();
    const runningStates: string[] = [];
    let maxRestarts = 0;
    let podEvents = 0;
    const pods = await watch.watch(
      '/api/v1/namespaces/exits/pods',
      {},
      (_type, pod: V1Pod) => {
        podEvents++;
        if (pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          readyPods.add(`${pod.metadata?.name} (restarts ${pod.status?.containerStatuses?.[0]?.restartCount})`);
        const status = pod.status?.containerStatuses?.[0];
        if (status?.state?.running) runningStates.push(`${pod.metadata?.name} restarts ${status.restartCount}`);
        maxRestarts = Math.max(maxRestarts, status?.restartCount ?? 0);
      },
      () => undefined,
    );
    let maxAvailable = 0;
    let deploymentEvents = 0;
    const deployments = await watch.watch(
      '/apis/apps/v1/namespaces/exits/deployments',
      {},
      (_type, deployment: V1Deployment) => {
        deploymentEvents++;
        maxAvailable = Math.max(maxAvailable, deployment.status?.availableReplicas ?? 0);
      },
      () => undefined,
    );
    try {
      await apps.createNamespacedDeployment({
        namespace: 'exits',
        body: {
          metadata: { name: 'hello' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'hello' } },
            template: {
              metadata: { labels: { app: 'hello' } },
              spec: { containers: [{ name: 'hello', image: baseImage, command: ['echo', 'hello from a container'] }] },
            },
          },
        },
      });
      // Restarts after 0, 200, 400 and 800 ms of back-off: four starts, each one a chance to be seen Ready.
      const crashing = await waitFor(
        'CrashLoopBackOff after 4 restarts',
        async () => {
          const [pod] = (await core.listNamespacedPod({ namespace: 'exits' })).items;
          const status = pod?.status?.containerStatuses?.[0];
          return status && status.restartCount >= 4 && status.state?.waiting?.reason === 'CrashLoopBackOff'
            ? status
            : undefined;
        },
        { ...podWait, intervalMs: 100 },
      );
      expect(crashing.lastState?.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
      expect(crashing.ready).toBe(false);
      expect(maxRestarts).toBeGreaterThanOrEqual(4);
      expect(podEvents).toBeGreaterThan(4);
      expect(deploymentEvents).toBeGreaterThan(0);
      expect([...readyPods]).toEqual([]);
      expect(runningStates).toEqual([]);
      expect(maxAvailable).toBe(0);
      const deployment = await apps.readNamespacedDeployment({ namespace: 'exits', name: 'hello' });
      expect(deployment.status?.availableReplicas ?? 0).toBe(0);
    } finally {
      pods.abort();
      deployments.abort();
      await started.stop();
      sim = undefined;
    }
  });

  it('removes the containers of a simulator whose process ended without stop(), and only those', async () => {
    const namespace = readlinkSync('/proc/self/ns/pid');
    const ended = spawnSync('true').pid;
    const create = (owner: string) =>
      docker.createContainer({
        Image: baseImage,
        Cmd: ['true'],
        Labels: { 'labbot.test': '1', 'labbot.test.run': runLabel, 'dev.labbot.kube-sim.owner': owner },
        HostConfig: { NetworkMode: 'none' },
      });
    const orphan = await create(`${namespace}:${ended}`);
    const alive = await create(`${namespace}:${process.pid}`);
    const elsewhere = await create(`pid:[1]:${ended}`);
    await startDockerSim();
    const left = (await containersOfRun()).map((container) => container.Id).sort();
    expect(left).toEqual([alive.id, elsewhere.id].sort());
    expect(left).not.toContain(orphan.id);
  });

  it('reports OOMKilled when the engine tells of the kill only after the exit', async () => {
    // A Docker API in front of the engine whose inspect never shows the OOM flag, as on a busy engine where
    // the "oom" event is handled after "die": the kubelet must still report the kill, as a real one does.
    const folder = mkdtempSync(join(tmpdir(), 'kube-sim-oom-'));
    const socketPath = join(folder, 'docker.sock');
    const proxy = await hideOomFlag(socketPath);
    try {
      const { core } = await startDockerSim({ client: new Docker({ socketPath }) });
      await core.createNamespacedPod({
        namespace: 'default',
        body: {
          metadata: { name: 'hungry' },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'main',
                image: baseImage,
                command: ['sh', '-c', 'a=$(head -c 67108864 /dev/zero | tr "\\0" a)'],
                resources: { limits: { memory: '16Mi' } },
              },
            ],
          },
        },
      });
      const terminated = await waitFor(
        'the OOM kill reported',
        async () => {
          const current = await core.readNamespacedPod({ namespace: 'default', name: 'hungry' });
          const state = current.status?.containerStatuses?.[0]?.state?.terminated;
          return state?.reason === 'OOMKilled' ? state : undefined;
        },
        podWait,
      );
      expect(terminated.exitCode).toBe(137);
      const [container] = await containersOfRun();
      // The engine itself did record the kill: only the proxy hid it from the inspect.
      expect((await docker.getContainer(container?.Id ?? '').inspect()).State.OOMKilled).toBe(true);
    } finally {
      await sim?.stop();
      sim = undefined;
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

/** Forwards the Docker API on `socketPath` to the engine, with `State.OOMKilled` false in every container inspect. */
async function hideOomFlag(socketPath: string): Promise<Server> {
  const engine = process.env.DOCKER_HOST?.replace(/^unix:\/\//, '') || '/var/run/docker.sock';
  const server = createServer((incoming, answer) => {
    const inspect = incoming.method === 'GET' && /\/containers\/[^/]+\/json(\?|$)/.test(incoming.url ?? '');
    const upstream = request(
      { socketPath: engine, method: incoming.method, path: incoming.url, headers: incoming.headers },
      (response) => {
        if (!inspect || response.statusCode !== 200) {
          answer.writeHead(response.statusCode ?? 502, response.headers);
          // A stream (the event feed) sends its head before any event, and so must the proxy.
          answer.flushHeaders();
          response.pipe(answer);
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          body.State.OOMKilled = false;
          const text = JSON.stringify(body);
          const { 'content-length': _length, 'transfer-encoding': _encoding, ...headers } = response.headers;
          answer.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(text) });
          answer.end(text);
        });
      },
    );
    upstream.on('error', () => answer.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}
