// Recovery after SIGKILL: runner, Slack bot and kube-sim each in its own process, N labs started through
// signed Slack slash commands (slack-sim in this driver process), the runner killed with SIGKILL while they
// start, a new runner started: time from the new runner's spawn until every lab is ready, until every lab's one-off
// container output is in (ready no longer waits for it), and duplicates.
//   node --conditions labbot-source --import tsx bench/recovery.ts [labs=20] [takeover|locks-only|old-defaults]
// takeover: the defaults (15 s job locks, 5 s stalled checks, takeover of a dead runner's jobs at start-up);
// locks-only: the same locks without the takeover; old-defaults: 30 s locks and stalled checks, no takeover
// (before issue 13). Needs scripts/services.sh (Redis, Docker, registry). Uses Redis database 24.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '@labbot/cluster';
import { labIdFor } from '@labbot/core';
import { createSlackDriver, startSlackSim } from '@labbot/slack-sim';
import { createLabStore } from '@labbot/store';
import { Redis } from 'ioredis';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const labs = Number(process.argv[2] ?? 20);
const mode = (process.argv[3] ?? 'takeover') as 'takeover' | 'locks-only' | 'old-defaults';
const repo = join(import.meta.dirname, '..');
const redisUrl = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '')}/24`;
const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';
const lessonId = `bench-recovery-${Date.now().toString(36)}`;
// A build of a few seconds, so the runner is killed while it holds reconciles.
const lessons = makeLessonsDir([{ id: lessonId, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 2\nUSER ') }]);
const dir = mkdtempSync(join(tmpdir(), 'labbot-bench-recovery-'));
const children: ChildProcess[] = [];
/** The runners' bring-up steps (`step <labId> <mark>` lines, LABBOT_TEST_STEPS), with when they came. */
const steps: { child: ChildProcess; labId: string; mark: string; at: number }[] = [];

/** Spawns a TypeScript entry point of this repository and resolves with the first stdout line matching `ready`. */
function start(
  args: string[],
  env: Record<string, string>,
  ready: RegExp,
): Promise<{ child: ChildProcess; line: string }> {
  // BENCH_LOOP_PROBE=1: the runners print their event-loop delay once a second (bench/loop-probe.mjs).
  const probe =
    process.env.BENCH_LOOP_PROBE && args[0]?.includes('runner-process') ? ['--import', './bench/loop-probe.mjs'] : [];
  const child = spawn(process.execPath, ['--conditions', 'labbot-source', '--import', 'tsx', ...probe, ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ')} did not start`)), 120_000);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      // LABBOT_TEST_LOG=info BENCH_VERBOSE=1 shows the children's logs with the time since the bench started.
      if (process.env.BENCH_VERBOSE) process.stderr.write(`${Math.round(performance.now())} ${args[0]} ${line}\n`);
      const [word, labId, mark] = line.split(' ');
      if (word === 'step' && labId && mark) steps.push({ child, labId, mark, at: performance.now() });
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve({ child, line });
      }
    });
  });
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
await redis.flushdb();
const store = createLabStore({ redis });
const slack = await startSlackSim();
try {
  const kubeconfig = join(dir, 'kubeconfig');
  await start(['test/e2e/src/fixtures/kube-sim-process.ts', kubeconfig], {}, /^kube-sim serving/);
  const env = {
    REDIS_URL: redisUrl,
    KUBECONFIG: kubeconfig,
    LABBOT_LESSONS_DIR: lessons.dir,
    LABBOT_REGISTRY: registry,
    LABBOT_MAX_ACTIVE_LABS: String(labs + 10),
    LABBOT_SLACK_BOT_TOKEN: slack.botToken,
    LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
    LABBOT_SLACK_API_URL: slack.apiUrl,
    LOG_LEVEL: 'silent',
  };
  const runnerEnv = { ...env, LABBOT_TEST_RUNNER_LOCKS: mode, LABBOT_TEST_STEPS: '1' };
  const bot = await start(['test/e2e/src/fixtures/slack-bot-process.ts'], env, /^port \d+$/);
  const driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${bot.line.split(' ')[1]}/slack/events`,
    signingSecret: slack.signingSecret,
    sim: slack,
  });
  const first = await start(['test/e2e/src/fixtures/runner-process.ts'], runnerEnv, /^ready$/);

  const users = Array.from({ length: labs }, (_, i) => `U0REC${String(i).padStart(5, '0')}`);
  const labIds = users.map((userId) => labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId, lessonId }));
  await Promise.all(
    users.map((userId) => driver.slashCommand({ text: `start ${lessonId}`, userId, channelId: 'C0LABS0001' })),
  );
  const records = async () => Promise.all(labIds.map((labId) => store.get(labId)));
  const phases = async () => (await records()).map((lab) => lab?.observed.phase);
  // Killed while it holds reconciles: once some lab builds.
  while (!(await phases()).includes('building')) await new Promise((resolve) => setTimeout(resolve, 50));
  const atKill = await phases();
  await kill(first.child, 'SIGKILL');

  const spawnedAt = performance.now();
  let startedAt = 0;
  let readyLineMs = 0;
  const second = start(['test/e2e/src/fixtures/runner-process.ts'], runnerEnv, /^(started|ready)$/);
  void second.then(({ child }) => {
    // `started`: startRunner returned (worker running, takeover begun); `ready`: the pod watch listed the cluster.
    startedAt = performance.now();
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') readyLineMs = Math.round(performance.now() - spawnedAt);
    });
  });
  // When each lab last entered each phase (ms after the new runner's spawn): where the time after the takeover goes.
  const entered = new Map<string, number[]>();
  let previous = atKill;
  // "Ready" follows the pods; the one-off container's output may come after it (issue 13): when every lab has it.
  let allOutputMs = 0;
  for (;;) {
    const labsNow = await records();
    const now = labsNow.map((lab) => lab?.observed.phase);
    const at = Math.round(performance.now() - spawnedAt);
    if (!allOutputMs && labsNow.every((lab) => lab?.observed.containerOutput !== undefined)) allOutputMs = at;
    now.forEach((phase, index) => {
      if (phase === previous[index]) return;
      const key = phase ?? 'missing';
      const times = entered.get(key) ?? [];
      times[index] = at;
      entered.set(key, times);
    });
    previous = now;
    if (now.every((phase) => phase === 'ready')) break;
    if (performance.now() - spawnedAt > 300_000) throw new Error(`not all ready after 300 s: ${now.join(',')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const allReadyMs = Math.round(performance.now() - spawnedAt);
  const allReadyAfterStartedMs = Math.round(performance.now() - startedAt);
  while (!allOutputMs) {
    if ((await records()).every((lab) => lab?.observed.containerOutput !== undefined)) {
      allOutputMs = Math.round(performance.now() - spawnedAt);
      break;
    }
    if (performance.now() - spawnedAt > 300_000) throw new Error('not every output in after 300 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const allOutputAfterStartedMs = Math.round(allOutputMs - (startedAt - spawnedAt));

  // Duplicates: namespaces per lab, channel posts (one per lab) and status posts per thread (one each).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const core = loadKubeConfig({ mode: 'file', path: kubeconfig }).makeApiClient(CoreV1Api);
  const namespaces = (await core.listNamespace({ labelSelector: 'app.kubernetes.io/managed-by=labbot' })).items;
  const settled = await records();
  const threadTs = settled.map((lab) => lab?.threadId?.split(':')[3] ?? '');
  const duplicates = {
    namespacesPerLab: [
      ...new Set(labIds.map((id) => namespaces.filter((ns) => ns.metadata?.labels?.['labbot.dev/lab'] === id).length)),
    ],
    channelPosts: slack.channelMessages('C0LABS0001').length,
    statusPostsPerThread: [...new Set(threadTs.map((ts) => slack.threadReplies('C0LABS0001', ts).length))],
  };
  const newSteps = steps
    .filter((step) => step.child !== first.child)
    .map((step) => ({ mark: step.mark, ms: Math.round(step.at - startedAt) }));
  console.log(
    JSON.stringify(
      {
        labs,
        mode,
        phasesAtKill: Object.fromEntries(
          [...new Set(atKill)].map((phase) => [phase, atKill.filter((p) => p === phase).length]),
        ),
        newRunnerStartedAfterSpawnMs: Math.round(startedAt - spawnedAt),
        newRunnerReadyAfterSpawnMs: readyLineMs,
        allReadyAfterNewRunnerSpawnMs: allReadyMs,
        allReadyAfterNewRunnerStartedMs: allReadyAfterStartedMs,
        // Every lab's one-off container output recorded (observed.containerOutput), polled every 100 ms.
        allOutputAfterNewRunnerSpawnMs: allOutputMs,
        allOutputAfterNewRunnerStartedMs: allOutputAfterStartedMs,
        // Per phase entered after the kill: how many labs entered it, and when the first and the last of them last
        // entered it, in ms after the new runner started (polled every 100 ms; a phase shorter than that is missed).
        phasesAfterStart: Object.fromEntries(
          [...entered].map(([phase, seen]) => {
            const times = seen
              .filter((time) => time !== undefined)
              .map((time) => Math.round(time - (startedAt - spawnedAt)));
            return [phase, { labs: times.length, firstMs: Math.min(...times), lastMs: Math.max(...times) }];
          }),
        ),
        // The new runner's bring-up steps (packages/runner's LabStepMark): how many labs passed each, and when the
        // first and the last did, in ms after it started; `run-once` is a container's start (a run slot taken),
        // `ran-once` its end. runsInFlight: containers running at each second after the start (the engine's load).
        stepsAfterStart: Object.fromEntries(
          [...new Set(newSteps.map((step) => step.mark))].map((mark) => {
            const times = newSteps.filter((step) => step.mark === mark).map((step) => step.ms);
            return [mark, { labs: times.length, firstMs: Math.min(...times), lastMs: Math.max(...times) }];
          }),
        ),
        runsInFlight: Array.from(
          { length: Math.ceil(Math.max(allReadyAfterStartedMs, allOutputAfterStartedMs) / 1000) },
          (_, second) => {
            const at = second * 1000;
            const started = newSteps.filter((step) => step.mark === 'run-once' && step.ms <= at).length;
            return started - newSteps.filter((step) => step.mark === 'ran-once' && step.ms <= at).length;
          },
        ),
        duplicates,
      },
      null,
      2,
    ),
  );
} finally {
  for (const child of children.reverse()) await kill(child, 'SIGTERM').catch(() => {});
  await slack.stop();
  await redis.flushdb();
  redis.disconnect();
  await lessons.remove();
  rmSync(dir, { recursive: true, force: true });
}
