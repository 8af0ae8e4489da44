// Metrics and health of the runner process: after one lab, /metrics shows it; /readyz follows Redis.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { createLogger, loadConfig } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import { RECONCILE_QUEUE } from '@labbot/queue';
import { freePort, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunnerApp, startRunnerApp } from '../../../apps/runner/src/runner-app.js';
import { FAST_RUNNER, type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const logger = createLogger({ name: 'ops-metrics', level: process.env.LABBOT_TEST_LOG ?? 'silent' });

/** The value of one series in Prometheus text, matched by name and every given label. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('the runner process after one lab', () => {
  const lessonId = `metrics-${randomBytes(3).toString('hex')}`;
  // A fresh build context (a nonce in a RUN step), so this lab really builds its image.
  const lessons = makeLessonsDir([
    { id: lessonId, dockerfile: (text) => text.replace(/^(FROM .*)$/m, `$1\nRUN echo ${lessonId}`) },
  ]);
  let harness: LabHarness;
  let app: RunnerApp;
  let chat: LocalChat;

  beforeAll(async () => {
    harness = await startLabHarness({ redisDb: 6, kubelet: 'virtual', env: { LABBOT_LESSONS_DIR: lessons.dir } });
    app = await startRunnerApp(harness.config, { metricsPort: 0, tuning: FAST_RUNNER, logger });
    await app.runner.ready;
    chat = await harness.startChat();
  });

  afterAll(async () => {
    await app?.stop();
    await harness?.stop();
    await lessons.remove();
  });

  it('serves the lab as ready, one build and a time-to-ready sample on /metrics', async () => {
    const port = app.metrics?.server.port() ?? 0;
    const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ada', lessonId });
    await chat.type(`start ${lessonId}`, 'ada');
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 120_000);

    const { status, body } = await get(port, '/metrics');
    expect(status).toBe(200);
    expect(sample(body, 'labbot_labs', { phase: 'ready', process: 'runner' })).toBe(1);
    expect(sample(body, 'labbot_labs', { phase: 'failed' })).toBe(0);
    expect(sample(body, 'labbot_builds_total', { result: 'built' })).toBe(1);
    expect(sample(body, 'labbot_build_duration_seconds_count', { result: 'built' })).toBe(1);
    expect(sample(body, 'labbot_lab_time_to_ready_seconds_count')).toBe(1);
    expect(sample(body, 'labbot_lab_time_to_ready_seconds_sum')).toBeGreaterThan(0);
    expect(sample(body, 'labbot_kube_api_requests_total', { verb: 'PATCH' })).toBeGreaterThan(0);
    expect(sample(body, 'labbot_queue_jobs', { queue: RECONCILE_QUEUE, state: 'waiting' })).toBe(0);
    expect(body).toContain('labbot_queue_oldest_waiting_job_age_seconds{queue="lab-reconcile"');
  });

  it('answers /healthz and /readyz with every check named', async () => {
    const port = app.metrics?.server.port() ?? 0;
    expect((await get(port, '/healthz')).status).toBe(200);
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ok',
      checks: { 'pod-watch': 'ok', redis: 'ok', docker: 'ok', cluster: 'ok' },
    });
  });
});

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('/readyz of the runner when its Redis stops', () => {
  let redis: ChildProcess | undefined;
  let redisPort: number;
  let harness: LabHarness;
  let app: RunnerApp;
  /** Every redis-server this file started and that still runs: afterAll stops each by PID, whatever the tests did. */
  const running = new Set<ChildProcess>();
  // Last resort if the worker ends before afterAll could stop them (a hook timeout ending the file).
  const killAll = () => {
    for (const child of running) if (child.pid) process.kill(child.pid, 'SIGKILL');
  };
  process.once('exit', killAll);

  const startRedis = async () => {
    // Our own redis-server on a spare loopback port: stopping it disturbs no other test.
    const child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    running.add(child);
    child.once('exit', () => running.delete(child));
    redis = child;
    await waitForValue(
      'redis-server to listen',
      () => listening(redisPort),
      (up) => up,
      { ...labWait, timeoutMs: 10_000 },
    );
  };
  /** Stops one redis-server by its PID: SIGTERM, then SIGKILL when it has not exited within 5 s. */
  const stopRedis = async (child = redis) => {
    if (child === redis) redis = undefined;
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  beforeAll(async () => {
    redisPort = await freePort();
    await startRedis();
    harness = await startLabHarness({ redisDb: 20, kubelet: 'virtual' });
    const config = loadConfig({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      KUBECONFIG: harness.runnerKubeconfigPath,
    });
    app = await startRunnerApp(config, { metricsPort: 0, tuning: FAST_RUNNER, logger });
    await app.runner.ready;
  });

  afterAll(async () => {
    try {
      // The runner closes its queues cleanly only with its Redis up: back up if a failed test left it down.
      if (!redis) await startRedis().catch(() => {});
      // Bounded, so that a runner which cannot close still leaves time to stop the Redis servers below.
      await Promise.race([app?.stop(), new Promise((resolve) => setTimeout(resolve, 30_000).unref())]);
      await harness?.stop();
    } finally {
      await Promise.all([...running].map((child) => stopRedis(child)));
      process.off('exit', killAll);
    }
  });

  it('turns 503 naming Redis while it is down, and 200 once it is back', async () => {
    const port = app.metrics?.server.port() ?? 0;
    expect((await get(port, '/readyz')).status).toBe(200);

    await stopRedis();
    const down = await waitForValue(
      '/readyz 503',
      () => get(port, '/readyz'),
      (r) => r.status === 503,
      { ...labWait, timeoutMs: 20_000 },
    );
    const report = JSON.parse(down.body) as { status: string; checks: Record<string, string> };
    expect(report.status).toBe('unavailable');
    expect(report.checks.redis).not.toBe('ok');
    expect(report.checks.cluster).toBe('ok');
    expect((await get(port, '/healthz')).status).toBe(200);

    await startRedis();
    await waitForValue(
      '/readyz 200 again',
      () => get(port, '/readyz'),
      (r) => r.status === 200,
      { ...labWait, timeoutMs: 30_000 },
    );
  });
});
