// A cluster whose nodes are full (Redis DB 21, kube-sim with one node of 4 pods, virtual kubelet): a lab whose pods
// no node has room for is told so in plain words in its thread, and gets ready by itself when another lab frees room.

import { CoreV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const LESSON = `cluster-full-${Date.now().toString(36)}`;
const lessons = makeLessonsDir([{ id: LESSON }]);
const wait = { timeoutMs: 90_000, intervalMs: 200 };

let harness: LabHarness;
let chat: LocalChat;

beforeAll(async () => {
  harness = await startLabHarness({
    redisDb: 21,
    kubelet: 'virtual',
    nodes: { count: 1, podsPerNode: 4 },
    env: { LABBOT_LESSONS_DIR: lessons.dir },
  });
  await harness.startRunner();
  chat = await harness.startChat();
}, 180_000);

afterAll(async () => {
  await harness?.stop();
  await lessons.remove();
});

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: LESSON });

describe('a full cluster', () => {
  it('tells the learner the cluster is full while their pods wait, and readies the lab when room frees', async () => {
    await chat.type(`start ${LESSON}`, 'ann');
    await harness.waitForLab(labOf('ann'), (lab) => lab.observed.phase === 'ready', 120_000);

    // 3 of the node's 4 pods are ann's: ben's lab gets one pod running and two that no node has room for.
    await chat.type(`start ${LESSON}`, 'ben');
    const waiting = await harness.waitForLab(
      labOf('ben'),
      // The diagnosis comes with the pods (recorded while the runner still runs its last steps), the phase after.
      (lab) => lab.observed.diagnosis?.reason === 'ClusterFull' && lab.observed.phase === 'degraded',
      120_000,
    );
    expect(waiting.observed.phase).toBe('degraded');
    expect(waiting.observed.diagnosis?.summary).toMatch(/The cluster is full: no node has room for your pods/);
    const pending = (
      await harness.kubeConfig.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: waiting.namespace })
    ).items.filter((pod) => pod.status?.phase === 'Pending');
    expect(pending).toHaveLength(2);
    await waitForValue(
      "ben's thread saying the cluster is full",
      async () => chat.thread((await harness.store.get(labOf('ben'))) ?? waiting).join('\n'),
      (text) => /cluster is full/i.test(text),
      wait,
    );

    // Ann stops: her pods go, ben's waiting pods are scheduled and his lab gets ready without anyone asking.
    await chat.type(`stop ${LESSON}`, 'ann');
    const ready = await harness.waitForLab(labOf('ben'), (lab) => lab.observed.phase === 'ready', 120_000);
    expect(ready.observed.diagnosis).toBeUndefined();
    expect(ready.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
  }, 360_000);
});
