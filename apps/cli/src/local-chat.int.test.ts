import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeSim, startKubeSim } from '@labbot/kube-sim';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `labbot chat` reading a pipe, and `labbot labs`, as an operator or a script would run them.
const repo = new URL('../../..', import.meta.url).pathname;
const redisUrl = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '')}/13`;
let sim: KubeSim;
let kubeconfig: string;

/** Runs the CLI in a child process; asynchronously, because the kube-sim it talks to lives in this process. */
function labbot(
  args: string[],
  input = '',
  user = 'pipe-user',
  timeoutMs = 120_000,
  extraEnv: Record<string, string> = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const script = `import { main } from './apps/cli/src/main.ts'; await main(['node', 'labbot', ...${JSON.stringify(args)}]);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions', 'labbot-source', '-e', script], {
    cwd: repo,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      USER: user,
      REDIS_URL: redisUrl,
      KUBECONFIG: kubeconfig,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdin.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
  sim = await startKubeSim({ kubelet: 'virtual' });
  kubeconfig = join(mkdtempSync(join(tmpdir(), 'labbot-cli-')), 'kubeconfig');
  writeFileSync(kubeconfig, sim.kubeconfig);
});

afterAll(async () => {
  await sim?.stop();
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  redis.disconnect();
});

/** A lab of `user` recorded in Redis: ready (a runner in the chat process), or only asked for (`--no-runner`). */
async function labOf(user: string, settle: 'ready' | 'pending'): Promise<void> {
  const args = settle === 'ready' ? ['chat', '--timeout', '90'] : ['chat', '--timeout', '1', '--no-runner'];
  const result = await labbot(args, '/lab start docker-vs-kubernetes\n', user);
  expect(result.status, result.stdout + result.stderr).toBe(settle === 'ready' ? 0 : 1);
}

describe('labbot chat from a pipe', () => {
  it('prints the thread as plain text and exits 0 once the lab is ready', async () => {
    const result = await labbot(['chat', '--timeout', '90'], '/lab start docker-vs-kubernetes\n');
    expect(result.stdout).toContain('→ thread "lab · docker-vs-kubernetes · pipe-user" opened');
    expect(result.stdout).toContain('Pods ready: 3/3');
    expect(result.stdout).toContain('Hello from inside the Docker container!');
    expect(result.stdout).not.toContain('\x1b[');
    expect(result.status).toBe(0);
  });

  it('lists the lab for operators', async () => {
    await labOf('list-user', 'ready');
    const result = await labbot(['labs', 'list']);
    expect(result.stdout).toMatch(/LAB\s+OWNER\s+LESSON\s+DESIRED\s+PHASE\s+READY\s+EXPIRES/);
    expect(result.stdout).toMatch(/local:list-user\s+docker-vs-kubernetes\s+running\s+ready\s+3\/3\s+\d+m/);
    expect(result.status).toBe(0);
  });

  it('exits non-zero after --timeout when a lab has not settled', async () => {
    const result = await labbot(
      ['chat', '--timeout', '1', '--no-runner'],
      '/lab start docker-vs-kubernetes exits\n',
      'slow-user',
    );
    expect(result.stdout).toMatch(/Timed out after 1 s/);
    expect(result.status).toBe(1);
  });

  it('stops the lab from the chat, and labs clean forgets stopped labs only', async () => {
    await labOf('stop-user', 'ready');
    await labOf('keep-user', 'pending');
    const chat = await labbot(['chat', '--timeout', '90'], '/lab stop docker-vs-kubernetes\n', 'stop-user');
    expect(chat.stdout).toContain('Lab stopped.');
    expect(chat.status).toBe(0);
    const clean = await labbot(['labs', 'clean']);
    expect(clean.stdout).toContain('Removed 1 stopped lab record(s).');
    const list = (await labbot(['labs', 'list'])).stdout;
    expect(list).not.toContain('local:stop-user');
    expect(list).toContain('local:keep-user');
  });

  it('says in one line what is wrong with the cluster settings, and exits instead of hanging', async () => {
    const result = await labbot(['chat', '--timeout', '5'], '/lab list\n', 'pipe-user', 60_000, {
      KUBECONFIG: '/nonexistent/kubeconfig',
    });
    expect(result.stderr.trim()).toMatch(/^labbot: cannot load kubeconfig \(file\): .*\/nonexistent\/kubeconfig/);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/);
    expect(result.status).toBe(1);
  });
});
