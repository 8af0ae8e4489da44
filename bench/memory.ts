// Runner memory with many labs watched (issue 13; targets: RSS ≤ 150 MB while watching 1,000 labs, heap after the
// labs stop back within 10 % of before).
//   npx turbo run build && node --conditions labbot-source --import tsx bench/memory.ts [labs=1000] [warm-up=20]
// The runner is a process of its own, started as production starts it: `node apps/runner/dist/main.js` (the bundled
// entry, with its metrics server), under --expose-gc with bench/memory-probe.mjs loaded first to answer `measure` and
// `snapshot` on stdin. kube-sim is another process (virtual kubelet: pods are marked Running, no containers); this
// process drives and measures. Each lab is made as far as the runner would have made it (a lab record waiting for its
// pods, its namespace and 3-replica Deployment, written here to kube-sim: 1,000 bring-ups with builds and `docker
// run`s would measure Docker and kube-sim, not the runner's watching), paced so that at most BENCH_MAKE_AT_ONCE labs
// (default 10) are being made at once, then the runner watches: the one shared pod watch turns 3,000 pods into 1,000
// ready labs. Then every lab is stopped as `/lab stop` does (desired stopped + a reconcile): the runner tears each
// namespace down. A warm-up round before the "before" figure loads the code and caches of those paths. Heap: after
// forced GCs (v8.getHeapStatistics). Then one more round of BENCH_SNAPSHOT_LABS labs (default 200; 0 skips it)
// with heap snapshots before it, while its labs are watched and after they stopped, and the constructors whose objects
// grew most (BENCH_KEEP_SNAPSHOTS=<dir> keeps the three files). Needs scripts/services.sh
// (Redis, registry). Redis database 26.
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { loadKubeConfig } from '@labbot/cluster';
import { createLabRecord, type LabRecord } from '@labbot/core';
import { createQueues } from '@labbot/queue';
import { createLabStore } from '@labbot/store';
import { Redis } from 'ioredis';
import { runnerNodeFlags } from '../test/e2e/src/deploy-files.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (value: number) => Math.round(value * 10) / 10;

// ---------------------------------------------------------------- heap snapshot summary

interface SnapshotFile {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per constructor (objects) or per node type (strings, code, arrays...). */
function sizesByConstructor(path: string): Map<string, { size: number; count: number }> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as SnapshotFile;
  const fields = file.snapshot.meta.node_fields;
  const types = file.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const sizes = new Map<string, { size: number; count: number }>();
  for (let index = 0; index < file.nodes.length; index += width) {
    const type = types[file.nodes[index + typeAt] ?? 0] ?? '?';
    const key =
      type === 'object' || type === 'closure' ? (file.strings[file.nodes[index + nameAt] ?? 0] ?? '?') : `(${type})`;
    const entry = sizes.get(key) ?? { size: 0, count: 0 };
    entry.size += file.nodes[index + sizeAt] ?? 0;
    entry.count += 1;
    sizes.set(key, entry);
  }
  return sizes;
}

/** The constructors whose retained self size grew most between two snapshots. */
function biggestGrowth(beforePath: string, afterPath: string, top = 10) {
  const before = sizesByConstructor(beforePath);
  const after = sizesByConstructor(afterPath);
  return [...after]
    .map(([name, { size, count }]) => ({
      name,
      grewKb: Math.round((size - (before.get(name)?.size ?? 0)) / 1024),
      countDelta: count - (before.get(name)?.count ?? 0),
    }))
    .sort((a, b) => b.grewKb - a.grewKb)
    .slice(0, top);
}

// ---------------------------------------------------------------- the driver

const labs = Number(process.argv[2] ?? 1000);
const warmUpLabs = Number(process.argv[3] ?? 20);
const snapshotLabs = Number(process.env.BENCH_SNAPSHOT_LABS ?? 200);
/** The steady-state figures are taken this long after the last lab became ready (and after the last stopped). */
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 30_000);
/**
 * After the steady-state figure, the labs are watched this much longer (default 60 s, 0 skips it) with a timeline of
 * the young generation's size and the janitor's and the room watch's lists (the probe's `timeline`), then measured again.
 */
const TIMELINE_MS = Number(process.env.BENCH_TIMELINE_MS ?? 60_000);
/**
 * BENCH_SNAPSHOT_MAIN=1: heap snapshots of the main round too, just after the "before" figure and after the last
 * figure 30 s after the stop, and what grew between them (a diagnostic run: the first snapshot raises the RSS figures
 * that follow it).
 */
const snapshotMain = process.env.BENCH_SNAPSHOT_MAIN === '1';
const repo = join(import.meta.dirname, '..');
const redisUrl = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '')}/26`;
const lessonId = 'docker-vs-kubernetes';
const dir = mkdtempSync(join(tmpdir(), 'labbot-bench-memory-'));
const children: ChildProcess[] = [];
const progress = (text: string) =>
  process.stderr.write(
    `[memory ${new Date().toISOString().slice(11, 19)}] ${text} (load ${loadavg()[0]?.toFixed(1)})\n`,
  );

/** Spawns a child and resolves once a stdout line matches `ready`; `next()` reads its following lines. */
function start(args: string[], env: Record<string, string>, ready: RegExp) {
  const child = spawn(process.execPath, args, {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  children.push(child);
  const waiting: ((line: string) => void)[] = [];
  const buffered: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const reader = waiting.shift();
    if (reader) reader(line);
    else buffered.push(line);
  });
  const next = () =>
    new Promise<string>((resolve) => {
      const line = buffered.shift();
      if (line === undefined) waiting.push(resolve);
      else resolve(line);
    });
  const started = (async () => {
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`))),
    );
    for (;;) if (ready.test(await Promise.race([next(), exited]))) return;
  })();
  return { child, started, next };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
redis.on('error', () => {});
await redis.flushdb();
const store = createLabStore({ redis });
const queues = createQueues({ connection: redis });
try {
  const kubeconfigPath = join(dir, 'kubeconfig');
  const sim = start(
    ['--conditions', 'labbot-source', '--import', 'tsx', 'test/e2e/src/fixtures/kube-sim-process.ts', kubeconfigPath],
    // Room for every lab's 3 pods (110 per node, as the real kubelet's default): none waits Pending.
    { LABBOT_SIM_NODES: String(Math.ceil(((labs + warmUpLabs) * 3) / 110) + 1) },
    /^kube-sim serving/,
  );
  await sim.started;
  const kubeConfig = loadKubeConfig({ mode: 'file', path: kubeconfigPath });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const runner = start(
    [
      '--expose-gc',
      // The Node flags production starts the runner with (infra/k8s/runner.yaml).
      ...runnerNodeFlags(),
      // Flags to try on top (a later flag wins), e.g. BENCH_RUNNER_NODE_ARGS=--max-semi-space-size=16 (space-separated).
      ...(process.env.BENCH_RUNNER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      '--import',
      './bench/memory-probe.mjs',
      'apps/runner/dist/main.js',
    ],
    {
      REDIS_URL: redisUrl,
      KUBECONFIG: kubeconfigPath,
      LABBOT_MAX_ACTIVE_LABS: String(labs + warmUpLabs + 10),
      LABBOT_METRICS_HOST: '127.0.0.1',
      LABBOT_METRICS_PORT: String(await freePort()),
      LOG_LEVEL: process.env.LABBOT_TEST_LOG ?? 'silent',
    },
    /"ready":true/,
  );
  await runner.started;
  type Measure = Record<string, number>;
  const ask = async <T>(command: string): Promise<T> => {
    runner.child.stdin?.write(`${command}\n`);
    return JSON.parse(await runner.next()) as T;
  };

  /** Runs `work` over `items`, `width` at a time. */
  async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<unknown>): Promise<void> {
    for (let index = 0; index < items.length; index += width)
      await Promise.all(items.slice(index, index + width).map(work));
  }

  async function waitForPhase(labIds: string[], phase: string, what: string): Promise<number> {
    const since = performance.now();
    for (;;) {
      const phases = await Promise.all(labIds.map(async (labId) => (await store.get(labId))?.observed.phase));
      const done = phases.filter((value) => value === phase).length;
      if (done === labIds.length) return Math.round(performance.now() - since);
      if (performance.now() - since > 1_800_000) throw new Error(`${what}: ${done}/${labIds.length} after 30 min`);
      await sleep(1000);
    }
  }

  /** Retries a create under load (a connect timeout to kube-sim); an object already there counts as made. */
  async function made(make: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await make();
        return;
      } catch (error) {
        if ((error as { code?: number }).code === 409) return;
        if (attempt >= 5) throw error;
        await sleep(1000 * attempt);
      }
    }
  }

  /** A lab as the runner leaves it before its pods come: record waiting for pods, namespace, Deployment. */
  async function makeLab(userId: string): Promise<string> {
    const created = createLabRecord({
      owner: { platform: 'local', workspaceId: 'bench', userId },
      lessonId,
      ttlMinutes: 600,
    });
    const record: LabRecord = {
      ...created,
      observed: {
        ...created.observed,
        phase: 'waiting-for-pods',
        step: 'pods',
        desiredReplicas: 3,
        containerOutput: 'Hello from the container (bench/memory.ts)',
      },
    };
    await store.create(record);
    // The labels the runner gives them: the namespace names the lab; the Deployment and its pods name only the lesson
    // (the one pod watch selects managed-by, and maps a pod to its lab through its namespace).
    const managed = { 'app.kubernetes.io/managed-by': 'labbot' };
    const podLabels = { ...managed, app: 'web', 'labbot.dev/lesson': lessonId };
    await made(() =>
      core.createNamespace({
        body: { metadata: { name: record.namespace, labels: { ...managed, 'labbot.dev/lab': record.labId } } },
      }),
    );
    await made(() =>
      apps.createNamespacedDeployment({
        namespace: record.namespace,
        body: {
          metadata: { name: 'web', labels: podLabels },
          spec: {
            replicas: 3,
            selector: { matchLabels: podLabels },
            template: {
              metadata: { labels: podLabels },
              spec: { containers: [{ name: 'web', image: 'labbot/busybox:1' }] },
            },
          },
        },
      }),
    );
    return record.labId;
  }

  /** What `/lab stop` does: desired stopped, then a reconcile (the runner tears the namespace down). */
  async function stopLab(labId: string): Promise<void> {
    await store.update(labId, (current) => ({ ...current, desired: { ...current.desired, state: 'stopped' } }));
    await queues.enqueueReconcile(labId, 'bench-stop');
  }

  async function cycle(prefix: string, count: number) {
    const labIds: string[] = [];
    const users = Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
    const since = performance.now();
    await inBatches(users, 10, async (userId) => labIds.push(await makeLab(userId)));
    const readyMs = (await waitForPhase(labIds, 'ready', `${prefix}: ready`)) + Math.round(performance.now() - since);
    return { labIds, readyMs };
  }
  async function stopAll(labIds: string[]) {
    await inBatches(labIds, 50, stopLab);
    return waitForPhase(labIds, 'stopped', 'stopped');
  }

  const cold = await ask<Measure>('measure');
  progress(`runner ready: ${JSON.stringify(cold)}`);
  const warm = await cycle('warm', warmUpLabs);
  await stopAll(warm.labIds);
  await sleep(3000);
  const before = await ask<Measure>('measure');
  progress(`before (after a warm-up of ${warmUpLabs} labs): ${JSON.stringify(before)}`);
  const snapshot = async (name: string) => {
    const path = join(dir, `${name}.heapsnapshot`);
    await ask(`snapshot ${path}`);
    return path;
  };
  const mainBeforeSnapshot = snapshotMain ? await snapshot('main-before') : undefined;
  await ask('peak-reset');

  const loadAtStart = loadavg().map(round1);
  const { labIds, readyMs } = await cycle('lab', labs);
  progress(`${labs} labs ready ${readyMs} ms after the first was made`);
  const allReadyAt = performance.now();
  // Watching: every lab ready, 3 pods each in the shared informer; a few seconds for the last snapshots. This is the
  // figure right after the burst of lab creation (V8 may still hold the young generation it grew for the burst).
  await sleep(5000);
  const watching = await ask<Measure>('measure');
  progress(`watching ${labs} labs, right after the burst: ${JSON.stringify(watching)}`);
  await ask('timeline');
  // The steady state: the same labs watched, nothing new made, STEADY_MS after the last lab became ready.
  await sleep(Math.max(0, STEADY_MS - (performance.now() - allReadyAt)));
  const watchingSteady = await ask<Measure>('measure');
  progress(`watching ${labs} labs, ${STEADY_MS / 1000} s after the last was ready: ${JSON.stringify(watchingSteady)}`);
  type Timeline = { nowS: number; timeline: Record<string, unknown>[] };
  const timelineToSteady = await ask<Timeline>('timeline');
  let watchingLate: Measure | undefined;
  let timelineLate: Timeline | undefined;
  if (TIMELINE_MS > 0) {
    await sleep(TIMELINE_MS);
    timelineLate = await ask<Timeline>('timeline');
    watchingLate = await ask<Measure>('measure');
    progress(`watching ${labs} labs, ${TIMELINE_MS / 1000} s later: ${JSON.stringify(watchingLate)}`);
    progress(`timeline of those ${TIMELINE_MS / 1000} s: ${JSON.stringify(timelineLate)}`);
  }
  await ask('peak-reset');
  const stopMs = await stopAll(labIds);
  progress(`${labs} labs stopped after ${stopMs} ms`);
  const allStoppedAt = performance.now();
  // The watch's delete events and the debounce timers settle before the heap is measured.
  await sleep(5000);
  const after = await ask<Measure>('measure');
  const heapVsBefore = (measure: Measure) =>
    round1((((measure['usedHeapMb'] ?? 0) - (before['usedHeapMb'] ?? 0)) / (before['usedHeapMb'] ?? 1)) * 100);
  const heapAfterVsBeforePercent = heapVsBefore(after);
  progress(`after: ${JSON.stringify(after)}, heap ${heapAfterVsBeforePercent} % vs before`);
  await sleep(Math.max(0, STEADY_MS - (performance.now() - allStoppedAt)));
  const afterSteady = await ask<Measure>('measure');
  const heapAfterSteadyVsBeforePercent = heapVsBefore(afterSteady);
  progress(
    `after, ${STEADY_MS / 1000} s after the last stopped: ${JSON.stringify(afterSteady)}, heap ${heapAfterSteadyVsBeforePercent} % vs before`,
  );

  let mainRound: Record<string, unknown> | undefined;
  if (mainBeforeSnapshot) {
    const mainAfterSnapshot = await snapshot('main-after');
    mainRound = { afterTheStop: biggestGrowth(mainBeforeSnapshot, mainAfterSnapshot, 15) };
    progress(`main round, grown between the snapshots: ${JSON.stringify(mainRound)}`);
    if (process.env.BENCH_KEEP_SNAPSHOTS) {
      for (const path of [mainBeforeSnapshot, mainAfterSnapshot])
        copyFileSync(path, join(process.env.BENCH_KEEP_SNAPSHOTS, basename(path)));
    }
  }

  // What watching costs and where a leak would be: heap snapshots before, while watching and after one more round
  // (after the figures above: writing a snapshot leaves native memory in the process that the RSS would include).
  let snapshotRound: Record<string, unknown> | undefined;
  if (snapshotLabs > 0) {
    const beforeSnapshot = await snapshot('before');
    const round = await cycle('again', snapshotLabs);
    await sleep(5000);
    const watchingSnapshot = await snapshot('watching');
    await stopAll(round.labIds);
    await sleep(5000);
    const afterSnapshot = await snapshot('after');
    snapshotRound = {
      labs: snapshotLabs,
      whileWatching: biggestGrowth(beforeSnapshot, watchingSnapshot),
      afterTheStop: biggestGrowth(beforeSnapshot, afterSnapshot),
    };
    if (process.env.BENCH_KEEP_SNAPSHOTS) {
      for (const path of [beforeSnapshot, watchingSnapshot, afterSnapshot])
        copyFileSync(path, join(process.env.BENCH_KEEP_SNAPSHOTS, basename(path)));
    }
  }
  console.log(
    JSON.stringify(
      {
        labs,
        warmUpLabs,
        loadAverage: { atStart: loadAtStart, atEnd: loadavg().map(round1) },
        allReadyMs: readyMs,
        allStoppedMs: stopMs,
        cold,
        before,
        watching,
        watchingSteady,
        timelineToSteady,
        ...(watchingLate ? { watchingLate, timelineLate } : {}),
        after,
        afterSteady,
        heapAfterVsBeforePercent,
        heapAfterSteadyVsBeforePercent,
        ...(mainRound ? { mainRound } : {}),
        ...(snapshotRound ? { snapshotRound } : {}),
      },
      null,
      2,
    ),
  );
} finally {
  for (const child of children.reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin?.end();
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  }
  await queues.close().catch(() => {});
  await redis.flushdb().catch(() => {});
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
}
