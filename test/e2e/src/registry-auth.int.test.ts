import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { createBuilder } from '@labbot/builder';
import { createClusterDriver, loadKubeConfig } from '@labbot/cluster';
import { LabbotError, labIdFor } from '@labbot/core';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { freePort, waitForValue } from '@labbot/test-support';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labWait } from './harness.js';

// Debian's docker-registry with htpasswd basic auth on its own loopback port: labbot pushes with its
// credentials, each lab namespace gets a pull secret, and kube-sim's Docker kubelet pulls with it.
const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const username = 'labbot';
const password = randomBytes(12).toString('hex');
const runId = randomBytes(4).toString('hex');
const lessonId = `registry-auth-${runId}`;
const docker = new Docker();
let dir: string;
let registryProcess: ChildProcess;
let registry: string;
let sim: KubeSim;

function builder(secret: string) {
  return createBuilder({
    docker,
    registry,
    registryCredentials: { username, password: secret },
    labels: { 'labbot.test': '1' },
    limits: { timeoutMs: 60_000, memoryBytes: 256 * 1024 ** 2 },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labbot-registry-auth-'));
  // htpasswd comes from apache2-utils (scripts/services.sh installs it).
  const htpasswd = execFileSync('htpasswd', ['-Bbn', username, password], { encoding: 'utf8' });
  await writeFile(join(dir, 'htpasswd'), htpasswd);
  registry = `127.0.0.1:${await freePort()}`;
  await writeFile(
    join(dir, 'registry.yml'),
    `version: 0.1\nlog: { level: warn }\nstorage:\n  filesystem: { rootdirectory: ${dir}/data }\nhttp:\n  addr: ${registry}\nauth:\n  htpasswd:\n    realm: labbot\n    path: ${dir}/htpasswd\n`,
  );
  registryProcess = spawn('docker-registry', ['serve', join(dir, 'registry.yml')], { stdio: 'ignore' });
  await waitForValue(
    'the registry to ask for a login',
    () =>
      fetch(`http://${registry}/v2/`).then(
        (r) => r.status,
        () => 0,
      ),
    (status) => status === 401,
    { ...labWait, timeoutMs: 20_000 },
  );
  await writeFile(join(dir, 'Dockerfile'), `FROM ${baseImage}\nCOPY run.txt /run.txt\nCMD ["sleep", "3600"]\n`);
  await writeFile(join(dir, 'run.txt'), `${runId}\n`);
  sim = await startKubeSim({
    kubelet: 'docker',
    backoffBaseMs: 200,
    registry,
    docker: { labels: { 'labbot.test': '1' } },
  });
});

afterAll(async () => {
  await sim?.stop();
  registryProcess?.kill();
  const images = await docker.listImages({ filters: { label: [`labbot.dev/lesson=${lessonId}`] } });
  for (const image of images)
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a registry that needs a login', () => {
  it('refuses a push with a wrong password with a clear lab error, and takes one with the right password', async () => {
    const wrong = await builder('not-the-password')
      .ensureImage({ lessonId, contextDir: dir })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(wrong).toBeInstanceOf(LabbotError);
    expect((wrong as LabbotError).code).toBe('REGISTRY_AUTH_FAILED');
    expect((wrong as LabbotError).retryable).toBe(false);
    expect((wrong as LabbotError).userMessage).toBe(
      `The image registry ${registry} refused labbot's credentials (LABBOT_REGISTRY_USERNAME / LABBOT_REGISTRY_PASSWORD); an operator must fix them.`,
    );
    expect(JSON.stringify(wrong)).not.toContain(password);

    const pushed = await builder(password).ensureImage({ lessonId, contextDir: dir });
    const [repository, reference] = pushed.tag.slice(registry.length + 1).split(':');
    const manifest = await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
      method: 'HEAD',
      headers: {
        authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`,
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(manifest.status).toBe(200);
  });

  it('pulls lab pods with the namespace pull secret; a pod without it gets ErrImagePull / ImagePullBackOff', async () => {
    const { tag } = await builder(password).ensureImage({ lessonId, contextDir: dir });
    // The node must pull: the only copy is in the registry.
    await docker.getImage(tag).remove({ force: true });
    const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
    const driver = createClusterDriver({
      kubeConfig,
      ceilings: { cpu: '2', memory: '1Gi', pods: 6 },
      imagePull: { registry, credentials: { username, password } },
    });
    const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ada', lessonId });
    const namespace = `lab-regauth-${runId}`;
    await driver.provisionNamespace({
      labId,
      namespace,
      owner: 'ada',
      lessonId,
      expiresAt: new Date(Date.now() + 3600_000),
      limits: { cpu: '100m', memory: '32Mi', pods: 1 },
    });
    await driver.applyDeployment({
      namespace,
      labId,
      image: tag,
      manifest: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: tag }] } },
        },
      },
    });
    const running = await waitForValue(
      'the lab pod to run from the pulled image',
      () => driver.listPods(namespace),
      (pods) => pods.length === 1 && pods[0]?.phase === 'Running',
      { ...labWait, timeoutMs: 60_000 },
    );
    expect(running[0]?.ready).toBe(true);

    const core = kubeConfig.makeApiClient(CoreV1Api);
    const plain = `regauth-plain-${runId}`;
    await core.createNamespace({ body: { metadata: { name: plain } } });
    await core.createNamespacedPod({
      namespace: plain,
      body: {
        metadata: { name: 'no-secret' },
        spec: { containers: [{ name: 'c', image: tag, imagePullPolicy: 'Always' }] },
      },
    });
    const reasons = new Set<string>();
    await waitForValue(
      'ImagePullBackOff without a pull secret',
      async () => {
        const pod = await core.readNamespacedPod({ namespace: plain, name: 'no-secret' });
        const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        if (reason) reasons.add(reason);
        return reasons;
      },
      (seen) => seen.has('ImagePullBackOff'),
      { ...labWait, timeoutMs: 30_000 },
    );
    expect([...reasons]).toEqual(expect.arrayContaining(['ErrImagePull', 'ImagePullBackOff']));
  });
});
