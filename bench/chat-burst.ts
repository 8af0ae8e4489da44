// 200 slash commands in one burst through discord-sim and slack-sim (the real discord.js / Bolt apps):
// p50/p99 time to the acknowledgement; then one lab start to 3/3 ready and the chat API calls it cost.
//   node --conditions labbot-source --import tsx bench/chat-burst.ts [commands]
// Needs the services of scripts/services.sh (Redis on 6390, Docker). Uses Redis database 15.

import { createLogger } from '@labbot/config';
import { labIdFor } from '@labbot/core';
import { startDiscordBot } from '@labbot/discord';
import { startDiscordSim } from '@labbot/discord-sim';
import { startSlackBot } from '@labbot/slack';
import { createSlackDriver, startSlackSim } from '@labbot/slack-sim';
import { startLabHarness } from '../test/e2e/src/harness.js';

const count = Number(process.argv[2] ?? 200);
const logger = createLogger({ name: 'bench', level: 'silent' });
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);
};
const summary = (values: number[]) => ({
  commands: values.length,
  p50Ms: percentile(values, 50),
  p99Ms: percentile(values, 99),
  maxMs: Math.round(Math.max(...values)),
});

async function discord() {
  const sim = await startDiscordSim({ botToken: 'bench-bot-token' });
  const guildId = sim.guilds[0]?.id ?? '';
  const channelId = sim.guilds[0]?.channelIds[0] ?? '';
  const harness = await startLabHarness({
    redisDb: 15,
    env: {
      LABBOT_DISCORD_TOKEN: sim.botToken,
      LABBOT_DISCORD_APPLICATION_ID: sim.applicationId,
      LABBOT_DISCORD_GUILD_ID: guildId,
      LABBOT_DISCORD_API_URL: sim.apiUrl,
      LABBOT_MAX_ACTIVE_LABS: String(count + 10),
    },
  });
  const bot = await startDiscordBot(harness.config, { logger });
  try {
    // The burst: `/lab status` from `count` users at once (each gets an ephemeral answer).
    const handles = Array.from({ length: count }, (_, i) =>
      sim.sendSlashCommand({
        guildId,
        channelId,
        userId: String(320000000000000000n + BigInt(i)),
        name: 'lab',
        subcommand: 'status',
      }),
    );
    const callbacks = await Promise.all(handles.map((handle) => handle.acknowledged(30_000)));
    const burst = summary(callbacks.map((callback) => callback.latencyMs));

    // One lab start until 3/3 ready: chat API calls made by the bot.
    await harness.startRunner();
    const user = '330000000000000001';
    const before = sim.calls.length;
    const started = performance.now();
    await sim
      .sendSlashCommand({
        guildId,
        channelId,
        userId: user,
        name: 'lab',
        subcommand: 'start',
        options: { lesson: 'docker-vs-kubernetes' },
      })
      .acknowledged(10_000);
    const labId = labIdFor({
      platform: 'discord',
      workspaceId: guildId,
      userId: user,
      lessonId: 'docker-vs-kubernetes',
    });
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 180_000);
    // The last status edit is coalesced: let the outbox deliver it.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const calls = sim.calls.slice(before).filter((call) => call.method !== 'GET');
    return {
      burst,
      labStart: {
        readyMs: Math.round(performance.now() - started),
        chatApiCalls: calls.length,
        routes: calls.map((call) => `${call.method} ${call.route}`),
      },
    };
  } finally {
    await bot.close();
    await harness.stop();
    await sim.stop();
  }
}

async function slack() {
  const sim = await startSlackSim();
  const harness = await startLabHarness({
    redisDb: 15,
    env: {
      LABBOT_SLACK_BOT_TOKEN: sim.botToken,
      LABBOT_SLACK_SIGNING_SECRET: sim.signingSecret,
      LABBOT_SLACK_API_URL: sim.apiUrl,
      LABBOT_MAX_ACTIVE_LABS: String(count + 10),
    },
  });
  const bot = await startSlackBot(harness.config, { port: 0, logger });
  const driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${bot.adapter.port()}/slack/events`,
    signingSecret: sim.signingSecret,
    sim,
  });
  const channelId = 'C0LABS0001'; // slack-sim's default channel
  try {
    const answers = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        driver.slashCommand({ text: 'status', userId: `U0BENCH${String(i).padStart(4, '0')}`, channelId }),
      ),
    );
    const burst = summary(answers.map((answer) => answer.ackMs));

    await harness.startRunner();
    const user = 'U0BENCHLAB1';
    const before = sim.calls.length;
    const started = performance.now();
    await driver.slashCommand({ text: 'start docker-vs-kubernetes', userId: user, channelId });
    const labId = labIdFor({
      platform: 'slack',
      workspaceId: sim.teamId,
      userId: user,
      lessonId: 'docker-vs-kubernetes',
    });
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 180_000);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const calls = sim.calls.slice(before).filter((call) => call.method !== 'auth.test');
    return {
      burst,
      labStart: {
        readyMs: Math.round(performance.now() - started),
        chatApiCalls: calls.length,
        methods: calls.map((call) => call.method),
      },
    };
  } finally {
    await bot.close();
    await harness.stop();
    await sim.stop();
  }
}

console.log(JSON.stringify({ discord: await discord(), slack: await slack() }, null, 2));
