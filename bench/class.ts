// A class: the instructor starts it, N learners (default 100) press Join within one second (local chat), until every
// lab is ready: image builds, time to all ready vs one lab alone in the same run, class board edits, chat calls per
// learner and Kubernetes API requests per lab (counted by kube-sim).
//   node --conditions labbot-source --import tsx bench/class.ts [learners] [virtual|docker] [at-once]
// (at-once: the class's provision slots, `/lab class start ... at-once=N`; default LABBOT_CLASS_MAX_CONCURRENT_PROVISIONS;
// the runner reconciles at least that many labs at once)
// Per lab it also prints a timeline of its steps (join, slot granted, namespace, guard rails, build wait, one-off run,
// apply, pods ready, ready shown in the thread): each step's p50/p95/max and lab-seconds, and three labs' timelines.
// Needs the services of scripts/services.sh (REDIS_URL, Docker). Uses Redis database 13.
import { loadavg } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { ChatMessage, Responder } from '@labbot/chat';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { observeKubeRequests } from '@labbot/cluster';
import { createLogger } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import { type LabStepMark, type Runner, startRunner } from '@labbot/runner';
import { startClassChat } from '../test/e2e/src/class-chat.js';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const learners = Number(process.argv[2] ?? 100);
const kubelet = process.argv[3] === 'docker' ? 'docker' : 'virtual';
const atOnce = process.argv[4] ? Number(process.argv[4]) : undefined;
const stamp = Date.now().toString(36);
const alone = `bench-solo-${stamp}`;
const together = `bench-class-${stamp}`;
const lessons = makeLessonsDir([{ id: alone }, { id: together }]);
const harness = await startLabHarness({
  redisDb: 13,
  kubelet,
  env: {
    LABBOT_LESSONS_DIR: lessons.dir,
    LABBOT_MAX_ACTIVE_LABS: String(learners + 10),
    LABBOT_CLASS_MAX_LEARNERS: String(Math.max(learners, 1)),
    ...(atOnce ? { LABBOT_CLASS_MAX_CONCURRENT_PROVISIONS: String(Math.max(atOnce, 12)) } : {}),
  },
});

/** When each lab passed each step (ms since `origin`, the first time), from the runner and the chat. */
const origin = performance.now();
const marks = new Map<string, Record<string, number>>();
const markLab = (labId: string, mark: string, at = performance.now() - origin) => {
  const lab = marks.get(labId) ?? {};
  lab[mark] ??= at;
  marks.set(labId, lab);
};
/** Each namespace's Kubernetes requests: the namespace apply, the guard rails, the Deployment (first start, last end). */
const requests = new Map<string, Record<string, number>>();
function recordRequest(url: string, method: string, started: number, ended: number): void {
  const path = new URL(url).pathname;
  const namespace = /\/namespaces\/([^/]+)/.exec(path)?.[1];
  if (!namespace || method === 'GET') return;
  const what = /^\/api\/v1\/namespaces\/[^/]+$/.test(path) ? 'ns' : path.includes('/deployments') ? 'deploy' : 'rails';
  const times = requests.get(namespace) ?? {};
  times[`${what}Start`] = Math.min(times[`${what}Start`] ?? Number.POSITIVE_INFINITY, started);
  times[`${what}End`] = Math.max(times[`${what}End`] ?? 0, ended);
  requests.set(namespace, times);
}
/** The runner's kubeconfig, whose API clients time each request (as client-node builds them: one Agent per request). */
const timedKubeConfig = (kubeConfig: KubeConfig): KubeConfig =>
  observeKubeRequests(kubeConfig, {
    kubeRequest: (verb, _failed, { url, startedAt, endedAt }) =>
      recordRequest(url, verb, startedAt - origin, endedAt - origin),
  });
// The harness's runner, started here to hear its steps and time its Kubernetes requests.
const runner: Runner = await startRunner(harness.config, {
  kubeConfig: timedKubeConfig(harness.runnerKubeConfig),
  lessons: harness.lessons,
  logger: createLogger({ name: 'bench-runner', level: process.env.LABBOT_TEST_LOG ?? 'silent' }),
  onLabStep: (labId: string, mark: LabStepMark) => markLab(labId, mark),
  tuning: {
    attempts: 3,
    backoffMs: 200,
    janitorIntervalMs: 0,
    watchDebounceMs: 100,
    // Reconciles at once: at least the class's provision slots (a slot is worth nothing without a worker to use it).
    ...(atOnce && atOnce > harness.config.runner.concurrency ? { concurrency: atOnce } : {}),
  },
});
await runner.ready;

/** Counts every chat call: the adapter's posts and edits, and each command's answers (defer, reply, thread). */
class CountingAdapter extends TerminalChatAdapter {
  readonly calls = new Map<string, number>();
  boardEdits: number[] = [];
  readonly editKinds = new Map<string, number>();
  /** Each learner thread's edits, in order (the bench prints the threads edited most). */
  readonly threadEdits = new Map<string, string[]>();
  /** When each thread first showed its lab ready (3/3 pods), ms since `origin`. */
  readonly readyShown = new Map<string, number>();
  count(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }
  override async postMessage(threadId: string, message: ChatMessage): Promise<string> {
    this.count(threadId.endsWith(':terminal') ? 'board.post' : 'thread.post');
    return super.postMessage(threadId, message);
  }
  override async editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void> {
    if (threadId.endsWith(':terminal')) this.boardEdits.push(Date.now());
    else {
      // What each status edit showed: the headline, and whether the queue place was above it.
      const first = message.blocks[0];
      const queued = first?.kind === 'text' && /in line|place/i.test(first.text) ? 'queue place + ' : '';
      const kind = `${queued}${message.title ?? '?'}`.replace(/learner-\d+|bench-class-\w+/g, '…');
      this.editKinds.set(kind, (this.editKinds.get(kind) ?? 0) + 1);
      const shown = this.threadEdits.get(threadId) ?? [];
      const pods = message.blocks.find((block) => block.kind === 'table');
      shown.push(`${kind}${pods ? ` ${JSON.stringify(pods).slice(0, 300)}` : ''}`);
      this.threadEdits.set(threadId, shown);
      // The status headline says ready (3/3 pods show earlier too, under "running one container").
      if (!this.readyShown.has(threadId) && / · ready$/.test(message.title ?? '')) {
        this.readyShown.set(threadId, performance.now() - origin);
      }
    }
    this.count(threadId.endsWith(':terminal') ? 'board.edit' : 'thread.edit');
    return super.editMessage(threadId, messageId, message);
  }
}
// The production pacing (board every 2 s, status edits at most once a second), not the tests' faster one.
const chat = await startClassChat(harness, {
  name: 'bench-class',
  boardIntervalMs: 2000,
  minEditIntervalMs: 1000,
  logLevel: 'warn',
  adapter: (terminal) => new CountingAdapter(terminal),
});
const { adapter, service } = chat;
// Answers to commands count too: wrap the responder the adapter hands to the handlers.
const responderOf = (adapter as unknown as { responder: () => Responder }).responder.bind(adapter);
(adapter as unknown as { responder: () => Responder }).responder = () => {
  const inner = responderOf();
  return {
    defer: async (options) => inner.defer(options),
    reply: async (message, options) => {
      adapter.count('answer');
      return inner.reply(message, options);
    },
    error: async (text) => {
      adapter.count('answer');
      return inner.error(text);
    },
    openThread: async (request) => {
      adapter.count('thread.open');
      return inner.openThread(request);
    },
  };
};
const labOf = (userId: string, lessonId: string) =>
  labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId });
const ready = (userId: string, lessonId: string) =>
  harness.waitForLab(labOf(userId, lessonId), (lab) => lab.observed.phase === 'ready', 600_000);

try {
  // One lab alone (its own lesson copy: a cold build, as for the class).
  let started = performance.now();
  await adapter.handleLine(`/lab start ${alone}`, 'solo');
  await ready('solo', alone);
  const oneMs = Math.round(performance.now() - started);

  await adapter.handleLine(`/lab class start ${together}${atOnce ? ` at-once=${atOnce}` : ''}`);
  harness.sim.resetStats();
  adapter.calls.clear();
  adapter.boardEdits = [];
  adapter.editKinds.clear();
  adapter.threadEdits.clear();
  const buildsBefore = runner.builder.stats().builds;
  const names = Array.from({ length: learners }, (_, i) => `learner-${String(i + 1).padStart(3, '0')}`);
  // Where the labs' time goes: every 250 ms, how many labs of the class are in each phase (lab-seconds per phase).
  const classId = (await harness.store.listClasses()).find((klass) => klass.lessonId === together)?.classId ?? '';
  const labSecondsByPhase: Record<string, number> = {};
  const namespaces = new Map<string, string>();
  const threads = new Map<string, string>();
  let readyCount = 0;
  let sampling = true;
  const sampler = (async () => {
    let last = performance.now();
    while (sampling) {
      const labs = await harness.store.listByClass(classId);
      const now = performance.now();
      for (const lab of labs) {
        labSecondsByPhase[lab.observed.phase] = (labSecondsByPhase[lab.observed.phase] ?? 0) + (now - last) / 1000;
        if (lab.observed.phase === 'ready') markLab(lab.labId, 'ready', now - origin);
        namespaces.set(lab.labId, lab.namespace);
        if (lab.threadId) threads.set(lab.labId, lab.threadId);
      }
      readyCount = labs.filter((lab) => lab.observed.phase === 'ready').length;
      last = now;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  started = performance.now();
  // Every learner presses Join within one second.
  const joins: Promise<void>[] = [];
  for (const name of names) {
    const labId = labOf(name, together);
    markLab(labId, 'join');
    joins.push(adapter.handleLine(`as ${name}: /lab class join`).then(() => markLab(labId, 'joined')));
    await new Promise((resolve) => setTimeout(resolve, Math.floor(1000 / learners)));
  }
  await Promise.all(joins);
  const joinedMs = Math.round(performance.now() - started);
  // A lab that makes no progress is shown, not waited on silently: after 90 s without a new ready lab, each lab
  // not ready is printed with its record and what kube-sim holds in its namespace.
  let watching = true;
  const stallWatch = (async () => {
    let lastReady = -1;
    let since = performance.now();
    while (watching) {
      await new Promise((resolve) => setTimeout(resolve, 5000));
      const labs = await harness.store.listByClass(classId);
      const readyCount = labs.filter((lab) => lab.observed.phase === 'ready').length;
      if (readyCount !== lastReady) {
        lastReady = readyCount;
        since = performance.now();
        continue;
      }
      if (performance.now() - since < 90_000 || readyCount === labs.length) continue;
      since = performance.now();
      for (const lab of labs.filter((each) => each.observed.phase !== 'ready')) {
        const inSim: Record<string, unknown> = {};
        for (const path of [
          'apis/apps/v1/namespaces/NS/deployments',
          'apis/apps/v1/namespaces/NS/replicasets',
          'api/v1/namespaces/NS/pods',
          'api/v1/namespaces/NS/events',
        ]) {
          const answer = await harness.sim.fetch(`/${path.replace('NS', lab.namespace)}`);
          const body = (await answer.json()) as {
            items?: { metadata?: { name?: string }; status?: unknown; message?: string; reason?: string }[];
          };
          inSim[path.split('/').at(-1) ?? path] = (body.items ?? []).map((item) => ({
            name: item.metadata?.name,
            status: item.status,
            reason: item.reason,
            message: item.message,
          }));
        }
        console.error(
          JSON.stringify(
            {
              stalledLab: lab.labId,
              owner: lab.owner.userId,
              namespace: lab.namespace,
              desired: lab.desired,
              observed: { ...lab.observed, buildLog: undefined },
              version: lab.version,
              updatedAt: lab.updatedAt,
              inSim,
            },
            null,
            1,
          ),
        );
      }
    }
  })();
  // All ready: seen by the sampler (one listing every 250 ms, not a poll per lab).
  while (readyCount < learners) await new Promise((resolve) => setTimeout(resolve, 100));
  watching = false;
  await stallWatch;
  const allReadyMs = Math.round(performance.now() - started);
  sampling = false;
  await sampler;
  // Let the last board edit and status edits go out.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const stats = harness.sim.stats();
  for (const [labId, threadId] of threads) {
    const shown = adapter.readyShown.get(threadId);
    if (shown !== undefined) markLab(labId, 'shown', shown);
  }
  const timeline = timelineOf(
    names.map((name) => labOf(name, together)),
    (labId) => ({ ...(marks.get(labId) ?? {}), ...(requests.get(namespaces.get(labId) ?? '') ?? {}) }),
  );
  const calls = Object.fromEntries(adapter.calls);
  const learnerCalls =
    (adapter.calls.get('thread.post') ?? 0) +
    (adapter.calls.get('thread.edit') ?? 0) +
    (adapter.calls.get('thread.open') ?? 0) +
    (adapter.calls.get('answer') ?? 0);
  const edits = adapter.boardEdits;
  const spanS = edits.length > 1 ? ((edits.at(-1) ?? 0) - (edits[0] ?? 0)) / 1000 : 0;
  let minGapMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < edits.length; i++) minGapMs = Math.min(minGapMs, (edits[i] ?? 0) - (edits[i - 1] ?? 0));
  console.log(
    JSON.stringify(
      {
        kubelet,
        learners,
        atOnce: atOnce ?? harness.config.classes.maxConcurrentProvisions,
        loadAverage: loadavg().map((load) => Number(load.toFixed(1))),
        oneLabMs: oneMs,
        joinsTookMs: joinedMs,
        allReadyMs,
        slowdown: Number((allReadyMs / oneMs).toFixed(2)),
        builds: runner.builder.stats().builds - buildsBefore,
        boardEdits: edits.length,
        boardEditSpanS: Number(spanS.toFixed(1)),
        boardMinGapMs: Number.isFinite(minGapMs) ? minGapMs : null,
        chatCallsPerLearner: Number((learnerCalls / learners).toFixed(2)),
        chatCalls: calls,
        statusEditsByHeadline: Object.fromEntries(adapter.editKinds),
        mostEditedThreads: [...adapter.threadEdits.values()].sort((a, b) => b.length - a.length).slice(0, 2),
        k8sRequestsPerLab: Number((stats.total / learners).toFixed(1)),
        labSecondsByPhase: Object.fromEntries(
          Object.entries(labSecondsByPhase).map(([phase, seconds]) => [phase, Math.round(seconds)]),
        ),
        k8sByVerb: stats.byVerb,
        k8sByKind: stats.byVerbResource,
        timeline,
      },
      null,
      2,
    ),
  );
  await adapter.handleLine('/lab class end');
  await adapter.handleLine('/lab stop', 'solo');
  await harness.waitForLab(labOf('solo', alone), (lab) => lab.observed.phase === 'stopped', 120_000);
  for (const name of names) {
    await harness.waitForLab(labOf(name, together), (lab) => lab.observed.phase === 'stopped', 300_000);
  }
} finally {
  await service.stop();
  await runner.stop();
  await harness.stop();
  await lessons.remove();
}

/**
 * Where each lab's time went, step by step (ms): p50/p95/max over the labs and the lab-seconds of each step, the
 * most labs in one step at once, and the whole timeline of the first, the middle and the last lab to be shown ready.
 */
function timelineOf(labIds: string[], timesOf: (labId: string) => Record<string, number>) {
  const steps: [string, string, string][] = [
    ['join answered', 'join', 'joined'],
    ['join → first reconcile', 'join', 'job'],
    ['waiting for a slot', 'job', 'slot'],
    ['slot → namespace apply', 'slot', 'nsStart'],
    ['namespace apply', 'nsStart', 'nsEnd'],
    ['guard rails', 'nsEnd', 'railsEnd'],
    ['build wait after the namespace', 'provisioned', 'built'],
    ['built → one-off run asked', 'built', 'run-wait'],
    ['waiting for a run (operator limit)', 'run-wait', 'run-once'],
    ['one-off run (docker run)', 'run-once', 'ran-once'],
    ['Deployment apply', 'deployStart', 'deployEnd'],
    ['ran-once → applied', 'ran-once', 'applied'],
    ['applied → reconcile end', 'applied', 'reconciled'],
    ['reconcile end → ready seen', 'reconciled', 'ready'],
    ['ready → shown in the thread', 'ready', 'shown'],
    ['join → shown ready', 'join', 'shown'],
  ];
  const all = labIds.map((labId) => ({ labId, times: timesOf(labId) }));
  const pick = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const bySteps: Record<string, unknown> = {};
  for (const [name, from, to] of steps) {
    const spans = all
      .map(({ times }) => [times[from], times[to]] as const)
      .filter((span): span is readonly [number, number] => span[0] !== undefined && span[1] !== undefined);
    const durations = spans.map(([start, end]) => end - start).sort((a, b) => a - b);
    // The most labs in this step at one time.
    const edges = spans.flatMap(([start, end]) => [
      [start, 1],
      [end, -1],
    ]) as [number, number][];
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let most = 0;
    for (const [, change] of edges) {
      open += change;
      most = Math.max(most, open);
    }
    bySteps[name] = {
      labs: durations.length,
      p50: Math.round(pick(durations, 0.5)),
      p95: Math.round(pick(durations, 0.95)),
      max: Math.round(durations.at(-1) ?? 0),
      labSeconds: Math.round(durations.reduce((sum, ms) => sum + ms, 0) / 1000),
      mostAtOnce: most,
    };
  }
  const shownOrder = all
    .filter(({ times }) => times['shown'] !== undefined)
    .sort((a, b) => (a.times['shown'] ?? 0) - (b.times['shown'] ?? 0));
  const relative = ({ labId, times }: { labId: string; times: Record<string, number> }) => {
    const start = times['join'] ?? 0;
    return {
      labId,
      ...Object.fromEntries(
        Object.entries(times)
          .sort((a, b) => a[1] - b[1])
          .map(([mark, at]) => [mark, Math.round(at - start)]),
      ),
    };
  };
  const [first, middle, last] = [shownOrder[0], shownOrder[Math.floor(shownOrder.length / 2)], shownOrder.at(-1)];
  return {
    steps: bySteps,
    firstShown: first && relative(first),
    middleShown: middle && relative(middle),
    lastShown: last && relative(last),
  };
}
