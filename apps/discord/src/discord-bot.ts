import { createDiscordAdapter } from '@labbot/chat-discord';
import { type ChatService, startChatApp } from '@labbot/commands';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';
import { createMetrics, type ProcessMetrics, serveProcessMetrics } from '@labbot/metrics';

export interface DiscordBotOptions {
  logger?: Logger;
  /** Options of the chat service (tests shorten the edit interval). */
  minEditIntervalMs?: number;
  /** Port of /metrics, /healthz, /readyz instead of LABBOT_METRICS_PORT (tests pass 0 for a free one). */
  metricsPort?: number;
}

export interface DiscordBot {
  service: ChatService;
  /** The metrics and health server, when LABBOT_METRICS_PORT (or metricsPort) is set. */
  metrics: ProcessMetrics | undefined;
  close(): Promise<void>;
}

/** The Discord bot process: config → Redis, store, lessons → Discord adapter → chat service, metrics. */
export async function startDiscordBot(config: LabbotConfig, options: DiscordBotOptions = {}): Promise<DiscordBot> {
  const { token, applicationId, guildId, apiUrl } = config.discord;
  if (!token || !applicationId) throw new Error('LABBOT_DISCORD_TOKEN and LABBOT_DISCORD_APPLICATION_ID are required');
  const logger = options.logger ?? createLogger({ name: 'labbot-discord', level: config.logLevel });
  const metrics = createMetrics({ process: 'discord' });
  const adapter = createDiscordAdapter({
    token,
    applicationId,
    apiUrl,
    ...(guildId ? { guildId } : {}),
    instructorUserIds: config.instructors.users,
    adminUserIds: config.admins.users,
    logger,
  });
  // Role ids cannot be faked; a role name can be given to anyone by whoever may create roles.
  const names = config.instructors.roles.filter((role) => !/^\d{5,25}$/.test(role));
  if (names.length > 0) {
    logger.warn(
      { roles: names },
      'LABBOT_INSTRUCTOR_ROLES has role names, not ids: anyone who can name a role can become an instructor. Use role ids.',
    );
  }
  const app = await startChatApp({
    adapter,
    redisUrl: config.redisUrl,
    lessonsDir: config.lessonsDir,
    instructorRoles: config.instructors.roles,
    limits: config.limits,
    rateLimits: config.rateLimits,
    classes: { limits: config.classes, adminRoles: config.admins.roles },
    logger,
    outboxObserver: metrics,
    // A burst's interactions come several per gateway read: their lab lookups go to Redis as one write.
    pipelineStoreReads: true,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  const port = options.metricsPort ?? config.metrics.port;
  const served = await serveProcessMetrics(app, { metrics, port, host: config.metrics.host, logger });
  logger.info({ guildId: guildId ?? 'global', lessons: app.lessons.lessons.length }, 'labbot is on Discord');
  return {
    service: app.service,
    metrics: served,
    close: async () => {
      await served?.close();
      await app.close();
    },
  };
}
