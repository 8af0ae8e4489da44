import { createSlackAdapter, type SlackChatAdapter } from '@labbot/chat-slack';
import { type ChatService, startChatApp } from '@labbot/commands';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';

/** The role the adapter gives the member ids of LABBOT_INSTRUCTOR_USERS (Slack itself has no roles). */
const INSTRUCTOR_ROLE = 'instructor';

export interface SlackBotOptions {
  logger?: Logger;
  /** Port of the HTTP receiver instead of LABBOT_SLACK_PORT (tests pass 0 for a free one). */
  port?: number;
  /** Options of the chat service (tests shorten the edit interval). */
  minEditIntervalMs?: number;
}

export interface SlackBot {
  adapter: SlackChatAdapter;
  service: ChatService;
  close(): Promise<void>;
}

/** The Slack bot process: config → Redis, store, lessons → Slack adapter → chat service. */
export async function startSlackBot(config: LabbotConfig, options: SlackBotOptions = {}): Promise<SlackBot> {
  const { botToken, signingSecret, appToken, mode, apiUrl } = config.slack;
  if (!botToken || !signingSecret)
    throw new Error('LABBOT_SLACK_BOT_TOKEN and LABBOT_SLACK_SIGNING_SECRET are required');
  const logger = options.logger ?? createLogger({ name: 'labbot-slack', level: config.logLevel });
  const adapter = createSlackAdapter({
    botToken,
    signingSecret,
    mode,
    ...(appToken ? { appToken } : {}),
    apiUrl,
    port: options.port ?? config.slack.port,
    instructorUserIds: config.instructors.users,
    instructorRole: INSTRUCTOR_ROLE,
    logger,
  });
  const app = await startChatApp({
    adapter,
    redisUrl: config.redisUrl,
    lessonsDir: config.lessonsDir,
    instructorRoles: [INSTRUCTOR_ROLE, ...config.instructors.roles],
    limits: config.limits,
    logger,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  logger.info(
    { mode, port: mode === 'http' ? adapter.port() : undefined, lessons: app.lessons.lessons.length },
    mode === 'http' ? 'labbot is on Slack: POST /slack/events' : 'labbot is on Slack (Socket Mode)',
  );
  return { adapter, service: app.service, close: app.close };
}
