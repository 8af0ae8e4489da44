import { labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, labWait, readyWithOutput, startLabHarness } from './harness.js';

// The learner's tools in a ready lab: the kubectl subset (confined to their namespace) and /lab check.
let harness: LabHarness;
let chat: LocalChat;
const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ada', lessonId: 'docker-vs-kubernetes' });
const lastAnswer = () => chat.adapter.channelTexts().at(-1) ?? '';

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 14, kubelet: 'virtual' });
  await harness.startRunner();
  chat = await harness.startChat();
  await chat.type('start docker-vs-kubernetes', 'ada');
  await harness.waitForLab(labId, readyWithOutput);
});

afterAll(async () => {
  await harness?.stop();
});

describe('the kubectl subset and the checks', () => {
  it("lists the pods of the learner's own namespace like kubectl does", async () => {
    await chat.type('kubectl get pods', 'ada');
    expect(lastAnswer()).toMatch(/^\$ kubectl get pods\nNAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);
    expect(lastAnswer().match(/^hello-\S+\s+1\/1\s+Running/gm)).toHaveLength(3);
  });

  it('shows Kubernetes replacing a deleted pod, and the checks pass once it has', async () => {
    await chat.type('check', 'ada');
    expect(lastAnswer()).toMatch(/Checks of Docker vs Kubernetes: 2\/3 passed/);
    expect(lastAnswer()).toMatch(/❌ Kubernetes replaced a deleted pod\n\s+💡 Delete a pod/);

    const lab = await harness.store.get(labId);
    const victim = lab?.observed.pods[0]?.name ?? '';
    await chat.type(`kubectl delete pod ${victim}`, 'ada');
    expect(lastAnswer()).toContain(`pod "${victim}" deleted`);
    await harness.waitForLab(
      labId,
      (current) =>
        current.observed.phase === 'ready' &&
        current.observed.pods.length === 3 &&
        !current.observed.pods.some((pod) => pod.name === victim),
    );
    await chat.type('check', 'ada');
    expect(lastAnswer()).toMatch(/Checks of Docker vs Kubernetes: 3\/3 passed/);
    expect(lastAnswer()).toContain('✅ Kubernetes replaced a deleted pod');
  });

  it('scales the Deployment and the status follows to 5/5', async () => {
    await chat.type('kubectl scale deployment/hello --replicas=5', 'ada');
    expect(lastAnswer()).toContain('deployment.apps/hello scaled');
    const scaled = await harness.waitForLab(
      labId,
      (lab) => lab.observed.pods.filter((pod) => pod.ready).length === 5 && lab.observed.phase === 'ready',
    );
    expect(scaled.observed.desiredReplicas).toBe(5);
    await waitForValue(
      '5/5 in the thread',
      () => chat.thread(scaled),
      (texts) => (texts[0] ?? '').includes('Pods ready: 5/5'),
      { ...labWait, timeoutMs: 10_000 },
    );
  });

  it("refuses what the subset does not allow, and another learner's lab", async () => {
    await chat.type('kubectl get pods -n kube-system', 'ada');
    expect(lastAnswer()).toBe('✖ Every command runs in your own lab namespace, so -n/--namespace is not allowed.');
    await chat.type('kubectl exec -it x -- sh', 'ada');
    expect(lastAnswer()).toBe(
      '✖ Running commands inside containers (kubectl exec) is not available in labs. You can use: get, describe, logs, scale, delete pod, rollout status|history|undo.',
    );
    await chat.type('kubectl get pods', 'mallory');
    expect(lastAnswer()).toMatch(/^✖ You have no lab yet/);
  });
});

describe('pods the cluster refuses', () => {
  it('explains a scale-up beyond the lab quota in plain words', async () => {
    // The lab namespace's quota holds the lesson's pod limit; 10 replicas of 64Mi exceed a 512Mi ceiling.
    const tight = await startLabHarness({ redisDb: 12, kubelet: 'virtual', env: { LABBOT_CEILING_MEMORY: '512Mi' } });
    try {
      await tight.startRunner();
      const tightChat = await tight.startChat();
      await tightChat.type('start docker-vs-kubernetes', 'ada');
      await tight.waitForLab(labId, (lab) => lab.observed.phase === 'ready');
      await tightChat.type('kubectl scale deployment/hello --replicas=10', 'ada');
      const degraded = await tight.waitForLab(labId, (lab) => lab.observed.phase === 'degraded', 30_000);
      expect(degraded.observed.diagnosis?.reason).toBe('PendingQuota');
      const thread = await waitForValue(
        'the quota diagnosis in the thread',
        () => tightChat.thread(degraded),
        (texts) => (texts[0] ?? '').includes('PendingQuota'),
        { ...labWait, timeoutMs: 10_000 },
      );
      expect(thread[0]).toMatch(/quota/i);
    } finally {
      await tight.stop();
    }
  });
});
