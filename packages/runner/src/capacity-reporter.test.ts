import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { type ClusterRoomWatch, watchClusterRoom } from '@labbot/cluster';
import { createMemoryRoomApi } from '@labbot/cluster/testing';
import { type CapacityReport, judgeClassCapacity } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { createCapacityReporter, roomFromWatch } from './capacity-reporter.js';
import { builtInLessons } from './testing/runner-fixtures.js';

const NOW = new Date('2026-12-01T06:00:00Z');
const labPod = (namespace: string, name: string, phase = 'Running'): V1Pod => ({
  metadata: { namespace, name },
  spec: { nodeName: 'node-1', containers: [{ name: 'web', image: 'lesson' }] },
  status: { phase },
});

let watch: ClusterRoomWatch | undefined;
afterEach(async () => {
  await watch?.stop();
  watch = undefined;
});

/** A reporter on the watched room of an in-memory cluster of one 12-pod node, and what a class start is told. */
async function world() {
  const api = createMemoryRoomApi();
  api.put('nodes', {
    metadata: { name: 'node-1' },
    status: { allocatable: { pods: '12', cpu: '8', memory: '16Gi' }, conditions: [{ type: 'Ready', status: 'True' }] },
  });
  watch = watchClusterRoom(new KubeConfig(), { api, retryDelayMs: 5 });
  const published: CapacityReport[] = [];
  const lessons = await builtInLessons();
  const lesson = lessons.lessons[0];
  if (!lesson) throw new Error('no built-in lesson');
  const reporter = createCapacityReporter({
    readRoom: roomFromWatch(watch),
    lessons,
    ceilings: { cpu: '2', memory: '2Gi', pods: 20 },
    reports: {
      publish: async (report) => {
        published.push(report);
      },
      latest: async () => published.at(-1),
    },
    clock: () => NOW,
    intervalMs: 0,
    logger: { warn: () => undefined },
  });
  /** What `/lab class start <lesson> <minutes> <learners>` decides from the report published now. */
  const classStart = async (learners: number) => {
    const report = await reporter.publish();
    return judgeClassCapacity({ lessonId: lesson.id, maxLearners: learners, report, now: NOW });
  };
  /** Publishes until the report shows `pods` free (the watch delivers its events asynchronously). */
  const freePodsBecome = (pods: number) =>
    waitForValue(
      `a report with ${pods} pods free`,
      () => reporter.publish(),
      (report) => report.free.pods === pods,
      {
        timeoutMs: 2000,
      },
    );
  return { api, published, lesson, classStart, freePodsBecome };
}

describe('the capacity reporter fed by the room watch', () => {
  it('reports the room a running lab takes and gives back when its pods finish or go, with no list per report', async () => {
    const { api, lesson, classStart, freePodsBecome } = await world();
    expect(lesson.spec.deployment.replicas).toBe(3);
    // 4 learners × 3 pods = the whole node: starts, with the close-to-full warning.
    expect(await classStart(4)).toMatchObject({ outcome: 'close' });
    const listsAfterStart = api.lists.length;

    for (const name of ['web-a', 'web-b', 'web-c']) api.put('pods', labPod('lab-ann', name));
    await freePodsBecome(9);
    expect(await classStart(4)).toEqual({
      outcome: 'refused',
      fitsLearners: 3,
      sentence: 'This class needs 12 pods but the cluster has room for 9 more: lower max learners to 3 or add nodes.',
    });

    // The lab stops: one pod's container has exited (Succeeded), the others are deleted with the namespace.
    api.put('pods', labPod('lab-ann', 'web-a', 'Succeeded'));
    await freePodsBecome(10);
    api.remove('pods', 'lab-ann', 'web-b');
    api.remove('pods', 'lab-ann', 'web-c');
    await freePodsBecome(12);
    expect(await classStart(4)).toMatchObject({ outcome: 'close' });
    // Every report came from the watched state: nothing was listed again.
    expect(api.lists.length).toBe(listsAfterStart);
  });

  it('after a watch restart that had to re-list, reports no pod that went while it was down', async () => {
    const { api, classStart, freePodsBecome } = await world();
    for (const name of ['web-a', 'web-b', 'web-c']) api.put('pods', labPod('lab-ben', name));
    await freePodsBecome(9);

    api.cutWatches();
    for (const name of ['web-a', 'web-b', 'web-c']) api.remove('pods', 'lab-ben', name);
    api.compact();
    await freePodsBecome(12);
    expect(await classStart(4)).toMatchObject({ outcome: 'close' });
  });
});
