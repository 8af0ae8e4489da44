import { randomBytes } from 'node:crypto';
import { discordMessageText } from '@labbot/chat-discord';
import { labIdFor } from '@labbot/core';
import { type DiscordSim, type RecordedCall, type SimMessage, startDiscordSim } from '@labbot/discord-sim';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordEnv, discordText, startDiscordBotProcess } from './discord-bot.js';
import { type FixtureProcess, type RunnerProcess, startRunnerProcess } from './fixture-process.js';
import { type LabHarness, showsLabReady, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';
import { showLastLinesOnFailure } from './test-logs.js';

// End to end on Discord: discord-sim ← discord.js ← the Discord bot's wiring → Redis (DB 5) → runner → kube-sim (docker kubelet).
// The bot and the runner run in their own processes, as in production (the bot's acks do not wait on this process's
// event loop, which kube-sim keeps busy); the bot is restarted mid-build.
const LESSON = 'docker-vs-kubernetes';
// A copy of the lesson new to this run, whose build takes a few seconds: the bot restarts while it builds.
const COLD_LESSON = `e2e-discord-slow-${randomBytes(3).toString('hex')}`;
const lessons = makeLessonsDir([
  { id: COLD_LESSON, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 4\nUSER ') },
]);
const ADA = '310000000000000001';
const BOB = '310000000000000002';
const EVE = '310000000000000003';
const LAB_TIMEOUT_MS = 150_000;

let harness: LabHarness;
let sim: DiscordSim;
let bot: FixtureProcess | undefined;
let runner: RunnerProcess | undefined;
let guildId = '';
let channelId = '';

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
  return sim
    .channelMessages(threadId)
    .filter((message) => message.via === 'bot' && discordText(message).includes('Docker'));
}

async function startBot(): Promise<FixtureProcess> {
  bot = await startDiscordBotProcess(harness);
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
      ...discordEnv(sim),
      LABBOT_LESSONS_DIR: lessons.dir,
    },
  });
  // Both children start at once: each loads its module graph under tsx (seconds on a loaded machine).
  const started = await Promise.allSettled([
    startRunnerProcess(harness).then((child) => {
      runner = child;
    }),
    startBot(),
  ]);
  for (const result of started) if (result.status === 'rejected') throw result.reason;
});

showLastLinesOnFailure(() => [bot, runner]);

afterAll(async () => {
  await bot?.stop();
  await runner?.stop();
  await harness?.stop();
  await sim?.stop();
  await lessons.remove();
});

const labOf = (userId: string, lessonId: string) =>
  labIdFor({ platform: 'discord', workspaceId: guildId, userId, lessonId });

/** A learner's ready lab of LESSON, its thread and status message: started here unless a test already did. */
async function readyLab(userId: string): Promise<{ threadId: string; status: SimMessage }> {
  const labId = labOf(userId, LESSON);
  const existing = await harness.store.get(labId);
  if (existing?.desired.state !== 'running') await command(userId, 'start', { lesson: LESSON }).acknowledged();
  const lab = await harness.waitForLab(labId, (record) => record.observed.phase === 'ready' && !!record.threadId);
  const threadId = lab.threadId?.split(':').at(-1) ?? '';
  const status = await waitFor(`${userId}'s status message`, () => statusMessages(threadId)[0], 30_000);
  await waitFor(
    `${userId}'s lab 3/3 Running`,
    () => showsLabReady(discordText(sim.messages.get(status.id))),
    LAB_TIMEOUT_MS,
  );
  return { threadId, status };
}

describe('labbot on Discord, end to end (discord-sim, Redis, Docker, kube-sim, runner)', () => {
  it('/lab start: acknowledged in time, a thread opens, one status message is edited through build, output and deploy to 3/3 Running, even through a 429, a failed edit and a restart of the bot mid-build', async () => {
    const threadsBefore = new Set(sim.threads(channelId).map((thread) => thread.id));
    const started = command(EVE, 'start', { lesson: COLD_LESSON });
    const ack = await started.acknowledged();
    // Within Discord's real deadline for an interaction answer.
    expect(ack.latencyMs).toBeLessThan(3000);

    const thread = await waitFor(
      'the lab thread',
      () => sim.threads(channelId).find((t) => !threadsBefore.has(t.id)),
      10_000,
    );
    const eveThread = thread.id;
    expect(String(thread.data['name'])).toContain(COLD_LESSON);
    const announcement = started.original();
    expect(announcement?.ephemeral).toBe(false);
    expect(discordText(announcement)).toContain(`<@${EVE}>`);

    // The status message appears; from now on Discord answers two edits with 429 and fails one with 403.
    const status = await waitFor('the status message', () => statusMessages(eveThread)[0], 30_000);
    sim.rateLimit({ route: '/channels/:channelId/messages/:messageId', method: 'PATCH', count: 2, retryAfterMs: 1500 });

    // Restart the Discord process while the lab's image is being built (a lesson new to this run, so it is).
    const labId = labOf(EVE, COLD_LESSON);
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'building', 60_000);
    expect(showsLabReady(discordText(status))).toBe(false);
    await bot?.stop();
    await startBot();
    const restartedAt = Date.now();
    sim.failRequests({ route: '/channels/:channelId/messages/:messageId', method: 'PATCH', status: 403, code: 50013 });

    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', LAB_TIMEOUT_MS);
    await waitFor('3/3 Running', () => showsLabReady(discordText(sim.messages.get(status.id))), LAB_TIMEOUT_MS);

    // The new process kept the thread updating: the first edit showing the image built came after the restart.
    const builtEdit = status.edits.find((edit) => /✅ Image `[^`]+`/.test(discordMessageText(edit.body)));
    expect(builtEdit?.at).toBeGreaterThan(restartedAt);

    // One status message only (retried and restarted deliveries edited it, never posted again), always via the bot token.
    expect(statusMessages(eveThread)).toHaveLength(1);
    expect(sim.channelMessages(eveThread).every((message) => message.via === 'bot')).toBe(true);
    expect(status.edits.every((edit) => edit.via === 'bot')).toBe(true);

    // Edits are coalesced (latest wins, about one per second), so a fast lab may skip middle versions;
    // the first version shows work in progress, the last one every step done and the pod table.
    const versions = versionsOf(status);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    expect(showsLabReady(versions[0] ?? '')).toBe(false);
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
    expect(refused?.path).toBe(`/channels/${eveThread}/messages/${status.id}`);
    expect(sim.calls.some((call) => call.method === 'PATCH' && call.status === 200 && call.at > refused!.at)).toBe(
      true,
    );
    expect(sim.violations).toEqual([]);
  });

  it('/lab status answers the learner only, with the lab as it is now', async () => {
    const { threadId } = await readyLab(ADA);
    const handle = command(ADA, 'status', {}, threadId);
    const answer = await handle.waitForOriginal((message) => discordText(message).includes('ready'), 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(showsLabReady(discordText(answer))).toBe(true);
  });

  it("refuses a second learner pressing the first one's Stop, ephemerally, and the lab keeps running", async () => {
    const { threadId, status } = await readyLab(ADA);
    const press = sim.clickButton({ messageId: status.id, customId: findCustomId(status, 'stop'), userId: BOB });
    // For a button, @original starts as the message the button is on; the refusal replaces it with an ephemeral reply.
    const answer = await press.waitForOriginal(
      (message) => message.ephemeral && discordText(message).length > 0,
      10_000,
    );
    expect(discordText(answer)).toBe('✖ You can only use your own labs.');
    // Ada's own /lab status, sent after the press and answered, still finds her lab running and ready.
    const check = command(ADA, 'status', {}, threadId);
    const now = await check.waitForOriginal((message) => discordText(message).includes('ready'), 10_000);
    expect(showsLabReady(discordText(now))).toBe(true);
    expect((await harness.store.get(labOf(ADA, LESSON)))?.desired.state).toBe('running');
    expect(showsLabReady(discordText(sim.messages.get(status.id)))).toBe(true);
  });

  it.each([
    ['an unknown subcommand', 'frobnicate', {}, /^✖ Unknown subcommand "frobnicate"\. Try: start, status, stop/],
    [
      'an empty lesson',
      'start',
      { lesson: '' },
      /^✖ Say which lesson to start, e\.g\. "\/lab start docker-vs-kubernetes"\.$/,
    ],
    [
      'a 10 KB argument',
      'start',
      { lesson: 'x'.repeat(10_240) },
      /^✖ That command is too long \(\d+ characters\); the limit is \d+\.$/,
    ],
    ['an unknown lesson', 'start', { lesson: 'no-such-lesson' }, /^✖ There is no lesson "no-such-lesson"\. Lessons: /],
  ])('answers %s with one clear ephemeral sentence', async (_name, subcommand, options, expected) => {
    const handle = command(BOB, subcommand, options);
    const answer = await handle.waitForOriginal((message) => discordText(message).length > 0, 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(discordText(answer)).toMatch(expected);
    expect(discordText(answer).length).toBeLessThan(400);
  });

  it('a clean lab start costs few chat API calls until 3/3 Running (measured)', async () => {
    const before = sim.calls.length;
    const threadsBefore = new Set(sim.threads(channelId).map((thread) => thread.id));
    const started = command(BOB, 'start', { lesson: LESSON });
    await started.acknowledged();
    const thread = await waitFor(
      'Bob’s thread',
      () => sim.threads(channelId).find((t) => !threadsBefore.has(t.id)),
      10_000,
    );
    const status = await waitFor('Bob’s status message', () => statusMessages(thread.id)[0], 30_000);
    await waitFor(
      'Bob’s lab 3/3 Running',
      () => showsLabReady(discordText(sim.messages.get(status.id))),
      LAB_TIMEOUT_MS,
    );
    const readyAt = status.edits.find((edit) => showsLabReady(discordMessageText(edit.body)))?.at ?? Date.now();
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
    const { threadId, status } = await readyLab(ADA);
    const handle = command(ADA, 'stop', {}, threadId);
    const answer = await handle.waitForOriginal((message) => discordText(message).length > 0, 10_000);
    expect(answer.ephemeral).toBe(true);
    expect(discordText(answer)).toMatch(/Stopping/);
    await waitFor('the lab stopped', () => /stopped/.test(discordText(sim.messages.get(status.id))), 90_000);
    expect(sim.messages.get(status.id)?.data['components']).toEqual([]);
    // Every other lab goes too, so no namespace outlives the file.
    for (const [userId, lessonId] of [
      [BOB, LESSON],
      [EVE, COLD_LESSON],
    ] as const) {
      if ((await harness.store.get(labOf(userId, lessonId)))?.desired.state !== 'running') continue;
      await command(userId, 'stop', { lesson: lessonId }).acknowledged();
      await harness.waitForLab(labOf(userId, lessonId), (lab) => lab.observed.phase === 'stopped', 90_000);
    }
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
