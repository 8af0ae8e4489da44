import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `labbot doctor` against kube-sim as the labbot-runner ServiceAccount with the RBAC of infra/k8s.
const repo = new URL('../../..', import.meta.url).pathname;
let sim: KubeSim;
let dir: string;
let runnerKubeconfig: string;

const kubectl = (...args: string[]) =>
  promisify(execFile)('/usr/bin/kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), ...args], {
    env: { ...process.env, HOME: dir },
  });

/** Runs the doctor in its own process (asynchronously: kube-sim answers from this one). */
function doctor(env: Record<string, string>): Promise<{ status: number | null; stdout: string }> {
  const script = `import { main } from './apps/cli/src/main.ts'; await main(['node', 'labbot', 'doctor']);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'labbot-source', '-e', script], {
      cwd: repo,
      env: { PATH: process.env.PATH, ...env },
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const timer = setTimeout(() => child.kill(), 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'labbot-doctor-rbac-'));
  sim = await startKubeSim({ kubelet: 'virtual' });
  await sim.writeKubeconfig(join(dir, 'kubeconfig'));
  await kubectl('create', 'namespace', 'labbot');
  await kubectl('apply', '-f', join(repo, 'infra/k8s/runner-rbac.yaml'));
  const token = (await kubectl('create', 'token', 'labbot-runner', '-n', 'labbot')).stdout.trim();
  runnerKubeconfig = join(dir, 'runner-kubeconfig');
  await writeFile(runnerKubeconfig, sim.kubeconfigForToken(token, 'labbot'));
});

afterAll(async () => {
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('labbot doctor: the runner’s Kubernetes permissions', () => {
  it('finds every permission of infra/k8s held, then names a removed one with the rule to add', async () => {
    const env = { KUBECONFIG: runnerKubeconfig, REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6390' };
    const healthy = await doctor(env);
    expect(healthy.stdout).toMatch(/✔ rbac\s+all \d+ runner permissions held cluster-wide/);

    await kubectl('patch', 'clusterrole', 'labbot-runner', '--type=json', '-p', '[{"op":"remove","path":"/rules/1"}]');
    const narrowed = await doctor(env);
    expect(narrowed.stdout).toContain(
      '✖ rbac       the runner may not list pods (the one shared pod watch over every lab namespace)',
    );
    expect(narrowed.stdout).toContain(
      'fix: add to ClusterRole labbot-runner: - { apiGroups: [""], resources: [pods], verbs: [list] } (see infra/k8s/runner-rbac.yaml)',
    );
    expect(narrowed.stdout).toContain('✖ rbac       the runner may not watch pods');
    expect(narrowed.status).toBe(1);
  });
});
