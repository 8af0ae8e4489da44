// Two runner processes against one Redis and one cluster share the work: nothing is done twice, and
// only one of them sweeps (the janitor lease in Redis).
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { type LabRecord, labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FixtureProcess, startFixtureProcess } from './fixture-process.js';
import { type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const LEARNERS = Array.from({ length: 20 }, (_, index) => `learner${String(index + 1).padStart(2, '0')}`);

interface RunnerChild {
  process: FixtureProcess;
  /** Every line it printed (its debug logs as JSON lines, `ready`, `stats {...}`). */
  lines: string[];
}

/** A runner in its own process (fixtures/ops-runner-process.ts), with every line it prints kept. */
async function spawnRunner(env: Record<string, string>): Promise<RunnerChild> {
  const lines: string[] = [];
  const child = await startFixtureProcess('test/e2e/src/fixtures/ops-runner-process.ts', {
    env,
    ready: /^ready$/,
    onLine: (line) => lines.push(line),
  });
  return { process: child, lines };
}

/** SIGTERM: the runner finishes its work, prints its builder's counters and exits. */
const stopRunner = (runner: RunnerChild) => runner.process.stop('SIGTERM');

/** The janitor sweeps a runner logged: when each started and finished. */
function sweepsOf(runner: RunnerChild): { startedAt: number; finishedAt: number }[] {
  return runner.lines
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; sweep?: { startedAt: number; finishedAt: number } })
    .filter((entry) => entry.msg === 'janitor sweep done' && entry.sweep)
    .map((entry) => entry.sweep as { startedAt: number; finishedAt: number });
}

describe('two runner processes on one Redis and one cluster', () => {
  const lessonId = `shared-${randomBytes(3).toString('hex')}`;
  // A build context no earlier run has built, so the one build is a real one.
  const lessons = makeLessonsDir([
    { id: lessonId, dockerfile: (text) => text.replace(/^(FROM .*)$/m, `$1\nRUN echo ${lessonId}`) },
  ]);
  let harness: LabHarness;
  let chat: LocalChat;
  const runners: RunnerChild[] = [];

  beforeAll(async () => {
    harness = await startLabHarness({ redisDb: 15, kubelet: 'virtual', env: { LABBOT_LESSONS_DIR: lessons.dir } });
    const env = {
      REDIS_URL: harness.redisUrl,
      KUBECONFIG: harness.runnerKubeconfigPath,
      LABBOT_LESSONS_DIR: lessons.dir,
    };
    runners.push(...(await Promise.all([spawnRunner(env), spawnRunner(env)])));
    chat = await harness.startChat();
  });

  afterAll(async () => {
    await Promise.all(runners.map(stopRunner));
    await harness?.stop();
    await lessons.remove();
  });

  it('share 20 starts with no duplicate namespace, build, thread or message, and one sweep at a time', async () => {
    const labIds = LEARNERS.map((userId) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId }));
    await Promise.all(LEARNERS.map((userId) => chat.type(`start ${lessonId}`, userId)));
    const labs: LabRecord[] = await Promise.all(
      labIds.map((labId) => harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 180_000)),
    );

    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    const namespaces = (await core.listNamespace({ labelSelector: 'app.kubernetes.io/managed-by=labbot' })).items;
    expect(namespaces.map((ns) => ns.metadata?.name).sort()).toEqual(labs.map((lab) => lab.namespace).sort());

    const threadIds = labs.map((lab) => lab.threadId);
    expect(new Set(threadIds).size).toBe(20);
    // Every thread shows the same messages (the status message and what follows it), none twice.
    const threads = await waitForValue(
      'every thread to show its running pods',
      () => labs.map((lab) => chat.thread(lab)),
      (all) => all.every((texts) => texts.length > 0 && texts.some((text) => text.includes('Running'))),
      { ...labWait, timeoutMs: 30_000 },
    );
    const sizes = new Set(threads.map((texts) => texts.length));
    expect(sizes.size).toBe(1);
    for (const texts of threads) expect(new Set(texts).size).toBe(texts.length);

    await Promise.all(runners.map(stopRunner));
    const stats = runners.map((runner) => {
      const line = runner.lines.find((l) => l.startsWith('stats '));
      return JSON.parse(line?.slice('stats '.length) ?? '{}') as { builds: number };
    });
    expect(stats.reduce((sum, s) => sum + s.builds, 0)).toBe(1);

    const [first, second] = runners.map(sweepsOf);
    expect((first?.length ?? 0) + (second?.length ?? 0)).toBeGreaterThanOrEqual(4);
    for (const a of first ?? [])
      for (const b of second ?? []) {
        const overlap = a.startedAt < b.finishedAt && b.startedAt < a.finishedAt;
        expect(overlap, `sweeps ${JSON.stringify(a)} and ${JSON.stringify(b)} overlap`).toBe(false);
      }
  });
});
