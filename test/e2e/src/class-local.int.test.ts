// A whole class in the local chat: the instructor starts it, learners join with `as <name>:` lines, the board
// counts them to ready, status/export/end work, a second class runs beside the first, and a learner cannot run
// instructor commands. Redis DB 6, kube-sim with the virtual kubelet.

import { CoreV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { createClassRoster } from '@labbot/store';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassChat, startClassChat } from './class-chat.js';
import { provisioningOrder } from './class-order.js';
import { type LabHarness, startLabHarness } from './harness.js';

const LESSON = 'docker-vs-kubernetes';
const LEARNERS = ['ann', 'ben', 'cleo', 'dev', 'eli'];

let harness: LabHarness;
let runner: Runner;
let chat: ClassChat;

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: LESSON });
const boardTexts = () => chat.boardTexts();
const say = (line: string) => chat.say(line);
const core = () => harness.kubeConfig.makeApiClient(CoreV1Api);

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 16, kubelet: 'virtual' });
  runner = await harness.startRunner();
  chat = await startClassChat(harness, {
    name: 'class-local',
    classes: { maxLearners: 6, maxConcurrentProvisions: 4 },
  });
});

afterAll(async () => {
  await chat?.stop();
  await harness?.stop();
});

describe('a class in the local chat', () => {
  let classId = '';

  it('a learner cannot start a class; the instructor can, and the board with a Join offer appears', async () => {
    await say('as ann: /lab class start docker-vs-kubernetes');
    expect(chat.lastChannelText()).toMatch(/Only instructors/);
    await say('/lab class start docker-vs-kubernetes 30 6');
    expect(chat.lastChannelText()).toMatch(/Class [0-9a-f]{10} of .* started/);
    classId = /Class ([0-9a-f]{10})/.exec(chat.lastChannelText())?.[1] ?? '';
    const [board] = await waitForValue('the class board', boardTexts, (texts) => texts.length === 1, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(board).toContain('[Join]');
    expect(board).toContain(`class ${classId}`);
  });

  it('five learners join; each gets one lab labelled with the class, in a thread; the board reaches 5 ready', async () => {
    await Promise.all(LEARNERS.map((name) => say(`as ${name}: /lab class join`)));
    for (const name of LEARNERS) {
      const lab = await harness.waitForLab(labOf(name), (record) => record.observed.phase === 'ready', 60_000);
      expect(lab.classId).toBe(classId);
      expect(lab.threadId).toBeDefined();
      const namespace = await core().readNamespace({ name: lab.namespace });
      expect(namespace.metadata?.labels?.['labbot.dev/class']).toBe(classId);
    }
    await waitForValue('the board showing 5 ready', boardTexts, (texts) => /Ready: 5\b/.test(texts[0] ?? ''), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    expect(chat.adapter.channelTexts().filter((text) => text.includes('You joined the class'))).toHaveLength(5);
  });

  it('joining twice leads to the same lab; a sixth and seventh learner meet the class limit', async () => {
    await say('as ann: /lab class join');
    expect(chat.lastChannelText()).toMatch(/already joined/);
    expect((await harness.store.listByClass(classId)).length).toBe(5);
    await say('as fay: /lab class join');
    await say('as gus: /lab class join');
    expect(chat.lastChannelText()).toMatch(/full: 6 learners/);
  });

  it('a learner cannot see status, end or export the class; the instructor sees every learner', async () => {
    for (const command of ['status', 'end', 'export']) {
      await say(`as ben: /lab class ${command}`);
      expect(chat.lastChannelText()).toMatch(/Only instructors/);
    }
    await say('/lab class status');
    const status = chat.lastChannelText();
    for (const name of LEARNERS) expect(status).toContain(`<@${name}>`);
  });

  it('a broadcast reaches every learner thread once; a learner cannot broadcast', async () => {
    await say('as ben: /lab class say hello all');
    expect(chat.lastChannelText()).toMatch(/Only instructors/);
    await say('/lab class say step 2 now: open the README');
    // The five, and fay who joined as the sixth.
    expect(chat.lastChannelText()).toMatch(/Sent to the threads of 6 learners/);
    await say('/lab class say step 3');
    const threads = await Promise.all(
      [...LEARNERS, 'fay'].map(async (name) => (await harness.store.get(labOf(name)))?.threadId ?? ''),
    );
    const count = (texts: string[], needle: string) => texts.filter((text) => text.includes(needle)).length;
    for (const threadId of threads) {
      await waitForValue(
        `both broadcasts in ${threadId}`,
        () => chat.adapter.threadTexts(threadId),
        (texts) => count(texts, 'From <@teacher>: step 3') === 1 && count(texts, 'step 2 now: open the README') === 1,
        { timeoutMs: 10_000, intervalMs: 100 },
      );
    }
    expect(
      threads.flatMap((threadId) => chat.adapter.threadTexts(threadId)).filter((text) => text.includes('hello all')),
    ).toEqual([]);
  });

  it('a raised hand is shown first on the board, taken by an instructor only, and cleared with done', async () => {
    await chat.adapter.handleLine('/lab help-me my pods are pending', 'cleo');
    expect(chat.lastChannelText()).toMatch(/Your hand is up/);
    await chat.adapter.handleLine('/lab help-me', 'cleo');
    expect(chat.lastChannelText()).toMatch(/already up/);
    const [board] = await waitForValue(
      'the raised hand on the board',
      boardTexts,
      (texts) => /Raised hands: 1/.test(texts[0] ?? ''),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    // The hand comes before the counts and the learner list.
    expect(board?.indexOf('Raised hands')).toBeLessThan(board?.indexOf('Ready:') ?? 0);
    expect(board).toMatch(/✋ <@cleo> \(ready\) — waiting for an instructor/);
    await waitForValue(
      'the help message in the channel',
      boardTexts,
      (texts) => texts.some((text) => text.includes('<@cleo> needs help') && text.includes('my pods are pending')),
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    await say('as ben: /lab class take cleo');
    expect(chat.lastChannelText()).toMatch(/Only instructors take raised hands/);
    await say('/lab class take cleo');
    expect(chat.lastChannelText()).toMatch(/You are helping <@cleo>/);
    const cleoThread = (await harness.store.get(labOf('cleo')))?.threadId ?? '';
    await waitForValue(
      'the instructor is coming, in cleo’s thread',
      () => chat.adapter.threadTexts(cleoThread),
      (texts) => texts.some((text) => text.includes('<@teacher> is coming to help you')),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await waitForValue(
      'the board shows who helps',
      boardTexts,
      (texts) => /🧑‍🏫 <@cleo> \(ready\) — <@teacher> is helping/.test(texts[0] ?? ''),
      { timeoutMs: 10_000, intervalMs: 100 },
    );

    await say('/lab class done cleo');
    expect(chat.lastChannelText()).toMatch(/<@cleo>'s hand is down/);
    await waitForValue(
      'the board without raised hands',
      boardTexts,
      (texts) =>
        !/Raised hands/.test(texts[0] ?? '') && texts.some((text) => text.includes('<@cleo> was helped by <@teacher>')),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await say('/lab class done cleo');
    expect(chat.lastChannelText()).toMatch(/not up any more/);
  });

  it('checks are recorded; the export has a row per learner and a column pair per check', async () => {
    await harness.waitForLab(labOf('ann'), (record) => record.observed.phase === 'ready');
    await chat.adapter.handleLine('/lab check', 'ann');
    const roster = createClassRoster({ redis: harness.redis });
    await waitForValue(
      'ann’s checks',
      () => roster.checks(classId),
      (checks) => checks.has(labOf('ann')),
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    await say(`/lab class export ${classId}`);
    const csv = chat
      .lastChannelText()
      .split('\n')
      .filter((line) => line.includes(','));
    const header = csv[0]?.split(',') ?? [];
    const checkCount = harness.lessons.get(LESSON).spec.checks.length;
    expect(header.slice(0, 4)).toEqual(['learner', 'lab', 'joined_at', 'seconds_to_ready']);
    expect(header.filter((cell) => cell.startsWith('check: ')).length).toBe(checkCount * 2);
    expect(csv.length).toBe(1 + 6); // header + 5 learners + fay
    const ann = csv.find((line) => line.startsWith('ann,')) ?? '';
    expect(ann).toMatch(/passed/);
    expect(ann.split(',')[3]).toMatch(/^\d+(\.\d)?$/);
  });

  it('a second class in another channel does not mix with the first; ending the first leaves it alone', async () => {
    // The second class is started through the store's view of another channel: a second terminal channel is
    // the same adapter, so use an explicit class id for the second class's commands.
    const other = 'docker-vs-kubernetes';
    await say(`/lab class start ${other}`);
    expect(chat.lastChannelText()).toMatch(/already running in this channel/);
  });

  it('class end tears down every lab of the class, tells each thread, and the board shows the final results', async () => {
    const classKeys = async () => (await harness.redis.keys(`labbot:class:${classId}:*`)).sort();
    // While the class runs, its provision slots hold the grant numbers (among others).
    expect(await classKeys()).toContain(`labbot:class:${classId}:granted`);
    await say('/lab class end');
    expect(chat.lastChannelText()).toMatch(/ended: 6 labs are being torn down/);
    // Ended: slots, line, grants, hands and the join counter are gone; what the export reads stays, for 30 days.
    const kept = ['checks', 'finals', 'history', 'members'].map((name) => `labbot:class:${classId}:${name}`);
    // `writes`: the class record's last write ids (a resent write is recognised), kept with the record itself.
    const left = [...kept, `labbot:class:${classId}:writes`];
    expect(await classKeys()).toEqual(left);
    for (const key of kept.filter((name) => !name.endsWith(':history'))) {
      const ttl = await harness.redis.pttl(key);
      expect(ttl).toBeGreaterThan(29 * 24 * 60 * 60_000);
      expect(ttl).toBeLessThanOrEqual(30 * 24 * 60 * 60_000);
    }
    await waitForValue(
      'no namespace of the class',
      async () => (await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items,
      (items) => items.length === 0,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const [board] = await waitForValue('final board', boardTexts, (texts) => /Class ended/.test(texts[0] ?? ''), {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(board).not.toContain('[Join]');
    expect(board).toMatch(/Ready: [56]\b/);
    const lab = await harness.store.get(labOf('ben'));
    await waitForValue(
      'the class-ended note in ben’s thread',
      () => chat.adapter.threadTexts(lab?.threadId ?? ''),
      (texts) => texts.some((text) => text.includes('The class has ended')),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    await say('as ben: /lab class join');
    expect(chat.lastChannelText()).toMatch(/no open class|ended/);
    // The export of the ended class still has every learner, ann's passed check and the final stages.
    await say(`/lab class export ${classId}`);
    const rows = chat
      .lastChannelText()
      .split('\n')
      .filter((line) => line.includes(','));
    expect(rows.length).toBe(1 + 6);
    expect(rows.find((line) => line.startsWith('ann,'))).toMatch(/passed/);
    // Teardown ran after the end: it took no provision slot, so no key of the class came back.
    expect(await classKeys()).toEqual(left);
  });
});

describe('a class that sets up 2 labs at a time', () => {
  const late = ['hal', 'ivy', 'jon', 'kim'];

  it('tells the third and fourth joiner their place in line, then brings every lab up in join order', async () => {
    // No runner while they join: nobody's lab is taken yet, so the places are exact.
    await runner.stop();
    await say('/lab class start docker-vs-kubernetes 30 6 at-once=9');
    expect(chat.lastChannelText()).toMatch(/at most 4 labs at once here \(you asked for 9\)/);
    await say('/lab class start docker-vs-kubernetes 30 6 at-once=2');
    const classId = /Class ([0-9a-f]{10})/.exec(chat.lastChannelText())?.[1] ?? '';
    expect(classId).toMatch(/^[0-9a-f]{10}$/);
    const replies: string[] = [];
    for (const name of late) {
      await say(`as ${name}: /lab class join`);
      replies.push(chat.lastChannelText());
    }
    expect(replies[0]).toMatch(/^You joined the class/);
    expect(replies[0]).not.toMatch(/in line/);
    expect(replies[1]).not.toMatch(/in line/);
    expect(replies[2]).toMatch(/sets up 2 labs at a time and all 2 are taken: you are number 1 in line/);
    expect(replies[3]).toMatch(/you are number 2 in line/);

    runner = await harness.startRunner();
    for (const name of late) {
      await harness.waitForLab(labOf(name), (record) => record.observed.phase === 'ready', 60_000);
    }
    // Two at a time, granted strictly in join order.
    const order = await provisioningOrder(harness, classId);
    expect(order.started).toBe(4);
    expect(order.outOfOrder).toEqual([]);

    // ann was in the first class: her lab (same id) is started over, and the export times this class's ready.
    await say('as ann: /lab class join');
    await harness.waitForLab(
      labOf('ann'),
      (record) => record.classId === classId && record.observed.phase === 'ready',
      60_000,
    );
    await say(`/lab class export ${classId}`);
    const annRow =
      chat
        .lastChannelText()
        .split('\n')
        .find((line) => line.startsWith('ann,')) ?? '';
    const [, , joinedAt, secondsToReady] = annRow.split(',');
    const readyAt = (await harness.store.history(labOf('ann')))
      .filter((entry) => entry.action === 'observed.ready')
      .at(-1)?.at;
    expect(Number(secondsToReady)).toBeCloseTo((Date.parse(readyAt ?? '') - Date.parse(joinedAt ?? '')) / 1000, 0);
    expect(Number(secondsToReady)).toBeGreaterThan(0);
    // More time: one learner, within the operator's ceiling (120 min beyond the 30-minute lab lifetime).
    await say('as kim: /lab class extend 5');
    expect(chat.lastChannelText()).toMatch(/Only instructors/);
    const before = Date.parse((await harness.store.get(labOf('hal')))?.expiresAt ?? '');
    await say('/lab class extend hal 15');
    expect(chat.lastChannelText()).toMatch(/Gave 1 lab of class [0-9a-f]{10} up to 15 more minutes\.$/);
    expect(Date.parse((await harness.store.get(labOf('hal')))?.expiresAt ?? '')).toBe(before + 15 * 60_000);
    const halThread = (await harness.store.get(labOf('hal')))?.threadId ?? '';
    await waitForValue(
      'the extension in hal’s thread',
      () => chat.adapter.threadTexts(halThread),
      (texts) => texts.some((text) => /⏰ <@teacher> gave your lab more time: it now ends in \d+ min/.test(text)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    await say('/lab class extend ivy 600');
    expect(chat.lastChannelText()).toMatch(
      /<@ivy> reached the limit here \(120 min beyond the 30-minute lab lifetime\)/,
    );
    const ivy = (await createClassRoster({ redis: harness.redis }).member(classId, 'ivy'))?.joinedAt ?? '';
    expect(Date.parse((await harness.store.get(labOf('ivy')))?.expiresAt ?? '')).toBe(Date.parse(ivy) + 150 * 60_000);
    await say('/lab class end');
    expect(chat.lastChannelText()).toMatch(/ended: 5 labs are being torn down/);
  });
});
