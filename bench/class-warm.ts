// Hot start: N learners (default 100) press Join within 10 s, once into a class with a warm pool of N labs (prepared
// and ready before the joins), then into a class without one (the cold path), in the same run and on the same
// lesson image. Per learner: Join → lab ready (the record), and Join → "Pods ready: 3/3" in their own thread.
//   node --conditions labbot-source --import tsx bench/class-warm.ts [learners] [virtual|docker]
// Needs the services of scripts/services.sh (REDIS_URL, Docker). Uses Redis database 28.
import { loadavg } from 'node:os';
import { isWarmOwner, labIdFor } from '@labbot/core';
import { startClassChat } from '../test/e2e/src/class-chat.js';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const learners = Number(process.argv[2] ?? 100);
const kubelet = process.argv[3] === 'docker' ? 'docker' : 'virtual';
const lesson = `bench-warm-${Date.now().toString(36)}`;
const lessons = makeLessonsDir([{ id: lesson }]);
const harness = await startLabHarness({
  redisDb: 28,
  kubelet,
  nodes: { count: Math.ceil((learners * 2 * 4) / 110) + 1, podsPerNode: 110 },
  env: {
    LABBOT_LESSONS_DIR: lessons.dir,
    LABBOT_MAX_ACTIVE_LABS: String(learners * 3 + 10),
    LABBOT_CLASS_MAX_LEARNERS: String(learners),
  },
});
await harness.startRunner({ attempts: 3, backoffMs: 200, janitorIntervalMs: 0, watchDebounceMs: 100 });
// The production paces: the board at most every 2 s, one edit per thread per second.
const chat = await startClassChat(harness, {
  name: 'bench-class-warm',
  logLevel: 'warn',
  boardIntervalMs: 2000,
  minEditIntervalMs: 1000,
});
const { adapter, service } = chat;

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: lesson });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const summary = (values: number[]) => ({
  p50: Math.round(percentile(values, 50)),
  p95: Math.round(percentile(values, 95)),
  max: Math.round(Math.max(...values)),
});

/** N joins spread over 10 s; per learner, when their lab was ready and when their thread showed 3/3. */
async function joinAll(prefix: string) {
  const names = Array.from({ length: learners }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);
  const pressedAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  const shownAt = new Map<string, number>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await Promise.all(
        names.map(async (name) => {
          if (!pressedAt.has(name) || shownAt.has(name)) return;
          const lab = await harness.store.get(labOf(name));
          if (!lab) return;
          if (lab.observed.phase === 'ready' && !readyAt.has(name)) readyAt.set(name, performance.now());
          const thread = lab.threadId ? adapter.threadTexts(lab.threadId).join('\n') : '';
          if (/Pods ready: 3\/3/.test(thread)) shownAt.set(name, performance.now());
        }),
      );
      await sleep(50);
    }
  })();
  const started = performance.now();
  const joins: Promise<void>[] = [];
  for (const name of names) {
    pressedAt.set(name, performance.now());
    joins.push(adapter.handleLine(`as ${name}: /lab class join`));
    await sleep(10_000 / learners);
  }
  await Promise.all(joins);
  const joinsTookMs = Math.round(performance.now() - started);
  const deadline = Date.now() + 600_000;
  while (shownAt.size < names.length && Date.now() < deadline) await sleep(200);
  watching = false;
  await watcher;
  const since = (at: Map<string, number>) =>
    names.filter((name) => at.has(name)).map((name) => (at.get(name) ?? 0) - (pressedAt.get(name) ?? 0));
  return {
    joinsTookMs,
    joinToLabReadyMs: summary(since(readyAt)),
    joinTo3of3InThreadMs: summary(since(shownAt)),
    shownInThread: shownAt.size,
    allDoneMs: Math.round(Math.max(...[...shownAt.values()]) - started),
  };
}

async function endClass(prefix: string) {
  await adapter.handleLine('/lab class end');
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const labs = (await harness.store.listAll()).filter(
      (lab) => (lab.owner.userId.startsWith(prefix) || isWarmOwner(lab.owner)) && lab.observed.phase !== 'stopped',
    );
    if (labs.length === 0) return;
    await sleep(500);
  }
}

try {
  const load = () => loadavg().map((value) => Number(value.toFixed(1)));
  // Warm: the pool of N labs is made and ready before anyone joins (not timed: that is the point of a warm pool).
  const loadBefore = load();
  const prepared = performance.now();
  await adapter.handleLine(`/lab class start ${lesson} 60 ${learners} warm=${learners}`);
  for (;;) {
    const warm = (await harness.store.listAll()).filter((lab) => isWarmOwner(lab.owner));
    if (warm.length >= learners && warm.every((lab) => lab.observed.phase === 'ready')) break;
    await sleep(500);
  }
  const warmPoolReadyMs = Math.round(performance.now() - prepared);
  const warmRun = await joinAll('warm');
  await endClass('warm');
  // Cold: the same lesson (its image already built), no pool.
  await adapter.handleLine(`/lab class start ${lesson} 60 ${learners}`);
  const coldRun = await joinAll('cold');
  await endClass('cold');
  console.log(
    JSON.stringify(
      {
        kubelet,
        learners,
        loadAverageBefore: loadBefore,
        loadAverageAfter: load(),
        warmPoolReadyMs,
        warm: warmRun,
        cold: coldRun,
      },
      null,
      2,
    ),
  );
} finally {
  await service.stop();
  await harness.stop();
  await lessons.remove();
}
