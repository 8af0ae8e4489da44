import { spawnSync } from 'node:child_process';
import { freePort } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../..', import.meta.url).pathname;
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';

function doctor(env: Record<string, string>) {
  const script = `import { main } from './apps/cli/src/main.ts'; await main(['node', 'labbot', 'doctor']);`;
  return spawnSync(process.execPath, ['--import', 'tsx', '--conditions', 'labbot-source', '-e', script], {
    cwd: repo,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
    // A TypeScript process (tsx) that checks every service: a minute on a loaded 2-core machine is not a failure.
    timeout: 60_000,
  });
}

describe('labbot doctor', () => {
  it('reports every service healthy and exits 0 when they run', () => {
    const result = doctor({ REDIS_URL: redisUrl, LABBOT_REGISTRY: registry });
    expect(result.stdout).toMatch(/✔ redis\s+Redis \d+\.\d+/);
    expect(result.stdout).toMatch(/✔ docker\s+Docker engine/);
    expect(result.stdout).toContain('✔ base image labbot/busybox:1 present');
    expect(result.stdout).toContain(`✔ registry   registry at ${registry}`);
    expect(result.stdout).toContain('bundled kube-sim');
    expect(result.stdout).toMatch(/! discord\s+no credentials/);
    expect(result.stdout).toContain('labbot is ready.');
    expect(result.status).toBe(0);
  });

  it('names each blocking problem with its fix and exits non-zero', async () => {
    const port = await freePort();
    const result = doctor({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      LABBOT_REGISTRY: `127.0.0.1:${port}`,
      DOCKER_HOST: 'unix:///tmp/labbot-no-such-docker.sock',
      KUBECONFIG: '/tmp/labbot-no-such-kubeconfig',
    });
    expect(result.stdout).toContain(`✖ redis      no Redis at redis://127.0.0.1:${port}`);
    expect(result.stdout).toContain('fix: run `bash scripts/services.sh up` (installs redis-server');
    expect(result.stdout).toContain('✖ docker     no Docker engine answers');
    expect(result.stdout).toContain(`✖ registry   registry 127.0.0.1:${port} does not answer`);
    expect(result.stdout).toContain('✖ cluster    kubeconfig /tmp/labbot-no-such-kubeconfig does not exist');
    expect(result.stdout).toContain('4 blocking problems');
    expect(result.status).toBe(1);
  });

  it('refuses a bad setting before checking anything', () => {
    const result = doctor({ REDIS_URL: 'localhost:6379' });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
  });
});
