// A class on Slack end to end: signed requests from slack-sim → the real Bolt app (apps/slack wiring) → Redis (DB 9)
// → runner → kube-sim (virtual kubelet). 30 learners press Join within 2 s.

import { CoreV1Api } from '@kubernetes/client-node';
import { createLogger } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { type SlackBot, startSlackBot } from '@labbot/slack';
import {
  createSlackDriver,
  type JsonObject,
  type SlackDriver,
  type SlackSim,
  type SlackSimMessage,
  startSlackSim,
} from '@labbot/slack-sim';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisioningOrder } from './class-order.js';
import { type LabHarness, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const CHANNEL = 'C0LABS0001';
const LESSON = `class-slack-${Date.now().toString(36)}`;
const TEACHER = 'U0TEACHER1';
/** An instructor only through the instructor user group. */
const GROUP_TEACHER = 'U0GRPTCH01';
const INSTRUCTOR_GROUP = 'S0INSTRUCT';
const LEARNERS = Array.from({ length: 30 }, (_, i) => `U0LRN${String(i).padStart(4, '0')}`);

let slack: SlackSim;
let harness: LabHarness;
let bot: SlackBot;
let driver: SlackDriver;
let runner: Runner;
let lessons: ReturnType<typeof makeLessonsDir>;

const core = () => harness.kubeConfig.makeApiClient(CoreV1Api);
const labOf = (userId: string) => labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId, lessonId: LESSON });

/** What a user sees of a Slack message: the texts of its blocks. */
function visibleText(message: { text: string; blocks: JsonObject[] } | undefined): string {
  if (!message) return '';
  if (message.blocks.length === 0) return message.text;
  const textOf = (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as JsonObject)['text'] === 'string'
      ? String((value as JsonObject)['text'])
      : '';
  return message.blocks
    .flatMap((block) => [
      textOf(block['text']),
      ...(Array.isArray(block['elements']) ? block['elements'].map((e) => textOf(e) || textOf(e?.text)) : []),
      ...(Array.isArray(block['fields']) ? block['fields'].map(textOf) : []),
    ])
    .filter(Boolean)
    .join('\n');
}

/** The class message: a top-level bot message carrying the class title. */
const board = (): SlackSimMessage | undefined =>
  slack.channelMessages(CHANNEL).find((message) => !message.threadTs && /Class( ended)?:/.test(visibleText(message)));

const joinButton = (message: SlackSimMessage): string | undefined =>
  message.blocks
    .flatMap((block) => (Array.isArray(block['elements']) ? (block['elements'] as JsonObject[]) : []))
    .map((element) => element['action_id'])
    .find((id): id is string => typeof id === 'string' && id.startsWith('lab:join:'));

async function ephemeralAfter(userId: string, before: number, pattern: RegExp): Promise<string> {
  const [found] = await waitForValue(
    `an ephemeral answer to ${userId} matching ${pattern}`,
    () =>
      slack.ephemerals
        .slice(before)
        .filter((e) => e.user === userId)
        .map(visibleText)
        .filter((text) => pattern.test(text)),
    (texts) => texts.length > 0,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return found ?? '';
}

async function command(text: string, userId: string): Promise<void> {
  const answer = await driver.slashCommand({ text, userId, channelId: CHANNEL });
  expect(answer.status).toBe(200);
}

beforeAll(async () => {
  slack = await startSlackSim({ userGroups: [{ id: INSTRUCTOR_GROUP, users: [GROUP_TEACHER] }] });
  lessons = makeLessonsDir([{ id: LESSON }]);
  harness = await startLabHarness({
    redisDb: 17,
    kubelet: 'virtual',
    env: {
      LABBOT_LESSONS_DIR: lessons.dir,
      LABBOT_SLACK_BOT_TOKEN: slack.botToken,
      LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
      LABBOT_SLACK_API_URL: slack.apiUrl,
      LABBOT_INSTRUCTOR_USERS: TEACHER,
      LABBOT_INSTRUCTOR_SLACK_GROUPS: INSTRUCTOR_GROUP,
      LABBOT_MAX_ACTIVE_LABS: '100',
    },
  });
  runner = await harness.startRunner();
  bot = await startSlackBot(harness.config, {
    port: 0,
    logger: createLogger({ name: 'class-slack', level: process.env.LABBOT_TEST_LOG ?? 'silent' }),
  });
  driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${bot.adapter.port()}/slack/events`,
    signingSecret: slack.signingSecret,
    sim: slack,
  });
}, 180_000);

afterAll(async () => {
  await bot?.close();
  await harness?.stop();
  await slack?.stop();
  await lessons?.remove();
});

describe('a class of 30 on Slack', () => {
  let classId = '';
  let message: SlackSimMessage;

  it('refuses class commands from a learner', async () => {
    for (const text of [`class start ${LESSON}`, 'class status', 'class end', 'class export']) {
      const before = slack.ephemerals.length;
      await command(text, LEARNERS[0]!);
      await ephemeralAfter(LEARNERS[0]!, before, /Only instructors/);
    }
    expect(board()).toBeUndefined();
  });

  it('the instructor starts a class: a top-level class message with a Join button', async () => {
    const before = slack.ephemerals.length;
    await command(`class start ${LESSON} 30 40`, TEACHER);
    const text = await ephemeralAfter(TEACHER, before, /started/);
    classId = /Class ([0-9a-f]{10})/.exec(text)?.[1] ?? '';
    message = (await waitForValue('the class message', board, (found) => found !== undefined, {
      timeoutMs: 10_000,
      intervalMs: 100,
    })) as SlackSimMessage;
    expect(joinButton(message)).toBe(`lab:join:${classId}`);
  });

  it('30 learners press Join within 2 s: own labs and threads, one build, join order, the board reaches 30 ready', async () => {
    const buildsBefore = runner.builder.stats().builds;
    const before = slack.ephemerals.length;
    const presses: Promise<unknown>[] = [];
    for (const userId of LEARNERS) {
      presses.push(
        driver.blockAction({ actionId: `lab:join:${classId}`, userId, channelId: CHANNEL, messageTs: message.ts }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await Promise.all(presses);
    for (const userId of LEARNERS) {
      await ephemeralAfter(userId, before, /You joined the class/);
      const lab = await harness.waitForLab(labOf(userId), (record) => record.observed.phase === 'ready', 120_000);
      expect(lab.classId).toBe(classId);
      expect(lab.threadId).toMatch(/^slack:/);
    }
    await waitForValue(
      'the board showing 30 ready',
      () => visibleText(slack.message(CHANNEL, message.ts)),
      (text) => /Ready\*?\s*\n?\s*30\b/.test(text) || /Ready: 30\b/.test(text),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(runner.builder.stats().builds - buildsBefore).toBe(1);
    const order = await provisioningOrder(harness, classId);
    expect(order.started).toBe(30);
    expect(order.outOfOrder).toEqual([]);
    expect((await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items).toHaveLength(30);
    expect(slack.violations).toEqual([]);
  });

  it('a member of the instructor user group is an instructor (usergroups.users.list); a learner is not', async () => {
    expect(
      slack.calls.filter((call) => call.method === 'usergroups.users.list').map((call) => call.body),
    ).toContainEqual({ usergroup: INSTRUCTOR_GROUP });
    const before = slack.ephemerals.length;
    await command('class status', GROUP_TEACHER);
    const status = await ephemeralAfter(GROUP_TEACHER, before, /joined/);
    expect(status).toMatch(/30 joined, 30 ready/);
    // An instructor by group, but not this class's: may look, may not end it.
    await command('class end', GROUP_TEACHER);
    await ephemeralAfter(GROUP_TEACHER, before, /Only the instructor who started/);
  });

  it('a broadcast reaches each of the 30 threads once', async () => {
    const before = slack.ephemerals.length;
    await command('class say step 2 now', TEACHER);
    await ephemeralAfter(TEACHER, before, /Sent to the threads of 30 learners/);
    const threads = await Promise.all(
      LEARNERS.map(async (userId) => (await harness.store.get(labOf(userId)))?.threadId?.split(':')[3] ?? ''),
    );
    for (const threadTs of threads) {
      await waitForValue(
        `the broadcast in thread ${threadTs}`,
        () => slack.threadReplies(CHANNEL, threadTs).map(visibleText),
        (texts) => texts.some((text) => text.includes(`From <@${TEACHER}>: step 2 now`)),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
    }
    // Once per thread, however the outbox delivered it.
    for (const threadTs of threads) {
      const copies = slack
        .threadReplies(CHANNEL, threadTs)
        .filter((reply) => visibleText(reply).includes('step 2 now'));
      expect(copies).toHaveLength(1);
    }
  });

  it('Need help: the hand is on the board, two instructors press Take at once and one gets it, Done clears it', async () => {
    const learner = LEARNERS[7]!;
    const labId = labOf(learner);
    const before = slack.ephemerals.length;
    await driver.blockAction({
      actionId: `lab:help:${labId}`,
      userId: learner,
      channelId: CHANNEL,
      messageTs: message.ts,
    });
    await ephemeralAfter(learner, before, /Your hand is up/);
    await waitForValue(
      'the raised hand on the board',
      () => visibleText(slack.message(CHANNEL, message.ts)),
      (text) => text.includes('Raised hands: 1') && text.includes(`<@${learner}>`),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    // A learner cannot take it; both instructors press Take together.
    await driver.blockAction({
      actionId: `lab:take:${labId}`,
      userId: LEARNERS[8]!,
      channelId: CHANNEL,
      messageTs: message.ts,
    });
    await ephemeralAfter(LEARNERS[8]!, before, /Only instructors take raised hands/);
    const takers = [TEACHER, GROUP_TEACHER];
    await Promise.all(
      takers.map((userId) =>
        driver.blockAction({ actionId: `lab:take:${labId}`, userId, channelId: CHANNEL, messageTs: message.ts }),
      ),
    );
    const answers = await Promise.all(
      takers.map((userId) => ephemeralAfter(userId, before, /You are helping|already helping/)),
    );
    expect(answers.filter((answer) => /You are helping/.test(answer))).toHaveLength(1);
    const helper = takers[answers.findIndex((answer) => /You are helping/.test(answer))]!;
    expect(answers.find((answer) => /already helping/.test(answer))).toContain(`<@${helper}> is already helping`);
    const threadTs = (await harness.store.get(labId))?.threadId?.split(':')[3] ?? '';
    await waitForValue(
      'who is coming, in the learner’s thread',
      () => slack.threadReplies(CHANNEL, threadTs).map(visibleText),
      (texts) => texts.filter((text) => text.includes(`<@${helper}> is coming to help you`)).length === 1,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    await driver.blockAction({
      actionId: `lab:done:${labId}`,
      userId: helper,
      channelId: CHANNEL,
      messageTs: message.ts,
    });
    await ephemeralAfter(helper, before, /hand is down/);
    await waitForValue(
      'the board without raised hands',
      () => visibleText(slack.message(CHANNEL, message.ts)),
      (text) => !text.includes('Raised hands'),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(slack.violations).toEqual([]);
  });

  it('the instructor gives one learner more time: the expiry moves and their thread is told', async () => {
    const learner = LEARNERS[2]!;
    const before = Date.parse((await harness.store.get(labOf(learner)))?.expiresAt ?? '');
    const seen = slack.ephemerals.length;
    await command(`class extend <@${learner}> 10`, TEACHER);
    await ephemeralAfter(TEACHER, seen, /Gave 1 lab of class/);
    expect(Date.parse((await harness.store.get(labOf(learner)))?.expiresAt ?? '')).toBe(before + 10 * 60_000);
    const threadTs = (await harness.store.get(labOf(learner)))?.threadId?.split(':')[3] ?? '';
    await waitForValue(
      'the extension in the thread',
      () => slack.threadReplies(CHANNEL, threadTs).map(visibleText),
      (texts) => texts.some((text) => text.includes(`<@${TEACHER}> gave your lab more time`)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  });

  it('joining twice leads to the same lab', async () => {
    const before = slack.ephemerals.length;
    await driver.blockAction({
      actionId: `lab:join:${classId}`,
      userId: LEARNERS[5]!,
      channelId: CHANNEL,
      messageTs: message.ts,
    });
    await ephemeralAfter(LEARNERS[5]!, before, /already joined/);
    expect(await harness.store.listByClass(classId)).toHaveLength(30);
  });

  it('class end: no namespace of the class remains, the threads are told, the board shows the final results', async () => {
    const before = slack.ephemerals.length;
    await command('class end', TEACHER);
    await ephemeralAfter(TEACHER, before, /ended: 30 labs/);
    await waitForValue(
      'no namespace of the class',
      async () => (await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items.length,
      (count) => count === 0,
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    const final = await waitForValue(
      'the final board',
      () => slack.message(CHANNEL, message.ts),
      (found) => /Class ended/.test(visibleText(found)),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(final && joinButton(final)).toBeUndefined();
    const lab = await harness.store.get(labOf(LEARNERS[0]!));
    const threadTs = lab?.threadId?.split(':')[3] ?? '';
    await waitForValue(
      'the class-ended note in the thread',
      () => slack.threadReplies(CHANNEL, threadTs).map(visibleText),
      (texts) => texts.some((text) => text.includes('The class has ended')),
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(slack.violations).toEqual([]);
  });
});
