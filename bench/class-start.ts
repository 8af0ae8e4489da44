// 20 learners start the same lesson within one second: image builds, Kubernetes API requests per
// lab start (counted by kube-sim), and time until all 20 labs are ready vs one lab alone.
//   node --conditions labbot-source --import tsx bench/class-start.ts [learners] [docker|virtual]
// Needs the services of scripts/services.sh (Redis on 6390, Docker). Uses Redis database 12.
import { labIdFor } from '@labbot/core';
import { startLabHarness } from '../test/e2e/src/harness.js';
import { makeLessonsDir } from '../test/e2e/src/lessons.js';

const learners = Number(process.argv[2] ?? 20);
const kubelet = process.argv[3] === 'docker' ? 'docker' : 'virtual';
const stamp = Date.now().toString(36);
const alone = `bench-alone-${stamp}`;
const together = `bench-class-${stamp}`;
const lessons = makeLessonsDir([{ id: alone }, { id: together }]);
const harness = await startLabHarness({
  redisDb: 12,
  kubelet,
  env: { LABBOT_LESSONS_DIR: lessons.dir, LABBOT_MAX_ACTIVE_LABS: String(learners + 5) },
});
const runner = await harness.startRunner();
const chat = await harness.startChat();
const labOf = (userId: string, lessonId: string) =>
  labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId });

async function startAll(lessonId: string, users: string[]) {
  harness.sim.resetStats();
  const buildsBefore = runner.builder.stats().builds;
  const started = performance.now();
  // Within one second: the commands are typed together.
  await Promise.all(users.map((user) => chat.type(`start ${lessonId}`, user)));
  await Promise.all(
    users.map((user) => harness.waitForLab(labOf(user, lessonId), (lab) => lab.observed.phase === 'ready', 300_000)),
  );
  const elapsedMs = Math.round(performance.now() - started);
  const stats = harness.sim.stats();
  return {
    labs: users.length,
    elapsedMs,
    builds: runner.builder.stats().builds - buildsBefore,
    apiRequests: stats.total,
    apiRequestsPerLab: Number((stats.total / users.length).toFixed(1)),
    byVerb: stats.byVerb,
  };
}

try {
  const one = await startAll(alone, ['solo']);
  const class20 = await startAll(
    together,
    Array.from({ length: learners }, (_, i) => `learner-${i + 1}`),
  );
  console.log(
    JSON.stringify(
      { kubelet, one, class: class20, slowdown: Number((class20.elapsedMs / one.elapsedMs).toFixed(2)) },
      null,
      2,
    ),
  );
} finally {
  await harness.stop();
  await lessons.remove();
}
