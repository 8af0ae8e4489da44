// A class with a warm pool in the local chat (Redis DB 28, kube-sim with the virtual kubelet): labs prepared
// before learners arrive, handed over on Join (one per join) with their pods kept, refilled up to the class size,
// removed at class end, and nothing of a warm lab (labels, owner, thread) left to the learner who takes it.

import { AppsV1Api, CoreV1Api, NetworkingV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import type { TerminalChatAdapter } from '@labbot/chat-terminal';
import { isWarmOwner, type LabRecord, labIdFor, ownerKeyFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { createWarmPoolStore } from '@labbot/store';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassChat, startClassChat } from './class-chat.js';
import { type LabHarness, readyWithOutput, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const LESSON = `class-warm-${Date.now().toString(36)}`;
/** The same lesson whose one-off container prints only after 20 s: its warm labs wait that long for their output. */
const SLOW_LESSON = `${LESSON}-slow`;
const wait = { timeoutMs: 60_000, intervalMs: 100 };

let harness: LabHarness;
let runner: Runner;
let adapter: TerminalChatAdapter;
let chat: ClassChat;
let lessons: ReturnType<typeof makeLessonsDir>;
let classId = '';

const say = (line: string) => adapter.handleLine(line);
const owner = (userId: string) => ({ platform: 'local' as const, workspaceId: 'local', userId });
const labOf = (userId: string) => labIdFor({ ...owner(userId), lessonId: LESSON });
const core = () => harness.kubeConfig.makeApiClient(CoreV1Api);
const apps = () => harness.kubeConfig.makeApiClient(AppsV1Api);
const pool = () => createWarmPoolStore({ redis: harness.redis });
const warmLabs = async () =>
  (await harness.store.listByClass(classId)).filter(
    (lab) => isWarmOwner(lab.owner) && lab.classId === classId && lab.desired.state === 'running',
  );
const classNamespaces = async () =>
  (await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items.filter(
    (ns) => ns.status?.phase !== 'Terminating',
  );

/**
 * Nothing of the warm lab is left on a learner's lab: the namespace is labelled for the learner, the record is theirs,
 * and the Deployment, its selector and pods name no lab or learner at all (only the lesson and app).
 */
async function expectOwnedBy(userId: string): Promise<LabRecord> {
  const labId = labOf(userId);
  // Ready from the join on; handed over once the runner relabelled the namespace (the pod watch then follows it).
  const lab = await harness.waitForLab(
    labId,
    (record) =>
      record.observed.phase === 'ready' &&
      record.observed.handedOver === undefined &&
      record.observed.pods.length === 3,
  );
  expect(lab.owner).toEqual(owner(userId));
  const namespace = await core().readNamespace({ name: lab.namespace });
  const labels = namespace.metadata?.labels ?? {};
  expect(labels['labbot.dev/lab']).toBe(labId);
  expect(labels['labbot.dev/owner']).toBe(ownerKeyFor(owner(userId)));
  expect(labels['labbot.dev/class']).toBe(classId);
  expect(labels['labbot.dev/warm']).toBeUndefined();
  const perLab = (values: Record<string, string> | undefined) =>
    Object.keys(values ?? {}).filter((key) => key === 'labbot.dev/lab' || key === 'labbot.dev/owner');
  const deployments = (await apps().listNamespacedDeployment({ namespace: lab.namespace })).items;
  expect(deployments).toHaveLength(1);
  for (const deployment of deployments) {
    expect(perLab(deployment.metadata?.labels)).toEqual([]);
    expect(perLab(deployment.spec?.selector?.matchLabels)).toEqual([]);
    expect(perLab(deployment.spec?.template.metadata?.labels)).toEqual([]);
  }
  const pods = (await core().listNamespacedPod({ namespace: lab.namespace })).items;
  expect(pods).toHaveLength(3);
  for (const pod of pods) expect(perLab(pod.metadata?.labels)).toEqual([]);
  // The guard rails stay as the warm lab had them (the handover relabels the Namespace alone): they name no lab.
  const inNamespace = { namespace: lab.namespace };
  const rbac = harness.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const guardRails = [
    ...(await core().listNamespacedResourceQuota(inNamespace)).items,
    ...(await core().listNamespacedLimitRange(inNamespace)).items,
    ...(await core().listNamespacedServiceAccount(inNamespace)).items.filter((sa) => sa.metadata?.name !== 'default'),
    ...(await harness.kubeConfig.makeApiClient(NetworkingV1Api).listNamespacedNetworkPolicy(inNamespace)).items,
    ...(await rbac.listNamespacedRole(inNamespace)).items,
    ...(await rbac.listNamespacedRoleBinding(inNamespace)).items,
  ];
  expect(guardRails.length).toBeGreaterThanOrEqual(8);
  for (const object of guardRails) expect(perLab(object.metadata?.labels)).toEqual([]);
  return lab;
}

beforeAll(async () => {
  lessons = makeLessonsDir([
    { id: LESSON },
    {
      id: SLOW_LESSON,
      lessonYaml: (yaml) =>
        yaml.replace(
          'command: ["/bin/sh", "/app/hello.sh"]',
          'command: ["/bin/sh", "-c", "sleep 20; /bin/sh /app/hello.sh"]',
        ),
    },
  ]);
  harness = await startLabHarness({ redisDb: 28, kubelet: 'virtual', env: { LABBOT_LESSONS_DIR: lessons.dir } });
  runner = await harness.startRunner();
  chat = await startClassChat(harness, {
    name: 'class-warm',
    classes: { ...harness.config.classes, maxLearners: 10, maxConcurrentProvisions: 4 },
  });
  adapter = chat.adapter;
}, 180_000);

afterAll(async () => {
  await chat?.stop();
  await harness?.stop();
  await lessons?.remove();
});

describe('a class with a warm pool', () => {
  const taken = new Set<string>();

  it('warm=2 prepares two labs before anyone joins: owned by nobody, labelled warm for the class, ready', async () => {
    await say(`/lab class start ${LESSON} 30 6 warm=2`);
    const reply = adapter.channelTexts().at(-1) ?? '';
    expect(reply).toMatch(/2 warm labs are being prepared/);
    classId = /Class ([0-9a-f]{10})/.exec(reply)?.[1] ?? '';
    const ready = await waitForValue(
      'two ready warm labs',
      warmLabs,
      // Ready with the container's output in: a warm lab still waiting for it is not handed over.
      (labs) => labs.length === 2 && labs.every(readyWithOutput),
      wait,
    );
    for (const lab of ready) {
      expect(lab.threadId).toBeUndefined();
      const ns = await core().readNamespace({ name: lab.namespace });
      expect(ns.metadata?.labels?.['labbot.dev/warm']).toBe(classId);
    }
    expect((await pool().list(classId)).sort()).toEqual(ready.map((lab) => lab.labId).sort());
  });

  it('a join takes a warm lab: its namespace, relabelled to the learner, in their own thread; the pool refills', async () => {
    const before = new Set((await warmLabs()).map((lab) => lab.namespace));
    await say('as ann: /lab class join');
    // A janitor sweep right after the handover must not take the namespace for an orphan.
    await runner.janitor.sweep();
    const lab = await expectOwnedBy('ann');
    expect(before.has(lab.namespace)).toBe(true);
    taken.add(lab.namespace);
    expect(lab.threadId).toBeDefined();
    await waitForValue(
      "ann's thread showing her lab",
      () => adapter.threadTexts(lab.threadId ?? '').join('\n'),
      (text) => text.includes(lab.labId),
      wait,
    );
    await waitForValue(
      'the pool back at 2',
      warmLabs,
      (labs) => labs.length === 2 && labs.every((warm) => !taken.has(warm.namespace)),
      wait,
    );
  });

  it('a join keeps the warm lab as it runs: the same pods and Deployment, never in the provision line, 3/3 shown at once', async () => {
    // The pool's first lab ready to hand over (the one refilled after ann's join may still be coming).
    const warm = await waitForValue(
      'the first warm lab ready with its output',
      async () => {
        const [next] = await pool().list(classId);
        return next ? await harness.store.get(next) : undefined;
      },
      (lab) => lab !== undefined && readyWithOutput(lab),
      wait,
    );
    const namespace = warm?.namespace ?? '';
    const podIds = async () =>
      (await core().listNamespacedPod({ namespace })).items
        .map((pod) => `${pod.metadata?.name}/${pod.metadata?.uid}`)
        .sort();
    const deploymentIds = async () =>
      (await apps().listNamespacedDeployment({ namespace })).items.map((d) => d.metadata?.uid);
    const podsBefore = await podIds();
    const deploymentsBefore = await deploymentIds();
    expect(podsBefore).toHaveLength(3);

    await say('as eve: /lab class join');
    const labId = labOf('eve');
    // Not in the provision line right after the join, and never given a provision slot.
    expect(await harness.redis.zscore(`labbot:class:${classId}:line`, labId)).toBeNull();
    const lab = await expectOwnedBy('eve');
    expect(lab.namespace).toBe(namespace);
    taken.add(namespace);
    expect(await podIds()).toEqual(podsBefore);
    expect(await deploymentIds()).toEqual(deploymentsBefore);
    const actions = (await harness.store.history(labId)).map((entry) => entry.action);
    expect(actions).toContain('class.warm-taken');
    expect(actions).not.toContain('class.provisioning');
    expect(await harness.redis.hget(`labbot:class:${classId}:granted`, labId)).toBeNull();
    // The learner's thread shows the pods ready: the lab was ready when it was handed over.
    await waitForValue(
      "eve's thread showing 3/3",
      () => adapter.threadTexts(lab.threadId ?? '').join('\n'),
      (text) => /Pods ready: 3\/3/.test(text),
      wait,
    );
    await waitForValue('the pool back at 2', warmLabs, (labs) => labs.length === 2, wait);
  });

  it('two joins at once get two different warm labs', async () => {
    // Both warm labs ready to hand over first (the one refilled after eve's join may still be coming).
    await waitForValue(
      'two warm labs ready with their output',
      async () => Promise.all((await pool().list(classId)).map((labId) => harness.store.get(labId))),
      (labs) => labs.length === 2 && labs.every((lab) => lab !== undefined && readyWithOutput(lab)),
      wait,
    );
    await Promise.all([say('as ben: /lab class join'), say('as cleo: /lab class join')]);
    const ben = await expectOwnedBy('ben');
    const cleo = await expectOwnedBy('cleo');
    for (const labId of [ben.labId, cleo.labId])
      expect((await harness.store.history(labId)).map((entry) => entry.action)).toContain('class.warm-taken');
    expect(ben.namespace).not.toBe(cleo.namespace);
    for (const namespace of [ben.namespace, cleo.namespace]) {
      expect(taken.has(namespace)).toBe(false);
      taken.add(namespace);
    }
  });

  it('the pool refills only up to the class size', async () => {
    await say('as dev: /lab class join');
    const dev = await expectOwnedBy('dev');
    expect(taken.has(dev.namespace)).toBe(false);
    // 5 of 6 places taken: at most 1 warm lab may wait.
    const left = await waitForValue('the pool at the class size', warmLabs, (labs) => labs.length <= 1, wait);
    for (const lab of left) expect(lab.observed.phase, JSON.stringify(lab.observed.error)).not.toBe('failed');
    expect((await warmLabs()).length + 5).toBeLessThanOrEqual(6);
  });

  it('class end removes the unclaimed warm labs with every other lab of the class', async () => {
    await say('/lab class end');
    expect(adapter.channelTexts().at(-1)).toMatch(/ended/);
    expect(await pool().list(classId)).toEqual([]);
    await waitForValue('no namespace of the class', classNamespaces, (items) => items.length === 0, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    expect(await warmLabs()).toEqual([]);
  });
});

describe('a class whose warm labs are still being prepared', () => {
  it('learners who join meanwhile take the cold path, and the pool shrinks so the class keeps its size', async () => {
    // 2 places, 2 warm labs; their one-off containers print after 20 s, so no warm lab can be handed over before.
    await say(`/lab class start ${SLOW_LESSON} 30 2 warm=2`);
    classId = /Class ([0-9a-f]{10})/.exec(adapter.channelTexts().at(-1) ?? '')?.[1] ?? '';
    expect(classId).not.toBe('');
    expect(await warmLabs()).toHaveLength(2);

    await say('as fay: /lab class join');
    const fay = labIdFor({ ...owner('fay'), lessonId: SLOW_LESSON });
    expect((await harness.store.history(fay)).map((entry) => entry.action)).not.toContain('class.warm-taken');
    // 1 learner and 2 warm labs would be 3 labs for 2 places: one warm lab goes.
    await waitForValue('one warm lab left for the one place left', warmLabs, (labs) => labs.length === 1, wait);

    await say('as gus: /lab class join');
    const gus = labIdFor({ ...owner('gus'), lessonId: SLOW_LESSON });
    expect((await harness.store.history(gus)).map((entry) => entry.action)).not.toContain('class.warm-taken');
    await waitForValue('no warm lab left in a full class', warmLabs, (labs) => labs.length === 0, wait);
    expect(await pool().list(classId)).toEqual([]);
    // Both learners get their labs all the same.
    for (const labId of [fay, gus]) await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready');

    await say('/lab class end');
    await waitForValue('no namespace of the class', classNamespaces, (items) => items.length === 0, {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
  });
});
