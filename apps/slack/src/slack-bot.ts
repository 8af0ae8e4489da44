import { createSlackAdapter, type SlackChatAdapter } from '@labbot/chat-slack';
import { type ChatService, startChatApp } from '@labbot/commands';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';
import { createMetrics, type ProcessMetrics, serveProcessMetrics } from '@labbot/metrics';

/** The role the adapter gives the member ids of LABBOT_INSTRUCTOR_USERS (Slack itself has no roles). */
const INSTRUCTOR_ROLE = 'instructor';

export interface SlackBotOptions {
  logger?: Logger;
  /** Port of the HTTP receiver instead of LABBOT_SLACK_PORT (tests pass 0 for a free one). */
  port?: number;
  /** Options of the chat service (tests shorten the edit interval). */
  minEditIntervalMs?: number;
  /** Port of /metrics, /healthz, /readyz instead of LABBOT_METRICS_PORT (tests pass 0 for a free one). */
  metricsPort?: number;
}

export interface SlackBot {
  adapter: SlackChatAdapter;
  service: ChatService;
  /** The metrics and health server, when LABBOT_METRICS_PORT (or metricsPort) is set. */
  metrics: ProcessMetrics | undefined;
  close(): Promise<void>;
}

/** The Slack bot process: config → Redis, store, lessons → Slack adapter → chat service. */
export async function startSlackBot(config: LabbotConfig, options: SlackBotOptions = {}): Promise<SlackBot> {
  const { botToken, signingSecret, appToken, mode, apiUrl } = config.slack;
  if (!botToken || !signingSecret)
    throw new Error('LABBOT_SLACK_BOT_TOKEN and LABBOT_SLACK_SIGNING_SECRET are required');
  const logger = options.logger ?? createLogger({ name: 'labbot-slack', level: config.logLevel });
  const metrics = createMetrics({ process: 'slack' });
  const adapter = createSlackAdapter({
    botToken,
    signingSecret,
    mode,
    ...(appToken ? { appToken } : {}),
    apiUrl,
    port: options.port ?? config.slack.port,
    host: config.slack.host,
    instructorUserIds: config.instructors.users,
    instructorRole: INSTRUCTOR_ROLE,
    instructorGroupIds: config.instructors.slackGroups,
    adminUserIds: config.admins.users,
    logger,
  });
  const app = await startChatApp({
    adapter,
    redisUrl: config.redisUrl,
    lessonsDir: config.lessonsDir,
    instructorRoles: [INSTRUCTOR_ROLE, ...config.instructors.roles],
    limits: config.limits,
    rateLimits: config.rateLimits,
    classes: { limits: config.classes, adminRoles: config.admins.roles },
    logger,
    outboxObserver: metrics,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  const port = options.metricsPort ?? config.metrics.port;
  const served = await serveProcessMetrics(app, { metrics, port, host: config.metrics.host, logger });
  logger.info(
    {
      mode,
      host: mode === 'http' ? config.slack.host : undefined,
      port: mode === 'http' ? adapter.port() : undefined,
      lessons: app.lessons.lessons.length,
    },
    mode === 'http' ? 'labbot is on Slack: POST /slack/events' : 'labbot is on Slack (Socket Mode)',
  );
  return {
    adapter,
    service: app.service,
    metrics: served,
    close: async () => {
      await served?.close();
      await app.close();
    },
  };
}
