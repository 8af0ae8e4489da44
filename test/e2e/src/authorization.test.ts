// The authorization matrix on every platform (issue #13): the real adapters (discord.js on discord-sim, Bolt on
// slack-sim, the terminal) in front of the real bot on in-memory fakes. Acting on another learner's lab by command,
// kubectl or button, a command from another Discord guild, and forged, tampered or replayed Slack requests are all
// refused, and none of them changes the lab, queues a job or runs kubectl.
import { PassThrough } from 'node:stream';
import type { ChatHandlers } from '@labbot/chat';
import { createDiscordAdapter } from '@labbot/chat-discord';
import { startAdapterOnSim } from '@labbot/chat-slack/testing';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { createLabBotOnFakes } from '@labbot/commands/testing';
import { labIdFor } from '@labbot/core';
import { type DiscordSim, startDiscordSim } from '@labbot/discord-sim';
import { loadLessons } from '@labbot/lessons';
import { signSlackRequest } from '@labbot/slack-sim';
import { waitForValue } from '@labbot/test-support';
import { afterEach, describe, expect, it } from 'vitest';

const LESSON = 'your-first-image';
const lessons = await loadLessons();

/** The bot on in-memory fakes (kubectl answers a pod table), and what an unauthorized request could have changed. */
function createWorld() {
  const world = createLabBotOnFakes({ lessons, kubectlOutput: 'NAME READY\nhello 1/1' });
  return {
    ...world,
    /** Reconcile jobs queued since the last call (taking them, as the runner would). */
    jobs: () => world.queues.takeReconciles(),
  };
}

/** A Discord button press (`action` on `labId`) as a user of a guild, straight to the bot; what it answered. */
async function pressAs(
  world: ReturnType<typeof createWorld>,
  guildId: string,
  userId: string,
  action: 'stop' | 'reset',
  labId: string,
): Promise<string[]> {
  const answers: string[] = [];
  await world.bot.handlers.onAction({
    actor: { platform: 'discord', workspaceId: guildId, userId, roles: [] },
    action,
    target: labId,
    conversation: { platform: 'discord', workspaceId: guildId, channelId: 'c' },
    respond: {
      defer: async () => {},
      reply: async () => {
        answers.push('reply');
      },
      error: async (text) => {
        answers.push(text);
      },
      openThread: async () => '',
    },
  });
  return answers;
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

describe('authorization on Discord (discord-sim, discord.js)', () => {
  async function discord(handlers: ChatHandlers) {
    const sim: DiscordSim = await startDiscordSim({
      botToken: 'labbot-test-token',
      guilds: [
        { name: 'school-a', channels: [{ name: 'labs' }] },
        { name: 'school-b', channels: [{ name: 'labs' }] },
      ],
    });
    const adapter = createDiscordAdapter({
      token: sim.botToken,
      applicationId: sim.applicationId,
      apiUrl: sim.apiUrl,
    });
    await adapter.start(handlers);
    stops.push(async () => {
      await adapter.stop();
      const violations = [...sim.violations];
      await sim.stop();
      expect(violations).toEqual([]);
    });
    /** Runs /lab <text> as a user in guild 0 or 1 and returns what that user saw answered (ephemeral or not). */
    const command = async (guild: 0 | 1, userId: string, text: string): Promise<string> => {
      const target = sim.guilds[guild];
      const channelId = target?.channelIds[0] ?? '';
      const [subcommand, ...rest] = text.split(' ');
      const before = sim.messages.size;
      const handle = sim.sendSlashCommand({
        guildId: target?.id ?? '',
        channelId,
        userId,
        name: 'lab',
        ...(subcommand ? { subcommand } : {}),
        options: rest.length > 0 ? { [subcommand === 'kubectl' ? 'args' : 'lesson']: rest.join(' ') } : {},
      });
      await handle.acknowledged();
      const answers = await waitForValue(
        `an answer to ${text}`,
        () => [...sim.messages.values()].slice(before).filter((message) => message.interactionId !== undefined),
        (messages) => messages.some((message) => (message.data['content'] ?? message.data['embeds']) !== undefined),
      );
      return JSON.stringify(answers.map((message) => message.data));
    };
    return { sim, command };
  }

  it('a command from another guild finds no lab there: refused, and the lab in the first guild is untouched', async () => {
    const world = createWorld();
    const { sim, command } = await discord(world.bot.handlers);
    const ada = '300000000000000001';
    const labA = labIdFor({ platform: 'discord', workspaceId: sim.guilds[0]?.id ?? '', userId: ada, lessonId: LESSON });
    await command(0, ada, `start ${LESSON}`);
    await waitForValue(
      'ada lab',
      () => world.store.get(labA),
      (lab) => lab?.threadId !== undefined,
    );
    world.jobs();
    const before = await world.state();
    // The same Discord user, in another guild: a different workspace, so none of these reach the lab of guild A.
    for (const text of [
      'stop',
      `stop ${LESSON}`,
      'reset',
      'status',
      'check',
      'kubectl get pods',
      'kubectl delete pod x',
    ]) {
      const answer = await command(1, ada, text);
      expect(answer, text).toMatch(/You have no lab/);
    }
    expect(await world.state()).toBe(before);
    expect(world.jobs()).toEqual([]);
    expect(world.kubectlRuns).toEqual([]);
  });

  it("another learner of the same guild cannot stop, reset, check or kubectl the first learner's lab", async () => {
    const world = createWorld();
    const { sim, command } = await discord(world.bot.handlers);
    const ada = '300000000000000001';
    const bob = '300000000000000002';
    const labA = labIdFor({ platform: 'discord', workspaceId: sim.guilds[0]?.id ?? '', userId: ada, lessonId: LESSON });
    await command(0, ada, `start ${LESSON}`);
    await waitForValue(
      'ada lab',
      () => world.store.get(labA),
      (lab) => lab?.threadId !== undefined,
    );
    world.jobs();
    const before = await world.state();
    for (const text of [`stop ${LESSON}`, `reset ${LESSON}`, `check ${LESSON}`, 'kubectl get pods']) {
      expect(await command(0, bob, text), text).toMatch(/You have no lab/);
    }
    // A press of the Stop button of ada's lab by bob (the custom id names her lab) is refused by the bot.
    expect(await pressAs(world, sim.guilds[0]?.id ?? '', bob, 'stop', labA)).toEqual([
      'You can only use your own labs.',
    ]);
    // A press from another guild by the owner's own user id is refused too: a lab belongs to one workspace.
    expect(await pressAs(world, sim.guilds[1]?.id ?? '', ada, 'reset', labA)).toEqual([
      'You can only use your own labs.',
    ]);
    expect(await world.state()).toBe(before);
    expect(world.jobs()).toEqual([]);
  });
});

describe('authorization on Slack (slack-sim, Bolt)', () => {
  const CHANNEL = 'C0LABS0001';
  const ADA = 'U0LEARNER1';
  const BOB = 'U0LEARNER2';

  async function slack(handlers: ChatHandlers) {
    const { sim, adapter, driver, stop } = await startAdapterOnSim(handlers);
    stops.push(async () => {
      expect(await stop()).toEqual([]);
    });
    return { sim, driver, url: `http://127.0.0.1:${adapter.port()}/slack/events` };
  }

  it('forged, unsigned, replayed and tampered requests get 401 and change nothing; another learner is refused', async () => {
    const world = createWorld();
    const { sim, driver, url } = await slack(world.bot.handlers);
    const labA = labIdFor({ platform: 'slack', workspaceId: sim.teamId, userId: ADA, lessonId: LESSON });
    expect((await driver.slashCommand({ text: `start ${LESSON}`, userId: ADA, channelId: CHANNEL })).status).toBe(200);
    await waitForValue(
      'ada lab',
      () => world.store.get(labA),
      (lab) => lab?.threadId !== undefined,
    );
    world.jobs();
    const before = await world.state();

    for (const signing of [{ signature: 'forged' }, { signature: 'missing' }, { timestamp: 'stale' }] as const) {
      const answer = await driver.slashCommand({ text: `stop ${LESSON}`, userId: ADA, channelId: CHANNEL, ...signing });
      expect(answer.status, JSON.stringify(signing)).toBe(401);
    }
    // A captured request replayed six minutes later, byte for byte with its signature: Slack's 5-minute window.
    const form = (text: string) =>
      new URLSearchParams({
        team_id: sim.teamId,
        channel_id: CHANNEL,
        user_id: ADA,
        command: '/lab',
        text,
        response_url: 'http://127.0.0.1:9/x',
        trigger_id: '1.2',
      }).toString();
    const then = Math.floor(Date.now() / 1000) - 6 * 60;
    const replayed = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(then),
        'x-slack-signature': signSlackRequest(sim.signingSecret, then, form(`stop ${LESSON}`)),
      },
      body: form(`stop ${LESSON}`),
    });
    expect(replayed.status).toBe(401);
    // A fresh signature of a harmless command, sent with another body (the signature covers the body).
    const now = Math.floor(Date.now() / 1000);
    const tampered = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(now),
        'x-slack-signature': signSlackRequest(sim.signingSecret, now, form('status')),
      },
      body: form(`stop ${LESSON}`),
    });
    expect(tampered.status).toBe(401);
    expect(await world.state()).toBe(before);
    expect(world.jobs()).toEqual([]);

    // Bob, correctly signed, names ada's lesson and runs kubectl: he has no lab, so nothing of ada's moves.
    for (const text of [`stop ${LESSON}`, `reset ${LESSON}`, 'kubectl delete pod hello-x']) {
      const posts = sim.responsePosts.length;
      expect((await driver.slashCommand({ text, userId: BOB, channelId: CHANNEL })).status).toBe(200);
      const answers = await waitForValue(
        `the answer to ${text}`,
        () => sim.responsePosts.slice(posts),
        (list) => list.length > 0,
      );
      expect(JSON.stringify(answers[0]?.body), text).toMatch(/You have no lab/);
    }
    expect(await world.state()).toBe(before);
    expect(world.jobs()).toEqual([]);
    expect(world.kubectlRuns).toEqual([]);
  });
});

describe('authorization in the local chat (terminal)', () => {
  it("a second local user cannot stop, reset or kubectl the first one's lab", async () => {
    const world = createWorld();
    const output = new PassThrough();
    output.resume();
    const adapter = new TerminalChatAdapter({ input: new PassThrough(), output, userId: 'ada' });
    await adapter.start(world.bot.handlers);
    stops.push(() => adapter.stop());
    const labA = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'ada', lessonId: LESSON });
    await adapter.handleLine(`/lab start ${LESSON}`, 'ada');
    expect(await world.store.get(labA)).toBeDefined();
    world.jobs();
    const before = await world.state();
    for (const text of [`stop ${LESSON}`, `reset ${LESSON}`, 'kubectl delete pod hello-x', `check ${LESSON}`]) {
      await adapter.handleLine(`/lab ${text}`, 'bob');
      expect(adapter.channelTexts().at(-1), text).toMatch(/You have no lab/);
    }
    expect(await world.state()).toBe(before);
    expect(world.jobs()).toEqual([]);
    expect(world.kubectlRuns).toEqual([]);
  });
});
