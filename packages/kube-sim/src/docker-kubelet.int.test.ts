import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
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

afterAll(async () => {
  await sim?.stop();
  for (const container of await containersOfRun()) await docker.getContainer(container.Id).remove({ force: true });
});

describe('docker kubelet', () => {
  it('follows the engine when a container is killed behind its back, and removes every container on stop', async () => {
    sim = await startKubeSim({
      kubelet: 'docker',
      backoffBaseMs: 200,
      docker: { labels: { 'labbot.test': '1', 'labbot.test.run': runLabel } },
    });
    const config = new KubeConfig();
    config.loadFromString(sim.kubeconfig);
    const core = config.makeApiClient(CoreV1Api);
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

    await sim.stop();
    sim = undefined;
    expect(await containersOfRun()).toHaveLength(0);
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
    sim = await startKubeSim({
      kubelet: 'docker',
      docker: { labels: { 'labbot.test': '1', 'labbot.test.run': runLabel } },
    });
    const left = (await containersOfRun()).map((container) => container.Id).sort();
    expect(left).toEqual([alive.id, elsewhere.id].sort());
    expect(left).not.toContain(orphan.id);
  });
});
