import { existsSync, readFileSync } from 'node:fs';
import { createDockerClient } from '@labbot/builder';
import {
  checkRunnerPermissions,
  createClusterDriver,
  describePermission,
  loadKubeConfig,
  ruleToAdd,
} from '@labbot/cluster';
import type { LabbotConfig } from '@labbot/config';
import { Redis } from 'ioredis';

/** One line of the doctor's report: what was found and, for a problem, how to fix it. */
export interface DoctorFinding {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface DoctorOptions {
  nodeVersion?: string;
  /** Per-check time budget. */
  timeoutMs?: number;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

function checkNode(version: string): DoctorFinding {
  const major = Number(version.replace(/^v/, '').split('.')[0]);
  return major >= 20
    ? { name: 'node', status: 'ok', detail: `Node ${version}` }
    : { name: 'node', status: 'fail', detail: `Node ${version} is too old`, fix: 'install Node 20 or newer' };
}

async function checkRedis(url: string, timeoutMs: number): Promise<DoctorFinding> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: timeoutMs,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await withTimeout(redis.connect(), timeoutMs, 'Redis');
    const info = await withTimeout(redis.info('server'), timeoutMs, 'Redis');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    return { name: 'redis', status: 'ok', detail: `Redis ${version} at ${url}` };
  } catch (error) {
    return {
      name: 'redis',
      status: 'fail',
      detail: `no Redis at ${url}: ${reason(error)}`,
      fix: 'run `bash scripts/services.sh up` (installs redis-server and starts it on 127.0.0.1:6390), or set REDIS_URL',
    };
  } finally {
    redis.disconnect();
  }
}

async function checkDocker(config: LabbotConfig, timeoutMs: number): Promise<DoctorFinding[]> {
  try {
    const docker = createDockerClient(config.docker);
    const version = await withTimeout(docker.version(), timeoutMs, 'Docker');
    const findings: DoctorFinding[] = [
      { name: 'docker', status: 'ok', detail: `Docker engine ${version.Version} (API ${version.ApiVersion})` },
    ];
    try {
      await withTimeout(docker.getImage(config.baseImage).inspect(), timeoutMs, 'Docker');
      findings.push({ name: 'base image', status: 'ok', detail: `${config.baseImage} present` });
    } catch {
      findings.push({
        name: 'base image',
        status: 'fail',
        detail: `${config.baseImage} is missing (images cannot be pulled here)`,
        fix: 'run `bash scripts/services.sh up` (imports it offline from busybox-static)',
      });
    }
    return findings;
  } catch (error) {
    return [
      {
        name: 'docker',
        status: 'fail',
        detail: `no Docker engine answers: ${reason(error)}`,
        fix: 'run `bash scripts/services.sh up` (installs docker.io and starts dockerd), or set DOCKER_HOST',
      },
    ];
  }
}

async function checkRegistry(registry: string | undefined, timeoutMs: number): Promise<DoctorFinding> {
  if (!registry) return { name: 'registry', status: 'ok', detail: 'none configured: images stay in the local engine' };
  try {
    const response = await fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return { name: 'registry', status: 'ok', detail: `registry at ${registry}` };
  } catch (error) {
    return {
      name: 'registry',
      status: 'fail',
      detail: `registry ${registry} does not answer: ${reason(error)}`,
      fix: 'run `bash scripts/services.sh up` (starts docker-registry on 127.0.0.1:5050), or unset LABBOT_REGISTRY',
    };
  }
}

function checkCluster(config: LabbotConfig): DoctorFinding {
  const { mode, kubeconfigPath } = config.cluster;
  if (mode === 'sim') {
    return {
      name: 'cluster',
      status: 'ok',
      detail: `no kubeconfig: labs run on the bundled kube-sim (${config.cluster.simKubelet} kubelet)`,
    };
  }
  if (mode === 'in-cluster') return { name: 'cluster', status: 'ok', detail: 'in-cluster service account' };
  if (!kubeconfigPath || !existsSync(kubeconfigPath)) {
    return {
      name: 'cluster',
      status: 'fail',
      detail: `kubeconfig ${kubeconfigPath ?? '(unset)'} does not exist`,
      fix: 'point KUBECONFIG at a kubeconfig file, or unset it to use the bundled kube-sim',
    };
  }
  const text = readFileSync(kubeconfigPath, 'utf8');
  const context = /current-context:\s*(\S+)/.exec(text)?.[1];
  return context
    ? { name: 'cluster', status: 'ok', detail: `kubeconfig ${kubeconfigPath}, context ${context}` }
    : {
        name: 'cluster',
        status: 'fail',
        detail: `kubeconfig ${kubeconfigPath} has no current-context`,
        fix: 'run `kubectl config use-context <name>`',
      };
}

/**
 * Asks the cluster (SelfSubjectAccessReview) for each permission the runner needs, cluster-wide and, when a lab
 * namespace exists, inside it; each missing one is a finding with the rule to add.
 */
async function checkClusterPermissions(config: LabbotConfig, timeoutMs: number): Promise<DoctorFinding[]> {
  const { mode, kubeconfigPath } = config.cluster;
  if (mode === 'sim') return [];
  if (mode === 'kubeconfig' && (!kubeconfigPath || !existsSync(kubeconfigPath))) return [];
  try {
    const kubeConfig = loadKubeConfig(
      mode === 'in-cluster'
        ? { mode: 'in-cluster' }
        : { mode: 'file', ...(kubeconfigPath ? { path: kubeconfigPath } : {}) },
    );
    const driver = createClusterDriver({ kubeConfig, ceilings: config.limits.ceilings });
    const labs = await withTimeout(
      driver.listLabNamespaces().catch(() => []),
      timeoutMs,
      'the cluster',
    );
    const labNamespace = labs.find((lab) => lab.phase !== 'Terminating')?.name;
    const checks = await withTimeout(
      checkRunnerPermissions(kubeConfig, labNamespace ? { labNamespace } : {}),
      timeoutMs * 3,
      'the cluster',
    );
    const missing = checks.filter((check) => !check.allowed);
    const scope = labNamespace
      ? `cluster-wide and in ${labNamespace}`
      : 'cluster-wide (no lab namespace yet to check inside)';
    if (missing.length === 0)
      return [{ name: 'rbac', status: 'ok', detail: `all ${checks.length} runner permissions held ${scope}` }];
    return missing.map((check) => ({
      name: 'rbac',
      status: 'fail' as const,
      detail: `the runner may not ${describePermission(check.permission)}${check.permission.scope === 'lab' ? ` in ${labNamespace}` : ''} (${check.permission.why})`,
      fix: `${ruleToAdd(check.permission)} (see infra/k8s/runner-rbac.yaml)`,
    }));
  } catch (error) {
    return [
      {
        name: 'rbac',
        status: 'fail',
        detail: `cannot check the runner's permissions: ${reason(error)}`,
        fix: 'check that the kubeconfig points at a reachable cluster and its credentials are valid',
      },
    ];
  }
}

function checkChat(config: LabbotConfig): DoctorFinding[] {
  const discord = Boolean(config.discord.token && config.discord.applicationId);
  const slack = Boolean(config.slack.botToken && config.slack.signingSecret);
  return [
    discord
      ? { name: 'discord', status: 'ok', detail: `credentials present (API ${config.discord.apiUrl})` }
      : {
          name: 'discord',
          status: 'warn',
          detail: 'no credentials: the Discord bot cannot start (local chat works)',
          fix: 'set LABBOT_DISCORD_TOKEN and LABBOT_DISCORD_APPLICATION_ID',
        },
    slack
      ? { name: 'slack', status: 'ok', detail: `credentials present (API ${config.slack.apiUrl})` }
      : {
          name: 'slack',
          status: 'warn',
          detail: 'no credentials: the Slack bot cannot start (local chat works)',
          fix: 'set LABBOT_SLACK_BOT_TOKEN and LABBOT_SLACK_SIGNING_SECRET',
        },
  ];
}

/** Checks everything labbot needs; a 'fail' finding blocks start-up, a 'warn' does not. */
export async function runDoctor(config: LabbotConfig, options: DoctorOptions = {}): Promise<DoctorFinding[]> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const [redis, docker, registry, permissions] = await Promise.all([
    checkRedis(config.redisUrl, timeoutMs),
    checkDocker(config, timeoutMs),
    checkRegistry(config.registry, timeoutMs),
    checkClusterPermissions(config, timeoutMs),
  ]);
  return [
    checkNode(options.nodeVersion ?? process.version),
    redis,
    ...docker,
    registry,
    checkCluster(config),
    ...permissions,
    ...checkChat(config),
  ];
}

export function formatFindings(findings: DoctorFinding[]): string {
  const mark = { ok: '✔', warn: '!', fail: '✖' } as const;
  const lines = findings.map(
    (f) => `${mark[f.status]} ${f.name.padEnd(10)} ${f.detail}${f.fix ? `\n    fix: ${f.fix}` : ''}`,
  );
  const blocking = findings.filter((f) => f.status === 'fail').length;
  lines.push(
    blocking === 0
      ? 'labbot is ready.'
      : `${blocking} blocking problem${blocking === 1 ? '' : 's'}: see the fixes above.`,
  );
  return lines.join('\n');
}
