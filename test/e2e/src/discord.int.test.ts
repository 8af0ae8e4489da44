import { discordMessageText } from '@labbot/chat-discord';
import { createLogger, type LabbotConfig } from '@labbot/config';
import { type DiscordBot, startDiscordBot } from '@labbot/discord';
import { type DiscordSim, type RecordedCall, type SimMessage, startDiscordSim } from '@labbot/discord-sim';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, startLabHarness } from './harness.js';

// End to end on Discord: discord-sim ← discord.js ← the Discord bot's wiring → Redis (DB 5) → runner → kube-sim (docker kubelet).
const LESSON = 'docker-vs-kubernetes';
const ADA = '310000000000000001';
const BOB = '310000000000000002';
const LAB_TIMEOUT_MS = 150_000;

let harness: LabHarness;
let sim: DiscordSim;
let bot: DiscordBot | undefined;
let config: LabbotConfig;
let guildId = '';
let channelId = '';
const logger = createLogger({ name: 'discord-e2e', level: process.env.LABBOT_TEST_LOG ?? 'silent' });

const textOf = (message: SimMessage | undefined) => (message ? discordMessageText(message.data) : '');

/** Every version of a bot message: the body it was posted with (the thread's first post), then each edit. */
function versionsOf(message: SimMessage): string[] {
  const posted = sim.calls.find(
    (call) => call.method === 'POST' && call.status === 200 && call.path === `/channels/${message.channelId}/messages`,
  );
  return [
    discordMessageText((posted?.body ?? {}) as object),
    ...message.edits.map((edit) => discordMessageText(edit.body)),
  ];
}

/** The lab's status message: the bot's message in the thread that carries the lab's buttons or title. */
function statusMessages(threadId: string): SimMessage[] {
  return sim.channelMessages(threadId).filter((message) => message.via === 'bot' && textOf(message).includes('Docker'));
}

const isReady = (text: string) => text.includes('Pods ready: 3/3') && (text.match(/\bRunning\b/g) ?? []).length >= 3;

async function startBot(): Promise<DiscordBot> {
  bot = await startDiscordBot(config, { logger });
  return bot;
}

function command(userId: string, subcommand: string, options: Record<string, string> = {}, inChannel = channelId) {
  return sim.sendSlashCommand({ guildId, channelId: inChannel, userId, name: 'lab', subcommand, options });
}

beforeAll(async () => {
  sim = await startDiscordSim({ botToken: 'e2e-bot-token' });
  guildId = sim.guilds[0]!.id;
  channelId = sim.guilds[0]!.channelIds[0]!;
  harness = await startLabHarness({
    redisDb: 5,
    env: {
      LABBOT_DISCORD_TOKEN: sim.botToken,
      LABBOT_DISCORD_APPLICATION_ID: sim.applicationId,
      LABBOT_DISCORD_GUILD_ID: guildId,
      LABBOT_DISCORD_API_URL: sim.apiUrl,
    },
  });
  config = harness.config;
  await harness.startRunner();
  await startBot();
});

afterAll(async () => {
  await bot?.close();
  await harness?.stop();
  await sim?.stop();
});

describe('labbot on Discord, end to end (discord-sim, Redis, Docker, kube-sim, runner)', () => {
  let adaThread = '';
  let adaStatus: SimMessage | undefined;

  it('/lab start: acknowledged at once, a thread opens, one status message is edited through build, output and deploy to 3/3 Running, even through a 429, a failed edit and a restart of the bot', async () => {
    const started = command(ADA, 'start', { lesson: LESSON });
    const ack = await started.acknowledged();
    expect(ack.latencyMs).toBeLessThan(1000);

    const thread = await waitFor('the lab thread', () => sim.threads(channelId)[0], 10_000);
    adaThread = thread.id;
    expect(String(thread.data['name'])).toContain(LESSON);
    const announcement = started.original();
    expect(announcement?.ephemeral).toBe(false);
    expect(textOf(announcement)).toContain(`<@${ADA}>`);

    // The status message appears; from now on Discord answers two edits with 429 and fails one with 403.
    adaStatus = await waitFor('the status message', () => statusMessages(adaThread)[0], 30_000);
    sim.rateLimit({ route: '/channels/:channelId/messages/:messageId', method: 'PATCH', count: 2, retryAfterMs: 1500 });

    // Restart the Discord process while the lab is being built.
    expect(isReady(textOf(adaStatus))).toBe(false);
    await bot?.close();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await startBot();
    const restartedAt = Date.now();
    sim.failRequests({ route: '/channels/:channelId/messages/:messageId', method: 'PATCH', status: 403, code: 50013 });

    const status = adaStatus;
    await waitFor('3/3 Running', () => isReady(textOf(sim.messages.get(status.id))), LAB_TIMEOUT_MS);

    // The new process kept the thread updating: the edit that shows 3/3 came after the restart.
    const readyEdit = status.edits.find((edit) => isReady(discordMessageText(edit.body)));
    expect(readyEdit?.at).toBeGreaterThan(restartedAt);

    // One status message only (retried and restarted deliveries edited it, never posted again), always via the bot token.
    expect(statusMessages(adaThread)).toHaveLength(1);
    expect(sim.channelMessages(adaThread).every((message) => message.via === 'bot')).toBe(true);
    expect(status.edits.every((edit) => edit.via === 'bot')).toBe(true);

    // Edits are coalesced (latest wins, about one per second), so a fast lab may skip middle versions;
    // the first version shows work in progress, the last one every step done and the pod table.
    const versions = versionsOf(status);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(isReady(versions[0] ?? '')).toBe(false);
    const last = versions.at(-1) ?? '';
    expect(last).toMatch(/✅ Image `[^`]+`/);
    expect(last).toContain('Output of the container');
    expect(last).toContain('✅ Deployment with 3 replicas applied');
    expect(last).toMatch(/NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE/);

    // Under 429 the bot waited as told (no request before retry_after ended) and still got there.
    const limited = sim.calls.filter((call) => call.status === 429);
    expect(limited.length).toBe(2);
    const lastLimited = limited.at(-1)!;
    const nextEdit = sim.calls.find(
      (call) => call.method === 'PATCH' && call.at > lastLimited.at && call.path === lastLimited.path,
    );
    expect(nextEdit).toBeDefined();
    expect(nextEdit!.at - lastLimited.at).toBeGreaterThanOrEqual(1400);
    // The edit Discord refused (403) was retried by the outbox as an edit of the same message.
    const refused = sim.calls.find((call) => call.status === 403 && call.method === 'PATCH');
    expect(refused?.path).toBe(`/channels/${adaThread}/messages/${status.id}`);
    expect(sim.calls.some((call) => call.method === 'PATCH' && call.status === 200 && call.at > refused!.at)).toBe(
      true,
    );
    expect(sim.violations).toEqual([]);
  });

  it('/lab status answers the learner only, with the lab as it is now', async () => {
    const handle = command(ADA, 'status', {}, adaThread);
    const answer = await handle.waitForOriginal((message) => textOf(message).includes('ready'), 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(isReady(textOf(answer))).toBe(true);
  });

  it("refuses a second learner pressing the first one's Stop, ephemerally, and the lab keeps running", async () => {
    const status = adaStatus!;
    const press = sim.clickButton({ messageId: status.id, customId: findCustomId(status, 'stop'), userId: BOB });
    // For a button, @original starts as the message the button is on; the refusal replaces it with an ephemeral reply.
    const answer = await press.waitForOriginal((message) => message.ephemeral && textOf(message).length > 0, 10_000);
    expect(textOf(answer)).toMatch(/only|not allowed|own/i);
    expect(textOf(answer)).not.toContain('Stopping');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(isReady(textOf(sim.messages.get(status.id)))).toBe(true);
  });

  it.each([
    ['an unknown subcommand', 'frobnicate', {}, /Unknown subcommand/],
    ['an empty lesson', 'start', { lesson: '' }, /Say which lesson/],
    ['a 10 KB argument', 'start', { lesson: 'x'.repeat(10_240) }, /too long/],
    ['an unknown lesson', 'start', { lesson: 'no-such-lesson' }, /no-such-lesson/],
  ])('answers %s with one clear ephemeral sentence', async (_name, subcommand, options, expected) => {
    const handle = command(BOB, subcommand, options);
    const answer = await handle.waitForOriginal((message) => textOf(message).length > 0, 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(textOf(answer)).toMatch(expected);
    expect(textOf(answer).length).toBeLessThan(400);
  });

  it('a clean lab start costs few chat API calls until 3/3 Running (measured)', async () => {
    const before = sim.calls.length;
    const started = command(BOB, 'start', { lesson: LESSON });
    await started.acknowledged();
    const thread = await waitFor('Bob’s thread', () => sim.threads(channelId).find((t) => t.id !== adaThread), 10_000);
    const status = await waitFor('Bob’s status message', () => statusMessages(thread.id)[0], 30_000);
    await waitFor('Bob’s lab 3/3 Running', () => isReady(textOf(sim.messages.get(status.id))), LAB_TIMEOUT_MS);
    const readyAt = status.edits.find((edit) => isReady(discordMessageText(edit.body)))?.at ?? Date.now();
    const calls = sim.calls
      .slice(before)
      .filter((call: RecordedCall) => call.at <= readyAt && !call.route.startsWith('/gateway'));
    const summary = calls.map((call) => `${call.method} ${call.route} ${call.status}`);
    console.info(
      `[bench] Discord chat API calls per lab start until 3/3 ready: ${calls.length}\n  ${summary.join('\n  ')}`,
    );
    expect(calls.every((call) => call.status < 400)).toBe(true);
    expect(calls.length).toBeLessThanOrEqual(12);
  });

  it('/lab stop in the thread tears the lab down and the status message says so', async () => {
    const handle = command(ADA, 'stop', {}, adaThread);
    const answer = await handle.waitForOriginal((message) => textOf(message).length > 0, 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(textOf(answer)).toMatch(/Stopping/);
    const status = adaStatus!;
    await waitFor('the lab stopped', () => /stopped/.test(textOf(sim.messages.get(status.id))), 90_000);
    expect(sim.messages.get(status.id)?.data['components']).toEqual([]);
    // Bob's lab goes too, so no namespace outlives the test.
    await command(BOB, 'stop', { lesson: LESSON }).acknowledged();
    await waitFor(
      'Bob’s lab stopped',
      () =>
        sim
          .threads(channelId)
          .every((t) => t.id === adaThread || statusMessages(t.id).every((m) => /stopped/.test(textOf(m)))),
      90_000,
    );
    expect(sim.violations).toEqual([]);
  });
});

function findCustomId(message: SimMessage, action: string): string {
  const rows = (message.data['components'] ?? []) as { components: { custom_id?: string }[] }[];
  const id = rows
    .flatMap((row) => row.components)
    .find((component) => component.custom_id?.startsWith(`lab:${action}:`));
  if (!id?.custom_id) throw new Error(`no ${action} button on the status message`);
  return id.custom_id;
}
