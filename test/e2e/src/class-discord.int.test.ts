// A class on Discord end to end: discord-sim ← discord.js ← the Discord bot's wiring → Redis (DB 7) → runner →
// kube-sim (virtual kubelet). 30 learners press Join within 2 s; two classes run in two channels at once.
// The bot and the runner run in their own processes, as in production: the bot's acks do not wait on an event loop
// that 30 labs provisioning keep busy (this process keeps the sims and kube-sim).

import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CoreV1Api } from '@kubernetes/client-node';
import { decodeThreadId } from '@labbot/chat';
import { discordMessageText } from '@labbot/chat-discord';
import { labIdFor } from '@labbot/core';
import { type DiscordSim, type SimMessage, startDiscordSim } from '@labbot/discord-sim';
import { createClassRoster } from '@labbot/store';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisioningOrder } from './class-order.js';
import { discordEnv, discordText, startDiscordBotProcess } from './discord-bot.js';
import { type FixtureProcess, type RunnerProcess, startRunnerProcess } from './fixture-process.js';
import { type LabHarness, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';
import { showLastLinesOnFailure } from './test-logs.js';

const LESSON = `class-discord-${Date.now().toString(36)}`;
const INSTRUCTOR_ROLE = '320000000000000001';
const TEACHER = '310000000000000900';
const OTHER_TEACHER = '310000000000000901';
const LEARNERS = Array.from({ length: 30 }, (_, i) => `3100000000000001${String(i).padStart(2, '0')}`);
const SECOND_LEARNERS = ['310000000000000201', '310000000000000202', '310000000000000203'];

let harness: LabHarness;
let sim: DiscordSim;
let bot: FixtureProcess | undefined;
let runner: RunnerProcess | undefined;
let lessons: ReturnType<typeof makeLessonsDir>;
let guildId = '';
let channelId = '';
let secondChannelId = '';

const PLACE = /You are (\d+)(?:st|nd|rd|th) in line/;
const labOf = (userId: string) => labIdFor({ platform: 'discord', workspaceId: guildId, userId, lessonId: LESSON });
const core = () => harness.kubeConfig.makeApiClient(CoreV1Api);

function customIdOf(message: SimMessage, prefix: string): string | undefined {
  const rows = (message.data['components'] ?? []) as { components: { custom_id?: string }[] }[];
  return rows.flatMap((row) => row.components).find((c) => c.custom_id?.startsWith(prefix))?.custom_id;
}

/** The class message of a channel: the bot's message carrying a Join button (or, once ended, its final results). */
function boardIn(channel: string): SimMessage | undefined {
  return sim
    .channelMessages(channel)
    .find((message) => message.via === 'bot' && /Class( ended)?:/.test(discordText(message)));
}

/** `/lab class <subcommand>`; the two teachers carry the instructor role, learners none. */
function classCommand(
  userId: string,
  subcommand: string,
  options: Record<string, string | number> = {},
  inChannel = channelId,
) {
  const roles = userId === TEACHER || userId === OTHER_TEACHER ? [INSTRUCTOR_ROLE] : [];
  return sim.sendSlashCommand({
    guildId,
    channelId: inChannel,
    userId,
    name: 'lab',
    subcommandGroup: 'class',
    subcommand,
    options,
    roles,
  });
}

async function ephemeralAnswer(handle: ReturnType<typeof classCommand>): Promise<string> {
  const answer = await handle.waitForOriginal((message) => discordText(message).length > 0, 15_000);
  expect(answer.ephemeral).toBe(true);
  return discordText(answer);
}

beforeAll(async () => {
  sim = await startDiscordSim({
    botToken: 'class-bot-token',
    // Discord's own 3 s: every Join press must be acknowledged in time while 30 labs provision.
    interactionAckDeadlineMs: 3_000,
    guilds: [{ name: 'school', channels: [{ name: 'class-a' }, { name: 'class-b' }] }],
  });
  guildId = sim.guilds[0]!.id;
  [channelId, secondChannelId] = sim.guilds[0]!.channelIds as [string, string];
  // A build of a few seconds: the first learners hold the class's provision slots through it, so the later ones wait
  // for a slot and are shown their place in line however fast this machine's engine is (on a fast one nobody waited).
  lessons = makeLessonsDir([{ id: LESSON, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 3\nUSER ') }]);
  harness = await startLabHarness({
    redisDb: 7,
    kubelet: 'virtual',
    env: {
      LABBOT_LESSONS_DIR: lessons.dir,
      ...discordEnv(sim),
      LABBOT_INSTRUCTOR_ROLES: INSTRUCTOR_ROLE,
      LABBOT_MAX_ACTIVE_LABS: '100',
    },
  });
  // Both children start at once: each loads its module graph under tsx (seconds on a loaded machine).
  const started = await Promise.allSettled([
    startRunnerProcess(harness).then((child) => {
      runner = child;
    }),
    startDiscordBotProcess(harness).then((child) => {
      bot = child;
    }),
  ]);
  for (const result of started) if (result.status === 'rejected') throw result.reason;
}, 180_000);

showLastLinesOnFailure(() => [bot, runner]);

afterAll(async () => {
  await bot?.stop();
  await runner?.stop();
  await harness?.stop();
  await sim?.stop();
  await lessons?.remove();
});

describe('a class of 30 on Discord', () => {
  let classId = '';
  let board: SimMessage;

  it('refuses class commands from a learner, ephemerally', async () => {
    for (const [subcommand, options] of [
      ['start', { lesson: LESSON }],
      ['status', {}],
      ['end', {}],
      ['export', {}],
    ] as const) {
      const text = await ephemeralAnswer(classCommand(LEARNERS[0]!, subcommand, options));
      expect(text).toMatch(/Only instructors/);
    }
    expect(boardIn(channelId)).toBeUndefined();
  });

  it('the instructor starts a class: one class message with a Join button in the channel', async () => {
    const text = await ephemeralAnswer(classCommand(TEACHER, 'start', { lesson: LESSON, max: 40 }));
    classId = /Class ([0-9a-f]{10})/.exec(text)?.[1] ?? '';
    expect(classId).not.toBe('');
    board = await sim.waitFor(() => boardIn(channelId), 10_000);
    expect(customIdOf(board, 'lab:join:')).toBe(`lab:join:${classId}`);
  });

  it('30 learners press Join within 2 s: each an own lab and thread, one build, provisioning in join order, the board reaches 30 ready', async () => {
    const buildsBefore = (await runner!.builderStats()).builds;
    const customId = `lab:join:${classId}`;
    const presses = [];
    // How late this process's event loop runs during the burst (the sims and kube-sim share it; the bot and the runner
    // have their own): the sim notes an ack when this loop reads it, so the figure shows this lag next to the acks.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    for (const userId of LEARNERS) {
      presses.push(sim.clickButton({ messageId: board.id, customId, userId }));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Every press is acknowledged (deferred) within Discord's 3 s, as the first thing the bot does.
    for (const press of presses) expect((await press.acknowledged(3_000)).type).toBe(5);
    loopDelay.disable();
    const ackMs = presses.map((press) => press.record.callback?.latencyMs ?? Number.NaN).sort((a, b) => a - b);
    console.info(
      `join acks of 30 presses: median ${ackMs[15]} ms, slowest ${ackMs.at(-1)} ms; event loop delay p99 ${Math.round(loopDelay.percentile(99) / 1e6)} ms, max ${Math.round(loopDelay.max / 1e6)} ms; load average ${loadavg()[0]?.toFixed(1)}`,
    );
    // Each learner is told, ephemerally, where their thread is.
    for (const press of presses) {
      const answer = await press.waitForOriginal(
        (message) => /You joined the class/.test(discordText(message)),
        30_000,
      );
      expect(answer.ephemeral).toBe(true);
      expect(discordText(answer)).toMatch(/<#\d+>/);
    }
    for (const userId of LEARNERS) {
      const lab = await harness.waitForLab(labOf(userId), (record) => record.observed.phase === 'ready', 120_000);
      expect(lab.classId).toBe(classId);
    }
    await sim.waitFor(() => /Ready: 30\b/.test(discordText(sim.messages.get(board.id))) || undefined, 20_000);
    expect((await runner!.builderStats()).builds - buildsBefore).toBe(1);
    // One thread per learner, under the announcements in the channel.
    expect(sim.threads(channelId)).toHaveLength(30);
    const members = await createClassRoster({ redis: harness.redis }).members(classId);
    expect(members.map((member) => member.userId).sort()).toEqual([...LEARNERS].sort());
    const order = await provisioningOrder(harness, classId);
    expect(order.started).toBe(30);
    // Slots are granted strictly in join order (the grant numbers, not clock times, are compared).
    expect(order.outOfOrder).toEqual([]);
    // A learner who waited for a slot read their place in line in their thread's status message (edited at most
    // every 4 s): it only shrank, and the message became the lab's status when the lab started.
    const placesSeen = await Promise.all(
      LEARNERS.map(async (userId) => {
        const thread = decodeThreadId((await harness.store.get(labOf(userId)))?.threadId ?? '')?.threadId ?? '';
        const statusOf = () => sim.channelMessages(thread).find((message) => message.via === 'bot');
        // The ready status reaches the thread within its 4 s edit pace after the lab is ready (board and records
        // above do not wait for it): wait for it, then the place is gone from the message.
        const status = await sim
          .waitFor(() => {
            const current = statusOf();
            return current && discordText(current).includes('Pods ready: 3/3') ? current : undefined;
          }, 20_000)
          .catch(() => statusOf());
        const versions = (status?.edits ?? []).map((edit) => discordMessageText(edit.body));
        expect(discordText(status), userId).not.toMatch(PLACE);
        const places = versions.flatMap((text) => (PLACE.exec(text) ? [Number(PLACE.exec(text)?.[1])] : []));
        expect(places, `${userId}:\n${versions.join('\n---\n')}`).toEqual([...new Set(places)].sort((a, b) => b - a));
        return places;
      }),
    );
    // Who waited goes by join order (the roster's), which need not be the order of the presses: each press is
    // handled as it comes, and under load a later press may join first.
    const joinSeq = new Map(members.map((member) => [member.userId, member.seq]));
    const byJoin = LEARNERS.map((userId, press) => ({
      seq: joinSeq.get(userId) ?? 0,
      press,
      places: placesSeen[press],
    }))
      .sort((a, b) => a.seq - b.seq)
      .map(({ seq, press, places = [] }) => ({
        label: `#${seq} (press ${press + 1}) ${places.join('→') || '-'}`,
        places,
      }));
    const seen = byJoin.map((learner) => learner.label).join(', ');
    console.info(`places seen in threads, in join order: ${seen}`);
    // The first joiners up to the class's provision slots got one at once; the later ones waited in line.
    const slots = harness.config.classes.maxConcurrentProvisions;
    expect(
      byJoin.slice(0, slots).flatMap((learner) => learner.places),
      seen,
    ).toEqual([]);
    expect(byJoin.slice(slots).flatMap((learner) => learner.places).length, seen).toBeGreaterThan(0);
    // The namespaces carry the class label.
    const namespaces = await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` });
    expect(namespaces.items).toHaveLength(30);
    // Board edits are paced: at most one per 2 s (with a little clock slack).
    // (Measured where the sim receives them: a busy event loop may bunch two sends, so count over the whole run.)
    const edits = sim.messages.get(board.id)?.edits ?? [];
    const span = (edits.at(-1)?.at ?? 0) - (edits[0]?.at ?? 0);
    expect(edits.length).toBeLessThanOrEqual(2 + Math.floor(span / 2000));
    expect(sim.violations).toEqual([]);
  });

  it('joining twice leads to the same lab', async () => {
    const press = sim.clickButton({ messageId: board.id, customId: `lab:join:${classId}`, userId: LEARNERS[3]! });
    const answer = await press.waitForOriginal(
      (message) => message.ephemeral && discordText(message).length > 0,
      15_000,
    );
    expect(discordText(answer)).toMatch(/already joined/);
    expect(await harness.store.listByClass(classId)).toHaveLength(30);
  });

  it('a second class in another channel does not mix with the first', async () => {
    const text = await ephemeralAnswer(classCommand(OTHER_TEACHER, 'start', { lesson: LESSON }, secondChannelId));
    const secondId = /Class ([0-9a-f]{10})/.exec(text)?.[1] ?? '';
    const secondBoard = await sim.waitFor(() => boardIn(secondChannelId), 10_000);
    for (const userId of SECOND_LEARNERS)
      sim.clickButton({ messageId: secondBoard.id, customId: `lab:join:${secondId}`, userId });
    for (const userId of SECOND_LEARNERS) {
      const lab = await harness.waitForLab(labOf(userId), (record) => record.observed.phase === 'ready', 60_000);
      expect(lab.classId).toBe(secondId);
    }
    await sim.waitFor(() => /Ready: 3\b/.test(discordText(sim.messages.get(secondBoard.id))) || undefined, 20_000);
    expect(discordText(sim.messages.get(board.id))).toMatch(/Joined: 30\/40/);
    // The other instructor (not an admin) may not end the first class.
    const refused = await ephemeralAnswer(classCommand(OTHER_TEACHER, 'end', {}));
    expect(refused).toMatch(/Only the instructor who started/);
    // Ending the second class leaves the first alone.
    await ephemeralAnswer(classCommand(OTHER_TEACHER, 'end', {}, secondChannelId));
    await waitForValue(
      'the second class torn down',
      async () => (await core().listNamespace({ labelSelector: `labbot.dev/class=${secondId}` })).items.length,
      (count) => count === 0,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect((await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items).toHaveLength(30);
  });

  it('/lab class status answers the instructor only; export gives a CSV file with a row per learner', async () => {
    const status = await ephemeralAnswer(classCommand(TEACHER, 'status', {}));
    expect(status).toMatch(/30 joined, 30 ready/);
    const exported = classCommand(TEACHER, 'export', {});
    const answer = await exported.waitForOriginal((message) => discordText(message).length > 0, 15_000);
    expect(answer.ephemeral).toBe(true);
    expect(discordText(answer)).toMatch(/30 learners/);
    // A CSV file attached to the answer (not the CSV as text): a header and a row per learner.
    const upload = sim.calls.find(
      (call) => call.path.endsWith('/messages/@original') && call.status === 200 && call.files?.length === 1,
    );
    expect(upload?.files?.[0]?.name).toBe(`class-${classId}.csv`);
    const rows = (upload?.files?.[0]?.content ?? '').trimEnd().split('\n');
    expect(rows[0]).toMatch(/^learner,lab,joined_at,seconds_to_ready,/);
    expect(
      rows
        .slice(1)
        .map((row) => row.split(',')[0])
        .sort(),
    ).toEqual([...LEARNERS].sort());
    expect(discordText(answer)).not.toMatch(/^\d{18},/m);
  });

  it('class end: no namespace of the class remains, threads are told, the board shows the final results', async () => {
    const text = await ephemeralAnswer(classCommand(TEACHER, 'end', {}));
    expect(text).toMatch(/ended: 30 labs/);
    await waitForValue(
      'no namespace of the class',
      async () => (await core().listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items.length,
      (count) => count === 0,
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    await sim.waitFor(() => /Class ended/.test(discordText(sim.messages.get(board.id))) || undefined, 15_000);
    const final = sim.messages.get(board.id)!;
    expect(discordText(final)).toMatch(/Ready: 30\b/);
    expect(customIdOf(final, 'lab:join:')).toBeUndefined();
    const thread = sim.threads(channelId)[0]!;
    await sim.waitFor(
      () =>
        sim.channelMessages(thread.id).some((message) => /The class has ended/.test(discordText(message))) || undefined,
      15_000,
    );
    expect(sim.violations).toEqual([]);
  });
});
