// labbot's own Kubernetes manifests (infra/k8s, kustomize) against kube-sim with kubectl, schema validation on.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnerNodeFlags } from './deploy-files.js';

const run = promisify(execFile);
const repo = join(import.meta.dirname, '..', '..', '..');
const BASE = join(repo, 'infra', 'k8s');
const OVERLAY = join(repo, 'infra', 'k8s-overlays', 'example');

describe('infra/k8s applied with kubectl', () => {
  let sim: KubeSim;
  let kubeconfig: string;
  const kubectl = (...args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig, ...args], { cwd: repo, maxBuffer: 16 * 1024 * 1024 });

  beforeAll(async () => {
    sim = await startKubeSim({ kubelet: 'virtual' });
    kubeconfig = join(mkdtempSync(join(tmpdir(), 'labbot-k8s-')), 'kubeconfig');
    writeFileSync(kubeconfig, sim.kubeconfig);
  });

  afterAll(async () => {
    await sim?.stop();
  });

  it('passes a server-side dry run of the base and of the example overlay, creating nothing', async () => {
    // As on a real API server, a dry run cannot create objects in a namespace that does not exist yet.
    await kubectl('apply', '--validate=strict', '-f', join(BASE, 'namespace.yaml'));
    for (const dir of [BASE, OVERLAY]) {
      const { stdout } = await kubectl('apply', '--dry-run=server', '--validate=strict', '-k', dir);
      expect(stdout).toContain('deployment.apps/labbot-runner created (server dry run)');
      expect(stdout).toContain('statefulset.apps/labbot-redis created (server dry run)');
    }
    await expect(kubectl('get', '-n', 'labbot', 'deployment', 'labbot-runner')).rejects.toThrow(/NotFound|not found/);
  });

  it('applies for real: every object is stored as written and served back', async () => {
    await kubectl('apply', '--validate=strict', '-k', OVERLAY);
    const { stdout } = await kubectl(
      'get',
      'deployments,statefulsets,services,poddisruptionbudgets,configmaps,secrets,networkpolicies,serviceaccounts',
      '-n',
      'labbot',
      '-o',
      'json',
    );
    const items = (
      JSON.parse(stdout) as { items: { kind: string; metadata: { name: string }; spec?: Record<string, unknown> }[] }
    ).items;
    const names = items.map((item) => `${item.kind}/${item.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Deployment/labbot-runner',
        'Deployment/labbot-discord',
        'Deployment/labbot-slack',
        'StatefulSet/labbot-redis',
        'Service/labbot-slack',
        'Service/labbot-redis',
        'PodDisruptionBudget/labbot-runner',
        'ConfigMap/labbot-config',
        'NetworkPolicy/default-deny',
        'ServiceAccount/labbot-runner',
      ]),
    );
    expect(
      names.filter((name) => name.startsWith('Secret/labbot-secrets-')),
      names.join(' '),
    ).toHaveLength(1);
    const runner = items.find((item) => item.kind === 'Deployment' && item.metadata.name === 'labbot-runner');
    expect(runner?.spec?.replicas).toBe(2);
    const template = runner?.spec?.template as {
      spec: { containers: { name: string; image: string; readinessProbe?: { httpGet?: { path: string } } }[] };
    };
    const container = template.spec.containers.find((c) => c.name === 'runner');
    expect(container?.image).toBe('registry.example.internal:5000/labbot/labbot:0.1.0');
    expect(container?.readinessProbe?.httpGet?.path).toBe('/readyz');

    const cluster = await kubectl('get', 'clusterroles,clusterrolebindings', '-o', 'name');
    expect(cluster.stdout).toContain('clusterrole.rbac.authorization.k8s.io/labbot-runner');
  });

  it('refuses a manifest with a field the schema does not know', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'labbot-k8s-bad-'));
    writeFileSync(
      join(dir, 'pdb.yaml'),
      'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: bad, namespace: default }\nspec: { minAvailabel: 1, selector: { matchLabels: { a: b } } }\n',
    );
    await expect(kubectl('apply', '--validate=strict', '-f', join(dir, 'pdb.yaml'))).rejects.toThrow(/minAvailabel/);
  });
});

describe("the runner's Node flags", () => {
  it('are the same in infra/k8s, docker-compose.yml and npm start, and node accepts them', async () => {
    const flags = runnerNodeFlags();
    expect(flags).toContain('--max-semi-space-size=8');
    const compose = readFileSync(join(repo, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(
      `command: ${JSON.stringify([...flags, 'apps/runner/dist/main.js']).replaceAll(',', ', ')}`,
    );
    const start = JSON.parse(readFileSync(join(repo, 'apps', 'runner', 'package.json'), 'utf8')).scripts.start;
    expect(start).toBe(['node', ...flags, 'dist/main.js'].join(' '));
    // A flag node does not know stops it at once ("bad option"): with these it starts and runs.
    const { stdout } = await run(process.execPath, [...flags, '-p', 'require("v8").getHeapSpaceStatistics().length']);
    expect(Number(stdout.trim())).toBeGreaterThan(0);
  });
});
