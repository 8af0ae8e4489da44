// One lab end to end through labbot vs the material's manual steps on the same kube-sim, alternated.
//   node --conditions labbot-source --import tsx bench/lab-vs-manual.ts [rounds]
// Needs the services of scripts/services.sh (Redis on 6390, Docker). Uses Redis database 11.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { labIdFor } from '@labbot/core';
import { builtInLessonsDir, loadLesson, renderDeployment } from '@labbot/lessons';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const rounds = Number(process.argv[2] ?? 5);
const ids = Array.from({ length: rounds }, (_, i) => `bench-lab-${Date.now().toString(36)}-${i}`);
const lessons = makeLessonsDir(ids.map((id) => ({ id })));
const harness = await startLabHarness({ redisDb: 11, kubelet: 'docker', env: { LABBOT_LESSONS_DIR: lessons.dir } });
await harness.startRunner();
const chat = await harness.startChat();
const builtIn = await loadLesson(join(builtInLessonsDir(), 'docker-vs-kubernetes'));
// Asynchronous: kube-sim answers from this very process.
const run = promisify(execFile);
const kubectl = (...args: string[]) =>
  run('kubectl', ['--kubeconfig', harness.kubeconfigPath, ...args], { timeout: 120_000 });

async function viaLabbot(i: number): Promise<number> {
  const lessonId = ids[i] ?? '';
  const started = performance.now();
  await chat.type(`start ${lessonId}`, `bench-${i}`);
  await harness.waitForLab(
    labIdFor({ platform: 'local', workspaceId: 'local', userId: `bench-${i}`, lessonId }),
    (lab) => lab.observed.phase === 'ready',
    180_000,
  );
  return performance.now() - started;
}

async function manually(i: number): Promise<number> {
  // A fresh copy of the lesson's build context, so Docker really builds (as labbot does for a new lesson).
  const context = mkdtempSync(join(tmpdir(), 'bench-manual-'));
  cpSync(builtIn.dir, context, { recursive: true });
  writeFileSync(join(context, 'app', 'round.txt'), `${Date.now()}-${i}\n`);
  const tag = `labbot-bench-manual:${Date.now().toString(36)}-${i}`;
  const { yaml } = renderDeployment(builtIn, { image: tag });
  const manifest = join(context, 'deployment.rendered.yaml');
  writeFileSync(manifest, yaml);
  const started = performance.now();
  await run('docker', ['build', '--network', 'none', '-q', '-t', tag, context], { timeout: 120_000 });
  await kubectl('apply', '-f', manifest);
  await kubectl('rollout', 'status', 'deployment/hello', '--timeout=120s');
  const elapsed = performance.now() - started;
  await kubectl('delete', 'deployment', 'hello', '--wait=true');
  await run('docker', ['rmi', '-f', tag]);
  return elapsed;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

const labbot: number[] = [];
const manual: number[] = [];
try {
  for (let i = 0; i < rounds; i++) {
    // Alternate which goes first, so neither always meets a warmer machine.
    if (i % 2 === 0) {
      labbot.push(await viaLabbot(i));
      manual.push(await manually(i));
    } else {
      manual.push(await manually(i));
      labbot.push(await viaLabbot(i));
    }
    console.log(`round ${i + 1}: labbot ${labbot.at(-1)?.toFixed(0)} ms, manual ${manual.at(-1)?.toFixed(0)} ms`);
  }
  const ratio = median(labbot) / median(manual);
  console.log(
    JSON.stringify({
      rounds,
      labbotMedianMs: Math.round(median(labbot)),
      manualMedianMs: Math.round(median(manual)),
      ratio: Number(ratio.toFixed(2)),
      target: 1.1,
    }),
  );
} finally {
  await harness.stop();
  await lessons.remove();
}
