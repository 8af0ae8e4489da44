// One lab end to end through labbot vs the material's manual steps on the same kube-sim, alternated, in two cases:
// `cold` (a lesson nobody has built: both sides build every step) and `warm` (a lesson built before: labbot finds the
// image, `docker build` answers from its layer cache). Target (issue 13): ratio of the medians ≤ 1.05 in both.
//   node --conditions labbot-source --import tsx bench/lab-vs-manual.ts [rounds=5] [cases=cold,warm]
// Needs the services of scripts/services.sh (Redis, registry, Docker). Uses Redis database 11. Each round's lab (and the
// manual Deployment) is torn down before the next round, so every round meets the same cluster.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labIdFor } from '@labbot/core';
import { builtInLessonsDir, loadLesson, renderDeployment } from '@labbot/lessons';
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

/** `/lab start` until the lab is ready; then `/lab stop` until it is stopped (not timed). */
async function viaLabbot(lessonId: string, user: string): Promise<number> {
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
  await chat.type('stop', user);
  await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped', 180_000);
  return elapsed;
}

/** A build context of the lesson; `unique` changes a file so that Docker builds every step. */
function manualContext(unique: string | undefined): { dir: string; manifest: string; tag: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-manual-'));
  cpSync(builtIn.dir, dir, { recursive: true });
  if (unique !== undefined) writeFileSync(join(dir, 'app', 'round.txt'), `${unique}\n`);
  const tag = `labbot-bench-manual:${stamp}-${unique ?? 'warm'}`;
  const manifest = join(dir, 'deployment.rendered.yaml');
  writeFileSync(manifest, renderDeployment(builtIn, { image: tag }).yaml);
  return { dir, manifest, tag };
}

/** docker build, kubectl apply, kubectl rollout status; then the Deployment is deleted (not timed). */
async function manually(context: { dir: string; manifest: string; tag: string }): Promise<number> {
  const started = performance.now();
  await run('docker', ['build', '--network', 'none', '-q', '-t', context.tag, context.dir], { timeout: 120_000 });
  await kubectl('apply', '-f', context.manifest);
  await kubectl('rollout', 'status', 'deployment/hello', '--timeout=120s');
  const elapsed = performance.now() - started;
  await kubectl('delete', 'deployment', 'hello', '--wait=true');
  return elapsed;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** Alternates the two sides round by round (which goes first too, so neither always meets a warmer machine). */
async function measure(
  name: string,
  labbotRound: (i: number) => Promise<number>,
  manualRound: (i: number) => Promise<number>,
) {
  const labbot: number[] = [];
  const manual: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      labbot.push(await labbotRound(i));
      manual.push(await manualRound(i));
    } else {
      manual.push(await manualRound(i));
      labbot.push(await labbotRound(i));
    }
    console.log(
      `${name} round ${i + 1}: labbot ${labbot.at(-1)?.toFixed(0)} ms, manual ${manual.at(-1)?.toFixed(0)} ms`,
    );
  }
  return {
    case: name,
    rounds,
    labbotMs: labbot.map(Math.round),
    manualMs: manual.map(Math.round),
    labbotMedianMs: Math.round(median(labbot)),
    manualMedianMs: Math.round(median(manual)),
    ratio: Number((median(labbot) / median(manual)).toFixed(2)),
    target: 1.05,
  };
}

const results = [];
try {
  if (cases.includes('cold')) {
    results.push(
      await measure(
        'cold',
        (i) => viaLabbot(coldIds[i] ?? '', `bench-cold-${i}`),
        async (i) => {
          const context = manualContext(`${Date.now()}-${i}`);
          const elapsed = await manually(context);
          await run('docker', ['rmi', '-f', context.tag]);
          return elapsed;
        },
      ),
    );
  }
  if (cases.includes('warm')) {
    // The build both sides find later: one lab of the lesson, one manual build of the context (not measured).
    const context = manualContext(undefined);
    await viaLabbot(warmId, 'bench-warm-first');
    await manually(context);
    results.push(
      await measure(
        'warm',
        (i) => viaLabbot(warmId, `bench-warm-${i}`),
        () => manually(context),
      ),
    );
    await run('docker', ['rmi', '-f', context.tag]);
  }
  console.log(JSON.stringify({ load: loadavg().map((x) => x.toFixed(1)), results }, null, 2));
} finally {
  await harness.stop();
  await lessons.remove();
}
