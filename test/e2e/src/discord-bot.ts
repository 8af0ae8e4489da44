// The Discord side of an e2e test: the real discord.js bot (apps/discord wiring) on a lab harness, talking to discord-sim.
import { discordMessageText } from '@labbot/chat-discord';
import { type DiscordBot, startDiscordBot } from '@labbot/discord';
import type { DiscordSim, SimMessage } from '@labbot/discord-sim';
import { type FixtureProcess, startFixtureProcess } from './fixture-process.js';
import type { LabHarness } from './harness.js';
import { createTestLogger, type LogTail } from './test-logs.js';

/** The harness environment that points the Discord bot at `sim` (its first guild). */
export function discordEnv(sim: DiscordSim): Record<string, string> {
  return {
    LABBOT_DISCORD_TOKEN: sim.botToken,
    LABBOT_DISCORD_APPLICATION_ID: sim.applicationId,
    LABBOT_DISCORD_GUILD_ID: sim.guilds[0]?.id ?? '',
    LABBOT_DISCORD_API_URL: sim.apiUrl,
  };
}

export interface DiscordBotOnOptions {
  /** The bot's logger name (the test file). */
  name: string;
  /** At most one edit per thread per this time (the bot's default when absent). */
  minEditIntervalMs?: number;
}

/**
 * Starts the Discord bot in this process on the harness's config (made with `discordEnv(sim)`); its logs are kept,
 * not printed (`logs`, for showLastLinesOnFailure).
 */
export async function startDiscordBotOn(
  harness: LabHarness,
  options: DiscordBotOnOptions,
): Promise<{ bot: DiscordBot; logs: LogTail }> {
  const { logger, logs } = createTestLogger(options.name);
  const bot = await startDiscordBot(harness.config, {
    logger,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  return { bot, logs };
}

/**
 * Starts the Discord bot in its own process, as in production, on the harness's config (made with
 * `discordEnv(sim)`): its acks then do not wait on the test process's event loop.
 */
export function startDiscordBotProcess(
  harness: LabHarness,
  options: Pick<DiscordBotOnOptions, 'minEditIntervalMs'> = {},
): Promise<FixtureProcess> {
  return startFixtureProcess('test/e2e/src/fixtures/discord-bot-process.ts', {
    env: {
      ...harness.env,
      ...(options.minEditIntervalMs !== undefined
        ? { LABBOT_TEST_EDIT_INTERVAL_MS: String(options.minEditIntervalMs) }
        : {}),
    },
    ready: /^ready$/,
  });
}

/** What a learner reads in a message the simulator holds ('' for none). */
export const discordText = (message: SimMessage | undefined): string =>
  message ? discordMessageText(message.data) : '';
