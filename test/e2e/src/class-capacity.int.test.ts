// The capacity check before a class: kube-sim with one node of 110 pods, a lesson of 3 replicas. A class that
// cannot fit is refused with one sentence (local chat and Slack), one close to full starts with a warning, and
// the room counts what running labs already take. Redis DB 27, virtual kubelet.

import { PassThrough } from 'node:stream';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { type ChatService, startChatService } from '@labbot/commands';
import { createLogger } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import { type SlackBot, startSlackBot } from '@labbot/slack';
import { createSlackDriver, type JsonObject, type SlackDriver, type SlackSim, startSlackSim } from '@labbot/slack-sim';
import { createCapacityReports } from '@labbot/store';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

const LESSON = `class-capacity-${Date.now().toString(36)}`;
const TEACHER = 'U0TEACHER1';
const logger = createLogger({ name: 'class-capacity', level: process.env.LABBOT_TEST_LOG ?? 'silent' });

let harness: LabHarness;
let adapter: TerminalChatAdapter;
let service: ChatService;
let slack: SlackSim;
let bot: SlackBot;
let driver: SlackDriver;
let lessons: ReturnType<typeof makeLessonsDir>;

const say = (line: string) => adapter.handleLine(line);
const lastChannelText = () => adapter.channelTexts().at(-1) ?? '';
const boardTexts = () => adapter.threadTexts('local:local:terminal:terminal');

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
    ])
    .filter(Boolean)
    .join('\n');
}

async function slackCommand(text: string, channelId: string): Promise<string> {
  const before = slack.ephemerals.length;
  const answer = await driver.slashCommand({ text, userId: TEACHER, channelId });
  expect(answer.status).toBe(200);
  const [found] = await waitForValue(
    `an answer to "${text}"`,
    () =>
      slack.ephemerals
        .slice(before)
        .filter((e) => e.user === TEACHER)
        .map(visibleText),
    (texts) => texts.length > 0,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return found ?? '';
}

beforeAll(async () => {
  slack = await startSlackSim();
  lessons = makeLessonsDir([{ id: LESSON }]);
  harness = await startLabHarness({
    redisDb: 27,
    kubelet: 'virtual',
    nodes: { count: 1, podsPerNode: 110 },
    env: {
      LABBOT_LESSONS_DIR: lessons.dir,
      LABBOT_SLACK_BOT_TOKEN: slack.botToken,
      LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
      LABBOT_SLACK_API_URL: slack.apiUrl,
      LABBOT_INSTRUCTOR_USERS: TEACHER,
    },
  });
  await harness.startRunner({
    attempts: 3,
    backoffMs: 200,
    janitorIntervalMs: 0,
    orphanGraceMs: 0,
    watchDebounceMs: 100,
    capacityIntervalMs: 200,
  });
  const output = new PassThrough();
  output.resume();
  adapter = new TerminalChatAdapter({ input: new PassThrough(), output, userId: 'teacher', roles: ['instructor'] });
  service = await startChatService({
    adapter,
    redis: harness.redis,
    store: harness.store,
    lessons: harness.lessons,
    instructorRoles: ['instructor'],
    limits: harness.config.limits,
    classes: { limits: { maxLearners: 100, maxConcurrentProvisions: 4 }, boardIntervalMs: 300 },
    logger,
    minEditIntervalMs: 100,
  });
  bot = await startSlackBot(harness.config, { port: 0, logger });
  driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${bot.adapter.port()}/slack/events`,
    signingSecret: slack.signingSecret,
    sim: slack,
  });
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await bot?.close();
  await harness?.stop();
  await slack?.stop();
  await lessons?.remove();
});

describe('the capacity check before a class', () => {
  it('kube-sim reports its node with the allocatable it was given', async () => {
    const nodes = (await (await harness.sim.fetch('/api/v1/nodes')).json()) as {
      items: { metadata: { name: string }; status: { allocatable: Record<string, string> } }[];
    };
    expect(nodes.items.map((node) => [node.metadata.name, node.status.allocatable['pods']])).toEqual([
      ['sim-node-1', '110'],
    ]);
  });

  it('local chat: a class of 40 learners × 3 pods is refused with one sentence, and no class starts', async () => {
    await say(`/lab class start ${LESSON} 30 40`);
    expect(lastChannelText()).toContain(
      'This class needs 120 pods but the cluster has room for 110 more: lower max learners to 36 or add nodes.',
    );
    expect(boardTexts()).toEqual([]);
    expect(await harness.store.listClasses()).toEqual([]);
  });

  it('local chat: a class of 30 (90 of 110 pods) starts with a warning; a learner gets a ready lab', async () => {
    await say(`/lab class start ${LESSON} 30 30`);
    expect(lastChannelText()).toMatch(/Class [0-9a-f]{10} of .* started/);
    expect(lastChannelText()).toContain('Close to full: this class would take 82% of the pods');
    await say('as ann: /lab class join');
    const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ann', lessonId: LESSON });
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 60_000);
  });

  it('Slack: the room left is what running labs do not take; a class over it is refused, one within it starts', async () => {
    const reports = createCapacityReports({ redis: harness.redis });
    await waitForValue(
      'a capacity report counting the 3 running pods',
      () => reports.latest(),
      (report) => report?.free.pods === 107,
      { timeoutMs: 15_000, intervalMs: 100 },
    );
    const refused = await slackCommand(`class start ${LESSON} 30 36`, 'C0CAPACIT1');
    expect(refused).toContain(
      'This class needs 108 pods but the cluster has room for 107 more: lower max learners to 35 or add nodes.',
    );
    const started = await slackCommand(`class start ${LESSON} 30 10`, 'C0CAPACIT2');
    expect(started).toMatch(/Class [0-9a-f]{10} of .* started/);
    expect(started).not.toContain('Close to full');
  });
});
