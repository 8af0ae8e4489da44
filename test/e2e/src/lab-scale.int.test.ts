import { randomBytes } from 'node:crypto';
import { labIdFor } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RUNNER, type LabHarness, type LocalChat, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

// 20 learners start the same lesson at once: one image build, and the Kubernetes API requests stay few.
const lessonId = `e2e-class-${randomBytes(3).toString('hex')}`;
const lessons = makeLessonsDir([{ id: lessonId }]);
const learners = Array.from({ length: 20 }, (_, i) => `learner-${i + 1}`);

let harness: LabHarness;
let chat: LocalChat;

beforeAll(async () => {
  harness = await startLabHarness({
    redisDb: 4,
    kubelet: 'virtual',
    env: { LABBOT_LESSONS_DIR: lessons.dir, LABBOT_MAX_ACTIVE_LABS: '50' },
  });
  chat = await harness.startChat();
});

afterAll(async () => {
  await harness?.stop();
  await lessons.remove();
});

describe('a class of 20 learners', () => {
  it('builds the lesson image once and gets every lab to 3/3 ready', async () => {
    // The capacity report (all pods, every 15 s by default) runs once at start here, before the count begins.
    const tuning = { ...FAST_RUNNER, capacityIntervalMs: 0 };
    const runners = [await harness.startRunner(tuning), await harness.startRunner(tuning)];
    harness.sim.resetStats();
    await Promise.all(learners.map((learner) => chat.type(`start ${lessonId}`, learner)));
    const labs = await Promise.all(
      learners.map((learner) =>
        harness.waitForLab(
          labIdFor({ platform: 'local', workspaceId: 'local', userId: learner, lessonId }),
          (lab) => lab.observed.phase === 'ready',
          120_000,
        ),
      ),
    );
    const builds = runners.reduce((sum, runner) => sum + runner.builder.stats().builds, 0);
    expect(builds).toBe(1);
    expect(new Set(labs.map((lab) => lab.observed.imageTag)).size).toBe(1);
    expect(new Set(labs.map((lab) => lab.namespace)).size).toBe(20);
    for (const lab of labs) expect(lab.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
    // The shared watch: writes per lab start stay within the target, and nobody polls pods.
    const stats = harness.sim.stats();
    expect(stats.total / learners.length).toBeLessThanOrEqual(15);
    // Pods are known from the one shared watch per runner, opened before the class started: no request reads a
    // lab's pods. A pod list is only the watch's own re-list when its stream ended (a watch timeout under load), so
    // each one comes with a new watch; polling 20 labs would list without watching.
    const pods = {
      list: stats.byVerbResource['list pods'] ?? 0,
      watch: stats.byVerbResource['watch pods'] ?? 0,
      get: stats.byVerbResource['get pods'] ?? 0,
    };
    expect(pods.get, JSON.stringify(pods)).toBe(0);
    expect(pods.list, JSON.stringify(pods)).toBeLessThanOrEqual(pods.watch);
    expect(pods.list, JSON.stringify(pods)).toBeLessThan(learners.length);
  });
});
