import { createDiscordAdapter } from '@labbot/chat-discord';
import { type ChatService, startChatApp } from '@labbot/commands';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';

export interface DiscordBotOptions {
  logger?: Logger;
  /** Options of the chat service (tests shorten the edit interval). */
  minEditIntervalMs?: number;
}

export interface DiscordBot {
  service: ChatService;
  close(): Promise<void>;
}

/** The Discord bot process: config → Redis, store, lessons → Discord adapter → chat service. */
export async function startDiscordBot(config: LabbotConfig, options: DiscordBotOptions = {}): Promise<DiscordBot> {
  const { token, applicationId, guildId, apiUrl } = config.discord;
  if (!token || !applicationId) throw new Error('LABBOT_DISCORD_TOKEN and LABBOT_DISCORD_APPLICATION_ID are required');
  const logger = options.logger ?? createLogger({ name: 'labbot-discord', level: config.logLevel });
  const adapter = createDiscordAdapter({
    token,
    applicationId,
    apiUrl,
    ...(guildId ? { guildId } : {}),
    logger,
  });
  const app = await startChatApp({
    adapter,
    redisUrl: config.redisUrl,
    lessonsDir: config.lessonsDir,
    instructorRoles: config.instructors.roles,
    limits: config.limits,
    logger,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  logger.info({ guildId: guildId ?? 'global', lessons: app.lessons.lessons.length }, 'labbot is on Discord');
  return { service: app.service, close: app.close };
}
