// The chat platform failing while a lab starts never loses the lab's final status (issue 13):
// - Discord (discord-sim, DB 29): 5xx answers, a storm of 429s with the global limit, and the lab's thread deleted
//   by a moderator mid-build (10003 Unknown Channel on every post and edit there);
// - Slack (slack-sim, DB 30): the thread's parent message and the status reply deleted (thread_not_found).
// In both cases the bot opens a new thread, says so to the learner there, and shows the final status in it, once.
import { randomBytes } from 'node:crypto';
import { labIdFor } from '@labbot/core';
import type { DiscordBot } from '@labbot/discord';
import { type DiscordSim, startDiscordSim } from '@labbot/discord-sim';
import type { SlackBot } from '@labbot/slack';
import { type SlackDriver, type SlackSim, slackMessageText, startSlackSim } from '@labbot/slack-sim';
import { waitFor, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordEnv, discordText, startDiscordBotOn } from './discord-bot.js';
import { FAST_RUNNER, type LabHarness, labWait, showsLabReady, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';
import { slackEnv, startSlackBotOn } from './slack-bot.js';
import { type LogTail, showLastLinesOnFailure } from './test-logs.js';

// Lessons new to this run whose build takes a few seconds, so the thread can be deleted while the lab starts; one
// per platform (with its own Dockerfile), so the second test's lab builds too instead of finding the first's image.
const SLOW_LESSON = `e2e-chat-faults-${randomBytes(3).toString('hex')}`;
const SLACK_SLOW_LESSON = `${SLOW_LESSON}-slack`;
const lessons = makeLessonsDir([
  { id: SLOW_LESSON, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 4\nUSER ') },
  { id: SLACK_SLOW_LESSON, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 4 && echo slack\nUSER ') },
]);
const LAB_TIMEOUT_MS = 150_000;

/** The logs of the bot of each describe: shown under a failing test only (they are warnings about the faults). */
const botLogs: LogTail[] = [];
showLastLinesOnFailure(() => botLogs);

afterAll(async () => {
  await lessons.remove();
});

describe('Discord failing while a lab starts: 5xx, a global 429 storm, the lab thread deleted', () => {
  const LEARNER = '320000000000000001';
  let harness: LabHarness;
  let sim: DiscordSim;
  let bot: DiscordBot | undefined;
  let guildId = '';
  let channelId = '';

  beforeAll(async () => {
    sim = await startDiscordSim({ botToken: 'chat-faults-token' });
    guildId = sim.guilds[0]!.id;
    channelId = sim.guilds[0]!.channelIds[0]!;
    harness = await startLabHarness({
      redisDb: 29,
      kubelet: 'virtual',
      env: {
        ...discordEnv(sim),
        LABBOT_LESSONS_DIR: lessons.dir,
      },
    });
    await harness.startRunner(FAST_RUNNER);
    const started = await startDiscordBotOn(harness, { name: 'chat-faults-discord', minEditIntervalMs: 200 });
    bot = started.bot;
    botLogs.push(started.logs);
  });

  afterAll(async () => {
    await bot?.close();
    await harness?.stop();
    await sim?.stop();
  });

  it('opens a new thread, says so to the learner, and shows the final status there once, waiting out every 429', async () => {
    const labId = labIdFor({ platform: 'discord', workspaceId: guildId, userId: LEARNER, lessonId: SLOW_LESSON });
    const started = sim.sendSlashCommand({
      guildId,
      channelId,
      userId: LEARNER,
      name: 'lab',
      subcommand: 'start',
      options: { lesson: SLOW_LESSON },
    });
    await started.acknowledged();
    const lab = await harness.waitForLab(labId, (record) => record.threadId !== undefined, 30_000);
    const firstThread = lab.threadId?.split(':').at(-1) ?? '';
    await waitFor('the first status post', () => sim.channelMessages(firstThread)[0], 30_000);

    // A moderator deletes the thread while the image builds; from then on Discord also answers edits with 502s and a
    // storm of global 429s (one second each), and the first post in the new thread with a 503.
    await harness.waitForLab(labId, (record) => record.observed.phase === 'building', 60_000);
    sim.deleteThread(firstThread);
    const route = '/channels/:channelId/messages/:messageId';
    sim.failRequests({ route, method: 'PATCH', status: 502, code: 0, message: 'Bad Gateway', count: 6 });
    sim.rateLimit({ route, method: 'PATCH', count: 3, retryAfterMs: 1000, global: true });
    sim.failRequests({
      route: '/channels/:channelId/messages',
      method: 'POST',
      status: 503,
      code: 0,
      message: 'Service Unavailable',
      count: 1,
    });

    const ready = await harness.waitForLab(
      labId,
      (record) => record.observed.phase === 'ready' && record.threadId !== lab.threadId,
      LAB_TIMEOUT_MS,
    );
    const newThread = ready.threadId?.split(':').at(-1) ?? '';
    expect(newThread).not.toBe(firstThread);
    expect(sim.threads(channelId).some((thread) => thread.id === newThread)).toBe(true);

    // The thread starts from a message in the channel that tells the learner why.
    const notice = sim.channelMessages(channelId).find((message) => message.id === newThread);
    expect(discordText(notice)).toContain(`<@${LEARNER}>`);
    expect(discordText(notice)).toContain('was deleted');

    // One status message in the new thread, which ends at 3/3 Running.
    const status = await waitFor(
      '3/3 Running in the new thread',
      () => sim.channelMessages(newThread).find((message) => showsLabReady(discordText(message))),
      60_000,
    );
    expect(sim.channelMessages(newThread).filter((message) => message.via === 'bot')).toEqual([status]);

    // The faults really happened, and no request went out before a Retry-After ended.
    expect(sim.calls.filter((call) => call.status === 502).length).toBeGreaterThan(0);
    expect(sim.calls.filter((call) => call.status === 429).length).toBeGreaterThan(0);
    expect(sim.calls.filter((call) => call.status === 404 && call.path.includes(firstThread)).length).toBeGreaterThan(
      0,
    );
    expect(sim.violations).toEqual([]);

    // /lab status typed in the new thread finds the lab.
    const answer = await sim
      .sendSlashCommand({ guildId, channelId: newThread, userId: LEARNER, name: 'lab', subcommand: 'status' })
      .waitForOriginal((message) => discordText(message).includes('ready'), 10_000);
    expect(answer.ephemeral).toBe(true);
  });
});

describe('Slack: the lab thread deleted (its parent message and the status reply) while a lab starts', () => {
  const CHANNEL = 'C0LABS0001';
  const USER = 'U0FAULTS01';
  let harness: LabHarness;
  let slack: SlackSim;
  let bot: SlackBot | undefined;
  let driver: SlackDriver;

  beforeAll(async () => {
    slack = await startSlackSim();
    harness = await startLabHarness({
      redisDb: 30,
      kubelet: 'virtual',
      env: {
        ...slackEnv(slack),
        LABBOT_LESSONS_DIR: lessons.dir,
      },
    });
    await harness.startRunner(FAST_RUNNER);
    const started = await startSlackBotOn(harness, slack, { minEditIntervalMs: 200 });
    ({ bot, driver } = started);
    botLogs.push(started.logs);
  });

  afterAll(async () => {
    await bot?.close();
    await harness?.stop();
    await slack?.stop();
  });

  it('opens a new thread in the channel, says so to the learner, and shows the final status there once', async () => {
    const labId = labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId: USER, lessonId: SLACK_SLOW_LESSON });
    const answer = await driver.slashCommand({ text: `start ${SLACK_SLOW_LESSON}`, userId: USER, channelId: CHANNEL });
    expect(answer.status).toBe(200);
    const lab = await harness.waitForLab(labId, (record) => record.threadId !== undefined, 30_000);
    const parentTs = lab.threadId?.split(':')[3] ?? '';
    const [status] = await waitForValue(
      'the first status post',
      () => slack.threadReplies(CHANNEL, parentTs),
      (replies) => replies.length > 0,
      { ...labWait, timeoutMs: 30_000 },
    );
    // Someone deletes the whole thread while the image builds: the parent message and the status reply.
    await harness.waitForLab(labId, (record) => record.observed.phase === 'building', 60_000);
    slack.deleteMessage(CHANNEL, status?.ts ?? '');
    slack.deleteMessage(CHANNEL, parentTs);

    const ready = await harness.waitForLab(
      labId,
      (record) => record.observed.phase === 'ready' && record.threadId !== lab.threadId,
      LAB_TIMEOUT_MS,
    );
    const newParentTs = ready.threadId?.split(':')[3] ?? '';
    const notice = slack.channelMessages(CHANNEL).find((message) => message.ts === newParentTs);
    expect(slackMessageText(notice ?? { text: '', blocks: [] })).toContain(`<@${USER}>`);
    expect(slackMessageText(notice ?? { text: '', blocks: [] })).toContain('was deleted');
    const replies = await waitForValue(
      '3/3 in the new thread',
      () => slack.threadReplies(CHANNEL, newParentTs),
      (list) => list.length === 1 && showsLabReady(slackMessageText(list[0] ?? { text: '', blocks: [] })),
      { ...labWait, timeoutMs: 60_000 },
    );
    expect(replies).toHaveLength(1);
    // What Slack answered on the old thread (the sim notes every error answer), and nothing else went wrong.
    expect(slack.violations.map((violation) => `${violation.method} ${violation.message}`)).toEqual([
      'chat.update message_not_found',
      'chat.postMessage thread_not_found',
    ]);
  });
});
