// The Slack side of an e2e test: the real Bolt app (apps/slack wiring) on a lab harness, talking to slack-sim.
import { type SlackBot, startSlackBot } from '@labbot/slack';
import {
  createSlackDriver,
  type JsonObject,
  type SlackDriver,
  type SlackSim,
  slackMessageText,
} from '@labbot/slack-sim';
import type { LabHarness } from './harness.js';
import { createTestLogger, type LogTail } from './test-logs.js';

/** The harness environment that points the Slack bot at `slack`. */
export function slackEnv(slack: SlackSim): Record<string, string> {
  return {
    LABBOT_SLACK_BOT_TOKEN: slack.botToken,
    LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
    LABBOT_SLACK_API_URL: slack.apiUrl,
  };
}

export interface SlackBotOnSim {
  bot: SlackBot;
  /** Sends the bot signed slash commands, button presses and form submissions. */
  driver: SlackDriver;
  /** The text of the newest answer the bot sent through a response_url. */
  lastAnswer(): string;
  /** The bot's logs (warn and above unless LABBOT_TEST_LOG says otherwise), for showLastLinesOnFailure. */
  logs: LogTail;
}

export interface SlackBotOnOptions {
  /** At most one edit per thread per this time (the bot's default when absent). */
  minEditIntervalMs?: number;
}

/** Starts the Slack bot on the harness's config (made with `slackEnv(slack)`), and a driver for it; its logs are kept, not printed. */
export async function startSlackBotOn(
  harness: LabHarness,
  slack: SlackSim,
  options: SlackBotOnOptions = {},
): Promise<SlackBotOnSim> {
  const { logger, logs } = createTestLogger('slack-bot');
  const bot = await startSlackBot(harness.config, {
    port: 0,
    logger,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  const driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${bot.adapter.port()}/slack/events`,
    signingSecret: slack.signingSecret,
    sim: slack,
  });
  return {
    bot,
    driver,
    logs,
    lastAnswer: () => {
      const body = slack.responsePosts.at(-1)?.body ?? {};
      return slackMessageText({ text: String(body['text'] ?? ''), blocks: (body['blocks'] as JsonObject[]) ?? [] });
    },
  };
}
