// Hot start: N learners (default 100) press Join within 10 s, once into a class with a warm pool of N labs (prepared
// and ready before the joins), then into a class without one (the cold path), in the same run and on the same
// lesson image. Per learner: Join → lab ready (the record), and Join → "Pods ready: 3/3" in their own thread, with
// the steps between (answer deferred, warm lab claimed, record written, thread opened, status queued in the outbox,
// status posted, handover reconciled) so a slow p95 says where it goes.
//   node --conditions labbot-source --import tsx bench/class-warm.ts [learners] [virtual|docker]
// BENCH_CPU_PROFILE=<file.cpuprofile> writes a CPU profile of this process (bot, runner and kube-sim share it) taken
// during the warm burst only. Needs the services of scripts/services.sh (REDIS_URL, Docker). Uses Redis database 28.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import type { ChatHandlers, ChatMessage, Responder } from '@labbot/chat';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { isWarmOwner, labIdFor } from '@labbot/core';
import { outboxQueueName, RECONCILE_QUEUE } from '@labbot/queue';
import { startClassChat } from '../test/e2e/src/class-chat.js';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const learners = Number(process.argv[2] ?? 100);
const kubelet = process.argv[3] === 'docker' ? 'docker' : 'virtual';
const profileFile = process.env.BENCH_CPU_PROFILE;
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

/** The steps of one Join, as wall-clock ms (Date.now), in the order they should happen. */
type Step = 'deferred' | 'threadOpened' | 'answered' | 'statusPosted' | 'shown3of3';

/** Times what each learner sees: the Join's answers (through the responder) and their thread's messages. */
class TimingAdapter extends TerminalChatAdapter {
  readonly steps = new Map<string, Partial<Record<Step, number>>>();
  readonly userOfThread = new Map<string, string>();
  mark(userId: string, step: Step): void {
    const steps = this.steps.get(userId) ?? {};
    steps[step] ??= Date.now();
    this.steps.set(userId, steps);
  }
  override start(handlers: ChatHandlers): Promise<void> {
    const timed = (userId: string, inner: Responder): Responder => ({
      ...inner,
      defer: async (options) => {
        await inner.defer(options);
        this.mark(userId, 'deferred');
      },
      reply: async (message, options) => {
        await inner.reply(message, options);
        this.mark(userId, 'answered');
      },
      openThread: async (request) => {
        const threadId = await inner.openThread(request);
        this.userOfThread.set(threadId, userId);
        this.mark(userId, 'threadOpened');
        return threadId;
      },
    });
    return super.start({
      ...handlers,
      onCommand: (command) => handlers.onCommand({ ...command, respond: timed(command.actor.userId, command.respond) }),
      onAction: (action) => handlers.onAction({ ...action, respond: timed(action.actor.userId, action.respond) }),
    });
  }
  override async postMessage(threadId: string, message: ChatMessage): Promise<string> {
    const id = await super.postMessage(threadId, message);
    this.shown(threadId, 'statusPosted');
    return id;
  }
  override async editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void> {
    await super.editMessage(threadId, messageId, message);
    this.shown(threadId);
  }
  private shown(threadId: string, step?: Step): void {
    const userId = this.userOfThread.get(threadId);
    if (!userId) return;
    if (step) this.mark(userId, step);
    if (/Pods ready: 3\/3/.test(this.threadTexts(threadId).join('\n'))) this.mark(userId, 'shown3of3');
  }
}

// The production paces: the board at most every 2 s, one edit per thread per second.
const chat = await startClassChat(harness, {
  name: 'bench-class-warm',
  logLevel: 'warn',
  boardIntervalMs: 2000,
  minEditIntervalMs: 1000,
  adapter: (terminal) => new TimingAdapter(terminal),
});
const { adapter, service } = chat;

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: lesson });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};
const summary = (values: number[]) =>
  values.length === 0
    ? { n: 0 }
    : {
        n: values.length,
        p50: Math.round(percentile(values, 50)),
        p95: Math.round(percentile(values, 95)),
        max: Math.round(Math.max(...values)),
      };

/** The first job of each lab / thread in a queue (kept after completion), by a key of its data. */
async function firstJobs(queueName: string, keyOf: (data: Record<string, unknown>) => string | undefined) {
  const queue = service.queues.queue(queueName);
  const jobs = await queue.getJobs(['completed', 'failed', 'delayed', 'waiting', 'active', 'prioritized'], 0, -1);
  const out = new Map<string, { addedAt: number; startedAt?: number | undefined; finishedAt?: number | undefined }>();
  for (const job of jobs) {
    const key = keyOf(job.data as Record<string, unknown>);
    if (!key) continue;
    const seen = out.get(key);
    if (seen && seen.addedAt <= job.timestamp) continue;
    out.set(key, { addedAt: job.timestamp, startedAt: job.processedOn, finishedAt: job.finishedOn });
  }
  return out;
}

/** N joins spread over 10 s; per learner, when each step of their Join happened. */
async function joinAll(prefix: string) {
  const names = Array.from({ length: learners }, (_, i) => `${prefix}-${String(i + 1).padStart(3, '0')}`);
  const pressedAt = new Map<string, number>();
  const readyAt = new Map<string, number>();
  let watching = true;
  // The record's phase, polled (only labs not yet seen ready, so the poll costs little once they are).
  const watcher = (async () => {
    while (watching) {
      const open = names.filter((name) => pressedAt.has(name) && !readyAt.has(name));
      const labs = await Promise.all(open.map((name) => harness.store.get(labOf(name))));
      labs.forEach((lab, index) => {
        const name = open[index];
        if (name && lab?.observed.phase === 'ready') readyAt.set(name, Date.now());
      });
      await sleep(100);
    }
  })();
  const shown = () => names.filter((name) => adapter.steps.get(name)?.shown3of3 !== undefined).length;
  const started = Date.now();
  const joins: Promise<void>[] = [];
  for (const name of names) {
    pressedAt.set(name, Date.now());
    joins.push(adapter.handleLine(`as ${name}: /lab class join`));
    await sleep(10_000 / learners);
  }
  await Promise.all(joins);
  const joinsTookMs = Date.now() - started;
  const deadline = Date.now() + 600_000;
  while (shown() < names.length && Date.now() < deadline) await sleep(200);
  watching = false;
  await watcher;

  // Steps recorded by labbot itself: the roster's join time (right after the warm claim), the record's `created`
  // audit entry, the first status item queued in the outbox and its delivery, the handover reconcile.
  const [statusJobs, reconcileJobs] = await Promise.all([
    firstJobs(outboxQueueName('local'), (data) =>
      data.key === 'status' && typeof data.threadId === 'string' ? data.threadId : undefined,
    ),
    firstJobs(RECONCILE_QUEUE, (data) =>
      data.reason === 'class.warm-taken' || data.reason === 'class.join' ? String(data.labId) : undefined,
    ),
  ]);
  const timelines = await Promise.all(
    names.map(async (name) => {
      const labId = labOf(name);
      const [history, lab] = await Promise.all([harness.store.history(labId), harness.store.get(labId)]);
      const at = (action: string) => {
        const entry = history.find((candidate) => candidate.action === action);
        return entry ? Date.parse(entry.at) : undefined;
      };
      const steps = adapter.steps.get(name) ?? {};
      const status = lab?.threadId ? statusJobs.get(lab.threadId) : undefined;
      const reconcile = reconcileJobs.get(labId);
      const pressed = pressedAt.get(name) ?? 0;
      // In the order a warm Join should go; each relative to the press.
      const timeline: Record<string, number | undefined> = {
        deferred: steps.deferred,
        recordWritten: at('created'),
        threadOpened: steps.threadOpened,
        statusQueued: status?.addedAt,
        answered: steps.answered,
        statusDeliveryStarted: status?.startedAt,
        statusPosted: steps.statusPosted,
        shown3of3: steps.shown3of3,
        reconcileStarted: reconcile?.startedAt,
        reconcileFinished: reconcile?.finishedAt,
        recordReady: readyAt.get(name),
      };
      return Object.fromEntries(
        Object.entries(timeline).map(([step, value]) => [step, value === undefined ? undefined : value - pressed]),
      ) as Record<string, number | undefined>;
    }),
  );
  const stepNames = Object.keys(timelines[0] ?? {});
  const sinceJoin = Object.fromEntries(
    stepNames.map((step) => [
      step,
      summary(timelines.map((timeline) => timeline[step]).filter((value) => value !== undefined)),
    ]),
  );
  // The slowest learners' whole timelines (where their p95 goes).
  const slowest = names
    .map((learner, index) => ({ learner, timeline: timelines[index] ?? {} }))
    .sort(
      (a, b) =>
        (b.timeline.shown3of3 ?? Number.POSITIVE_INFINITY) - (a.timeline.shown3of3 ?? Number.POSITIVE_INFINITY) ||
        a.learner.localeCompare(b.learner),
    )
    .slice(0, 3);
  return {
    joinsTookMs,
    shownInThread: shown(),
    allDoneMs: Math.max(...names.map((name) => adapter.steps.get(name)?.shown3of3 ?? 0)) - started,
    joinToLabReadyMs: sinceJoin.recordReady,
    joinTo3of3InThreadMs: sinceJoin.shown3of3,
    stepsSinceJoinMs: sinceJoin,
    slowest,
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

/** Profiles this process's CPU while `work` runs (when BENCH_CPU_PROFILE names a file). */
async function profiled<T>(work: () => Promise<T>): Promise<T> {
  if (!profileFile) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
}

try {
  const load = () => loadavg().map((value) => Number(value.toFixed(1)));
  // Warm: the pool of N labs is made and ready before anyone joins (not timed: that is the point of a warm pool).
  const loadBefore = load();
  const prepared = Date.now();
  await adapter.handleLine(`/lab class start ${lesson} 60 ${learners} warm=${learners}`);
  for (;;) {
    const warm = (await harness.store.listAll()).filter((lab) => isWarmOwner(lab.owner));
    if (warm.length >= learners && warm.every((lab) => lab.observed.phase === 'ready')) break;
    await sleep(500);
  }
  const warmPoolReadyMs = Date.now() - prepared;
  // Settle: the pool's last pod events and board edits are not part of the joins.
  await sleep(3000);
  const loadAtWarmJoins = load();
  const warmRun = await profiled(() => joinAll('warm'));
  await endClass('warm');
  // Cold: the same lesson (its image already built), no pool.
  await adapter.handleLine(`/lab class start ${lesson} 60 ${learners}`);
  const loadAtColdJoins = load();
  const coldRun = await joinAll('cold');
  await endClass('cold');
  console.log(
    JSON.stringify(
      {
        kubelet,
        learners,
        loadAverageBefore: loadBefore,
        loadAverageAtWarmJoins: loadAtWarmJoins,
        loadAverageAtColdJoins: loadAtColdJoins,
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
