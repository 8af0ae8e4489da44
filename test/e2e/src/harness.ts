import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { loadKubeConfig } from '@labbot/cluster';
import { type ChatService, startChatService } from '@labbot/commands';
import { createLogger, type LabbotConfig, loadConfig } from '@labbot/config';
import { awaitsContainerOutput, type LabRecord } from '@labbot/core';
import { type KubeSim, type SimNodeOptions, startKubeSim } from '@labbot/kube-sim';
import { type LessonCatalog, loadLessons } from '@labbot/lessons';
import { type Runner, type RunnerTuning, startRunner } from '@labbot/runner';
import { createLabStore, type LabStore } from '@labbot/store';
import { type WaitForOptions, waitForValue } from '@labbot/test-support';
import Docker from 'dockerode';
import { Redis } from 'ioredis';

/** End-to-end tests share one Redis server; each test file owns one database number. */
export const REDIS_BASE = (process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '');

/** Fast timings for tests: quick retries, quick stall detection, no periodic janitor (tests sweep by hand). */
export const FAST_RUNNER: RunnerTuning = {
  attempts: 3,
  backoffMs: 200,
  janitorIntervalMs: 0,
  orphanGraceMs: 0,
  watchDebounceMs: 100,
  stalledIntervalMs: 1000,
  lockDurationMs: 2000,
  teardownTimeoutMs: 30_000,
};

/** The tests' quick retries and no periodic janitor, with the production job locks (15 s) and stalled checks (5 s). */
export const PRODUCTION_LOCKS: RunnerTuning = {
  attempts: 3,
  backoffMs: 200,
  janitorIntervalMs: 0,
  orphanGraceMs: 0,
  watchDebounceMs: 100,
  teardownTimeoutMs: 30_000,
};

export interface LabHarnessOptions {
  /** The Redis database of this test file (1..15). */
  redisDb: number;
  /** Another Redis server than the shared one (e.g. one a test restarts), as redis://host:port. */
  redisServer?: string;
  kubelet?: 'docker' | 'virtual';
  /** Extra environment for the config (e.g. LABBOT_LESSONS_DIR, DOCKER_HOST). */
  env?: Record<string, string>;
  /** kube-sim's nodes (default 8 of 110 pods). */
  nodes?: SimNodeOptions;
}

export interface LabHarness {
  sim: KubeSim;
  /** The admin (system:masters) of kube-sim. */
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** The runners' identity: the labbot-runner ServiceAccount with the RBAC of infra/k8s. */
  runnerKubeConfig: KubeConfig;
  runnerKubeconfigPath: string;
  config: LabbotConfig;
  /** The environment `config` was loaded from: a bot or runner in its own process gets the same config from it. */
  env: Record<string, string>;
  redisUrl: string;
  redis: Redis;
  store: LabStore;
  lessons: LessonCatalog;
  /** Starts a runner in this process (several may run, like several replicas). */
  startRunner(tuning?: RunnerTuning, config?: LabbotConfig, kubeConfig?: KubeConfig): Promise<Runner>;
  /** A local chat (terminal adapter on a pipe) with the chat service behind it. */
  startChat(): Promise<LocalChat>;
  /** Polls a lab's record until `done` holds (bounded). */
  waitForLab(labId: string, done: (lab: LabRecord) => boolean, timeoutMs?: number): Promise<LabRecord>;
  stop(): Promise<void>;
}

export interface LocalChat {
  adapter: TerminalChatAdapter;
  service: ChatService;
  /** Types `/lab <text>` as a user and waits for the command to be handled. */
  type(text: string, userId?: string): Promise<void>;
  /** The texts of a lab's thread now. */
  thread(lab: LabRecord): string[];
  stop(): Promise<void>;
}

/** A lab's status text at the end of a start: 3/3 pods ready and (in the pod table) three Running. */
export const showsLabReady = (text: string): boolean =>
  text.includes('Pods ready: 3/3') && (text.match(/\bRunning\b/g) ?? []).length >= 3;

/**
 * A lab ready with its one-off container's output in: the pods make a lab ready, and the output can follow a moment
 * later, so a test that reads the output or runs the checks waits for both.
 */
export const readyWithOutput = (lab: LabRecord): boolean =>
  lab.observed.phase === 'ready' && !awaitsContainerOutput(lab.observed);

/** How e2e tests wait on a lab: up to a minute, checked every 100 ms (waitForValue of @labbot/test-support). */
export const labWait: WaitForOptions = { timeoutMs: 60_000, intervalMs: 100 };

const runnerRbac = new URL('../../../infra/k8s/runner-rbac.yaml', import.meta.url).pathname;

/**
 * Applies infra/k8s/runner-rbac.yaml to kube-sim with the real kubectl (as admin) and returns a kubeconfig
 * of the labbot-runner ServiceAccount, so tests run the runner with exactly the rights it gets in a cluster.
 */
export async function runnerCredentials(sim: KubeSim, dir: string): Promise<string> {
  const kubectl = (...args: string[]) =>
    promisify(execFile)(process.env.KUBECTL ?? '/usr/bin/kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), ...args], {
      env: { ...process.env, HOME: dir },
    });
  await kubectl('create', 'namespace', 'labbot');
  await kubectl('apply', '-f', runnerRbac);
  const token = (await kubectl('create', 'token', 'labbot-runner', '-n', 'labbot', '--duration=24h')).stdout.trim();
  const path = join(dir, 'runner-kubeconfig');
  writeFileSync(path, sim.kubeconfigForToken(token, 'labbot'));
  return path;
}

/**
 * Removes the containers a harness leaves if anything went wrong: its kube-sim's (by the run label) and the
 * run-once containers of its own per-run lessons. Never those of another run or a shared lesson.
 */
async function removeLeftoverContainers(runId: string, lessonIds: string[]): Promise<void> {
  const docker = new Docker({ socketPath: '/var/run/docker.sock' });
  const labelled = async (label: string) =>
    docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) });
  const leftovers = [
    ...(await labelled(`labbot.test.run=${runId}`)),
    ...(await Promise.all(lessonIds.map((id) => labelled(`labbot.dev/lesson=${id}`)))).flat(),
  ];
  await Promise.allSettled(leftovers.map((container) => docker.getContainer(container.Id).remove({ force: true })));
}

/** kube-sim (its pods real containers by default), a fresh Redis database, the built-in lessons, and runners and chats on demand. */
export async function startLabHarness(options: LabHarnessOptions): Promise<LabHarness> {
  const redisUrl = `${options.redisServer ?? REDIS_BASE}/${options.redisDb}`;
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  // Quiet while a test stops Redis on purpose (ioredis reconnects; failing commands carry the error).
  redis.on('error', () => {});
  await redis.flushdb();
  // This harness's own label on its kube-sim's containers, so its teardown removes exactly those.
  const runId = randomBytes(6).toString('hex');
  const sim = await startKubeSim({
    kubelet: options.kubelet ?? 'docker',
    backoffBaseMs: 300,
    ...(options.nodes ? { nodes: options.nodes } : {}),
    docker: { labels: { 'labbot.test': '1', 'labbot.test.run': runId } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'labbot-e2e-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, sim.kubeconfig);
  const runnerKubeconfigPath = await runnerCredentials(sim, dir);
  const env = { REDIS_URL: redisUrl, KUBECONFIG: runnerKubeconfigPath, LOG_LEVEL: 'warn', ...options.env };
  const config = loadConfig(env);
  const lessons = await loadLessons({
    skipInvalid: true,
    ...(config.lessonsDir ? { extraDir: config.lessonsDir } : {}),
  });
  const store = createLabStore({ redis });
  const logger = createLogger({ name: 'e2e', level: process.env.LABBOT_TEST_LOG ?? 'silent' });
  const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
  const runnerKubeConfig = loadKubeConfig({ mode: 'file', path: runnerKubeconfigPath });
  const runners: Runner[] = [];
  const chats: LocalChat[] = [];

  const harness: LabHarness = {
    sim,
    kubeConfig,
    kubeconfigPath,
    runnerKubeConfig,
    runnerKubeconfigPath,
    config,
    env,
    redisUrl,
    redis,
    store,
    lessons,
    async startRunner(tuning = FAST_RUNNER, runnerConfig = config, clusterConfig = runnerKubeConfig) {
      const runner = await startRunner(runnerConfig, { kubeConfig: clusterConfig, lessons, logger, tuning });
      runners.push(runner);
      // A runner on an unreachable cluster never syncs; it still takes jobs.
      if (clusterConfig === runnerKubeConfig || clusterConfig === kubeConfig) await runner.ready;
      return runner;
    },
    async startChat() {
      const input = new PassThrough();
      const output = new PassThrough();
      output.resume();
      const adapter = new TerminalChatAdapter({ input, output, userId: 'ada' });
      const service = await startChatService({
        adapter,
        redis,
        store,
        lessons,
        instructorRoles: ['instructor'],
        limits: config.limits,
        logger,
        minEditIntervalMs: 200,
      });
      const chat: LocalChat = {
        adapter,
        service,
        type: (text, userId = 'ada') => adapter.handleLine(`/lab ${text}`, userId),
        thread: (lab) => (lab.threadId ? adapter.threadTexts(lab.threadId) : []),
        stop: () => service.stop(),
      };
      chats.push(chat);
      return chat;
    },
    async waitForLab(labId, done, timeoutMs = 90_000) {
      return waitForValue(
        `lab ${labId}`,
        () => store.get(labId).then((lab) => lab as LabRecord),
        (lab) => lab !== undefined && done(lab),
        { ...labWait, timeoutMs },
      );
    },
    async stop() {
      for (const chat of chats) await chat.stop().catch(() => {});
      for (const runner of runners) await runner.stop().catch(() => {});
      try {
        await sim.stop();
      } finally {
        const ownLessons = lessons.lessons.filter((lesson) => lesson.source === 'extra').map((lesson) => lesson.id);
        await removeLeftoverContainers(runId, ownLessons);
      }
      await redis.flushdb();
      redis.disconnect();
    },
  };
  return harness;
}
