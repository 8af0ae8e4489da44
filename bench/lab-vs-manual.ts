// One lab end to end through labbot vs the material's manual steps on the same kube-sim, alternated, in two cases:
// `cold` (a lesson nobody has built: both sides build every step) and `warm` (a lesson built before: labbot finds the
// image, `docker build` answers from its layer cache). Target (issue 13): ratio of the medians ≤ 1.05 in both.
// The manual side runs three ways per round (issue 13 left it open which one compares like with like):
// - `default` (`ratioVsDefault`): issue 4's steps, `docker build`, `kubectl apply` of the lesson's Deployment as
//   rendered, `kubectl rollout status`, in `default`: no limits, and no Docker step.
// - `guarded` (`ratioWithoutRun`): the same three steps with the very Deployment a lab applied (hardened pod spec) in
//   a namespace with a lab namespace's guard rails (its Pod Security labels, LimitRange, ResourceQuota,
//   NetworkPolicies and the learner's ServiceAccount, copied from a lab): the pods of both sides start under the same
//   limits (the lesson's 100m CPU per container slows the engine's container start by itself).
// - `lesson` (`ratio`, the target's): the lesson by hand, like a lab: the `guarded` steps with the lesson's Docker
//   step (`docker run` of its one-off container, the command the lab runs, after the build) in between. Labbot runs
//   that container too, on the same engine as the pods here, while it applies the Deployment.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labIdFor } from '@labbot/core';
import { builtInLessonsDir, loadLesson, renderDeployment, runSpecFor } from '@labbot/lessons';
import { waitForValue } from '@labbot/test-support';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const rounds = Number(process.argv[2] ?? 5);
const cases = (process.argv[3] ?? 'cold,warm').split(',');
if (!cases.every((name) => name === 'cold' || name === 'warm')) throw new Error('cases: cold, warm or cold,warm');
const stamp = Date.now().toString(36);
// Cold: a lesson copy per round (a new Dockerfile each time). Warm: one copy, built once before the measured rounds.
const coldIds = Array.from({ length: rounds }, (_, i) => `bench-lab-${stamp}-${i}`);
const warmId = `bench-lab-${stamp}-warm`;
const lessons = makeLessonsDir([...coldIds, warmId].map((id) => ({ id })));
const harness = await startLabHarness({ redisDb: 11, kubelet: 'docker', env: { LABBOT_LESSONS_DIR: lessons.dir } });
// The runner as production tunes it (the pod watch's 250 ms coalescing included), not the tests' fast timings.
await harness.startRunner({});
const chat = await harness.startChat();
const builtIn = await loadLesson(join(builtInLessonsDir(), 'docker-vs-kubernetes'));
// Asynchronous: kube-sim answers from this very process.
const run = promisify(execFile);
const kubectl = (...args: string[]) =>
  run('kubectl', ['--kubeconfig', harness.kubeconfigPath, ...args], { timeout: 120_000 });

/**
 * `/lab start` until the lab is ready; then `/lab stop` until it is stopped (not timed). `whileReady` runs (untimed)
 * before the stop.
 */
async function viaLabbot(
  lessonId: string,
  user: string,
  whileReady?: (lab: { namespace: string }) => Promise<void>,
): Promise<number> {
  const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: user, lessonId });
  const started = performance.now();
  await chat.type(`start ${lessonId}`, user);
  // Read every 10 ms (the tests' 100 ms would add up to 100 ms to labbot's side; kubectl rollout status watches).
  await waitForValue(
    `lab ${labId} ready`,
    () => harness.store.get(labId),
    (lab) => lab?.observed.phase === 'ready',
    { timeoutMs: 180_000, intervalMs: 10 },
  );
  const elapsed = performance.now() - started;
  const lab = await harness.store.get(labId);
  if (whileReady && lab) await whileReady(lab);
  await chat.type('stop', user);
  await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped', 180_000);
  return elapsed;
}

type KubeJson = { metadata: { name: string; labels?: Record<string, string> }; [key: string]: unknown };

/** The manual side's namespace with a lab's guard rails, and the Deployment that lab applied (its image left out). */
interface Guarded {
  namespace: string;
  deployment: KubeJson & { spec: { template: { spec: { containers: { image: string }[] } } } };
}
const guarded: Guarded = { namespace: `bench-manual-${stamp}`, deployment: undefined as never };

/** Copies a ready lab's guard rails into the manual side's namespace, and keeps the Deployment the lab applied. */
async function copyGuardRails(lab: { namespace: string }): Promise<void> {
  const get = async (...args: string[]) => JSON.parse((await kubectl('get', '-o', 'json', ...args)).stdout);
  const source = await get('namespace', lab.namespace);
  const podSecurity = Object.entries((source.metadata.labels ?? {}) as Record<string, string>).filter(([key]) =>
    key.startsWith('pod-security.kubernetes.io/'),
  );
  // The learner's ServiceAccount too (the lab's pods run as it); `default` is made in every namespace.
  const rails = (
    (await get('limitrange,resourcequota,networkpolicy,serviceaccount', '-n', lab.namespace)).items as KubeJson[]
  ).filter((rail) => !(rail.kind === 'ServiceAccount' && rail.metadata.name === 'default'));
  const strip = ({ metadata, status: _status, ...object }: KubeJson) => ({
    ...object,
    metadata: { name: metadata.name, namespace: guarded.namespace },
  });
  const namespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: guarded.namespace, labels: Object.fromEntries(podSecurity) },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'bench-guarded-')), 'guard-rails.json');
  writeFileSync(file, [namespace, ...rails.map(strip)].map((object) => JSON.stringify(object)).join('\n'));
  await kubectl('apply', '-f', file);
  const copied = rails.map((rail) => `${String(rail.kind)}/${rail.metadata.name}`).join(', ');
  console.log(
    `manual side like a lab: namespace ${guarded.namespace} (${podSecurity.length} Pod Security labels, ${copied})`,
  );
  const applied = await get('deployment', 'hello', '-n', lab.namespace);
  guarded.deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'hello' },
    spec: applied.spec,
  } as Guarded['deployment'];
}

/** A build context of the lesson; `unique` changes a file so that Docker builds every step. */
function manualContext(unique: string | undefined): {
  dir: string;
  manifest: string;
  guardedManifest: string;
  tag: string;
} {
  const dir = mkdtempSync(join(tmpdir(), 'bench-manual-'));
  cpSync(builtIn.dir, dir, { recursive: true });
  if (unique !== undefined) writeFileSync(join(dir, 'app', 'round.txt'), `${unique}\n`);
  const tag = `labbot-bench-manual:${stamp}-${unique ?? 'warm'}`;
  const manifest = join(dir, 'deployment.rendered.yaml');
  writeFileSync(manifest, renderDeployment(builtIn, { image: tag }).yaml);
  const guardedManifest = join(dir, 'deployment.guarded.json');
  const deployment = structuredClone(guarded.deployment);
  for (const container of deployment.spec.template.spec.containers) container.image = tag;
  writeFileSync(guardedManifest, JSON.stringify(deployment));
  return { dir, manifest, guardedManifest, tag };
}

type ManualContext = ReturnType<typeof manualContext>;

type ManualWay = 'default' | 'guarded' | 'lesson';

/** The manual steps one of the three ways (see the top); then the Deployment is deleted (not timed). */
async function manually(context: ManualContext, way: ManualWay): Promise<number> {
  const namespace = way === 'default' ? 'default' : guarded.namespace;
  const manifest = way === 'default' ? context.manifest : context.guardedManifest;
  const started = performance.now();
  await run('docker', ['build', '--network', 'none', '-q', '-t', context.tag, context.dir], { timeout: 120_000 });
  if (way === 'lesson') {
    const { command } = runSpecFor(builtIn);
    await run('docker', ['run', '--rm', '--network', 'none', '--user', '10001', context.tag, ...(command ?? [])], {
      timeout: 120_000,
    });
  }
  await kubectl('apply', '-n', namespace, '-f', manifest);
  await kubectl('rollout', 'status', '-n', namespace, 'deployment/hello', '--timeout=120s');
  const elapsed = performance.now() - started;
  await kubectl('delete', '-n', namespace, 'deployment', 'hello', '--wait=true');
  return elapsed;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Rotates the four sides round by round (which goes first too, so none always meets a warmer machine). */
async function measure(
  name: string,
  labbotRound: (i: number) => Promise<number>,
  manualRound: (i: number, way: ManualWay) => Promise<number>,
) {
  const times = { labbot: [] as number[], lesson: [] as number[], guarded: [] as number[], default: [] as number[] };
  const ways = ['lesson', 'guarded', 'default'] as const;
  const sides = [
    async (i: number) => times.labbot.push(await labbotRound(i)),
    ...ways.map((way) => async (i: number) => times[way].push(await manualRound(i, way))),
  ];
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < sides.length; k++) await sides[(i + k) % sides.length]?.(i);
    const last = (values: number[]) => values.at(-1)?.toFixed(0);
    console.log(
      `${name} round ${i + 1}: labbot ${last(times.labbot)} ms; by hand: the lesson like a lab ${last(times.lesson)} ms, ` +
        `without its Docker step ${last(times.guarded)} ms, issue 4's steps in default ${last(times.default)} ms`,
    );
  }
  const medianOf = (values: number[]) => Math.round(median(values));
  const ratio = (values: number[]) => Number((median(times.labbot) / median(values)).toFixed(2));
  return {
    case: name,
    rounds,
    labbotMs: times.labbot.map(Math.round),
    manualMs: times.lesson.map(Math.round),
    manualWithoutRunMs: times.guarded.map(Math.round),
    manualDefaultMs: times.default.map(Math.round),
    labbotMedianMs: medianOf(times.labbot),
    manualMedianMs: medianOf(times.lesson),
    manualWithoutRunMedianMs: medianOf(times.guarded),
    manualDefaultMedianMs: medianOf(times.default),
    ratio: ratio(times.lesson),
    ratioWithoutRun: ratio(times.guarded),
    ratioVsDefault: ratio(times.default),
    target: 1.05,
  };
}

const results = [];
try {
  // One lab of the warm lesson first (not measured): the build the warm rounds find, and the guard rails and the
  // Deployment the manual side copies to work like a lab.
  await viaLabbot(warmId, 'bench-warm-first', copyGuardRails);
  if (cases.includes('cold')) {
    results.push(
      await measure(
        'cold',
        (i) => viaLabbot(coldIds[i] ?? '', `bench-cold-${i}`),
        async (i, way) => {
          const context = manualContext(`${Date.now()}-${i}-${way}`);
          const elapsed = await manually(context, way);
          await run('docker', ['rmi', '-f', context.tag]);
          return elapsed;
        },
      ),
    );
  }
  if (cases.includes('warm')) {
    // The build the manual side finds later (not measured).
    const context = manualContext(undefined);
    await manually(context, 'default');
    results.push(
      await measure(
        'warm',
        (i) => viaLabbot(warmId, `bench-warm-${i}`),
        (_i, way) => manually(context, way),
      ),
    );
    await run('docker', ['rmi', '-f', context.tag]);
  }
  console.log(JSON.stringify({ load: loadavg().map((x) => x.toFixed(1)), results }, null, 2));
} finally {
  await kubectl('delete', 'namespace', guarded.namespace, '--wait=false').catch(() => {});
  await harness.stop();
  await lessons.remove();
}
