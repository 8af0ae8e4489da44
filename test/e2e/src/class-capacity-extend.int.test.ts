// Two options of a class start, on the local chat and on Slack (Redis DB 27, virtual kubelet):
// - the capacity check: kube-sim with one node of 110 pods, a lesson of 3 replicas. A class that cannot fit is
//   refused with one sentence, one close to full starts with a warning, and the room counts running labs;
// - self-extension (`self-extend=15`, ceiling 20 min): the learner's expiry warning carries Extend; each press by
//   the learner adds 15 min up to the ceiling, another learner's press is refused, and the learner is told.

import { type LabRecord, labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import type { SlackBot } from '@labbot/slack';
import { type JsonObject, type SlackDriver, type SlackSim, slackMessageText, startSlackSim } from '@labbot/slack-sim';
import { createCapacityReports, createClassRoster } from '@labbot/store';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassChat, startClassChat } from './class-chat.js';
import { type LabHarness, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';
import { slackEnv, startSlackBotOn } from './slack-bot.js';

const LESSON = `class-capacity-${Date.now().toString(36)}`;
const TEACHER = 'U0TEACHER1';

let harness: LabHarness;
let runner: Runner;
let chat: ClassChat;
let slack: SlackSim;
let bot: SlackBot;
let driver: SlackDriver;
let lessons: ReturnType<typeof makeLessonsDir>;

const say = (line: string) => chat.say(line);
const annLab = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ann', lessonId: LESSON });
const MINUTE = 60_000;
const lastChannelText = () => chat.lastChannelText();
const boardTexts = () => chat.boardTexts();

const visibleText = (message: { text: string; blocks: JsonObject[] } | undefined) =>
  message ? slackMessageText(message) : '';

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
  slack = await startSlackSim({
    channels: ['C0CAPACIT1', 'C0CAPACIT2', 'C0EXTEND01'].map((id) => ({ id, name: id.toLowerCase() })),
  });
  lessons = makeLessonsDir([{ id: LESSON }]);
  harness = await startLabHarness({
    redisDb: 27,
    kubelet: 'virtual',
    nodes: { count: 1, podsPerNode: 110 },
    env: {
      LABBOT_LESSONS_DIR: lessons.dir,
      ...slackEnv(slack),
      LABBOT_INSTRUCTOR_USERS: TEACHER,
      LABBOT_EXPIRY_WARNING_MINUTES: '10',
      LABBOT_CLASS_MAX_EXTENSION_MINUTES: '20',
    },
  });
  runner = await harness.startRunner({
    attempts: 3,
    backoffMs: 200,
    janitorIntervalMs: 0,
    orphanGraceMs: 0,
    watchDebounceMs: 100,
    capacityIntervalMs: 500,
  });
  chat = await startClassChat(harness, {
    name: 'class-capacity',
    classes: { maxLearners: 100, maxConcurrentProvisions: 4, maxExtensionMinutes: 20 },
  });
  ({ bot, driver } = await startSlackBotOn(harness, slack));
}, 180_000);

afterAll(async () => {
  await chat?.stop();
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
    await say(`/lab class start ${LESSON} 5 30 self-extend=15`);
    expect(lastChannelText()).toMatch(/Class [0-9a-f]{10} of .* started/);
    expect(lastChannelText()).toContain('Close to full: this class would take 82% of the pods');
    await say('as ann: /lab class join');
    await harness.waitForLab(annLab, (lab) => lab.observed.phase === 'ready' && lab.threadId !== undefined, 120_000);
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

describe('a learner extends their own lab from the expiry warning', () => {
  const expiry = async (labId: string) => Date.parse(((await harness.store.get(labId)) as LabRecord).expiresAt);
  /** A lab of a class that allows self-extension, and when its learner joined (the ceiling counts from there). */
  const classLabOf = async (labId: string, userId: string) => {
    const lab = (await harness.store.get(labId)) as LabRecord;
    const klass = await harness.store.getClass(lab.classId ?? '');
    expect(klass?.selfExtendMinutes).toBe(15);
    const member = await createClassRoster({ redis: harness.redis }).member(lab.classId ?? '', userId);
    return { lab, joinedAt: Date.parse(member?.joinedAt ?? '') };
  };

  it('local chat: the warning has Extend; another learner is refused; presses add 15 min up to the ceiling', async () => {
    const { lab, joinedAt } = await classLabOf(annLab, 'ann');
    const thread = () => chat.adapter.threadTexts(lab.threadId ?? '');
    await runner.janitor.sweep();
    await waitForValue(
      'the expiry warning with Extend',
      thread,
      (texts) => texts.some((t) => /expires in about .*\[Extend\]/s.test(t)),
      {
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    const first = await expiry(annLab);

    await say('as ben: /press Extend');
    expect(lastChannelText()).toContain('Only <@ann> can extend this lab');
    expect(await expiry(annLab)).toBe(first);

    await say('as ann: /press Extend');
    expect(lastChannelText()).toMatch(/Your lab now ends in \d+ min/);
    expect(await expiry(annLab)).toBe(first + 15 * MINUTE);
    await waitForValue('the note in the thread', thread, (texts) => texts.some((t) => /extended this lab/.test(t)), {
      timeoutMs: 30_000,
      intervalMs: 100,
    });

    // The ceiling: 20 min beyond the 5-minute lab lifetime, counted from the join, whatever the presses ask.
    await say('as ann: /press Extend');
    expect(lastChannelText()).toContain('That is the most this class allows.');
    const capped = await expiry(annLab);
    expect(capped).toBe(joinedAt + (5 + 20) * MINUTE);
    await say('as ann: /press Extend');
    expect(lastChannelText()).toContain('Your lab already has all the time this class allows');
    expect(await expiry(annLab)).toBe(capped);
  });

  it('Slack: Extend on the warning in the learner thread; refused for another user, extends for the learner', async () => {
    const channel = 'C0EXTEND01';
    const learner = 'U0LEARNER1';
    const started = await slackCommand(`class start ${LESSON} 5 10 self-extend=15`, channel);
    const classId = /Class ([0-9a-f]{10})/.exec(started)?.[1] ?? '';
    expect(started).toContain('Learners may extend their own lab by 15 min');
    const board = await waitForValue(
      'the class message',
      () => slack.channelMessages(channel).find((m) => !m.threadTs && /Class/.test(visibleText(m))),
      (found) => found !== undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    await driver.blockAction({
      actionId: `lab:join:${classId}`,
      userId: learner,
      channelId: channel,
      messageTs: board?.ts ?? '',
    });
    const labId = labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId: learner, lessonId: LESSON });
    const lab = await harness.waitForLab(
      labId,
      (record) => record.observed.phase === 'ready' && record.threadId !== undefined,
      60_000,
    );
    await runner.janitor.sweep();
    const warning = await waitForValue(
      'the expiry warning with Extend',
      () =>
        slack
          .threadReplies(channel, lab.threadId?.split(':').at(-1) ?? '')
          .find((m) => m.blocks.some((block) => JSON.stringify(block).includes(`lab:extend:${labId}`))),
      (found) => found !== undefined,
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(visibleText(warning)).toMatch(/expires in about/);
    const first = await expiry(labId);

    let before = slack.ephemerals.length;
    await driver.blockAction({
      actionId: `lab:extend:${labId}`,
      userId: 'U0OTHER001',
      channelId: channel,
      messageTs: warning?.ts ?? '',
    });
    await waitForValue(
      'the refusal',
      () => slack.ephemerals.slice(before).map(visibleText),
      (texts) => texts.some((t) => t.includes(`Only <@${learner}> can extend this lab`)),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await expiry(labId)).toBe(first);

    before = slack.ephemerals.length;
    await driver.blockAction({
      actionId: `lab:extend:${labId}`,
      userId: learner,
      channelId: channel,
      messageTs: warning?.ts ?? '',
    });
    await waitForValue(
      'the learner told',
      () =>
        slack.ephemerals
          .slice(before)
          .filter((e) => e.user === learner)
          .map(visibleText),
      (texts) => texts.some((t) => /Your lab now ends in \d+ min/.test(t)),
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(await expiry(labId)).toBe(first + 15 * MINUTE);
    expect(lab.classId).toBe(classId);
  });
});
