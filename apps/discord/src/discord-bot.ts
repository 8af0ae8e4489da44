import { createDiscordAdapter } from '@labbot/chat-discord';
import { type ChatService, startChatService } from '@labbot/commands';
import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';
import { loadLessons } from '@labbot/lessons';
import { createLabStore } from '@labbot/store';
import { Redis } from 'ioredis';

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
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  // Like the runner: an invalid extra lesson is skipped (and explained when a learner asks for it), not fatal.
  const lessons = await loadLessons({
    skipInvalid: true,
    ...(config.lessonsDir ? { extraDir: config.lessonsDir } : {}),
  });
  for (const problem of lessons.problems) logger.warn({ err: problem }, 'a lesson is invalid and was skipped');
  const adapter = createDiscordAdapter({
    token,
    applicationId,
    apiUrl,
    ...(guildId ? { guildId } : {}),
    logger,
  });
  const service = await startChatService({
    adapter,
    redis,
    store: createLabStore({ redis }),
    lessons,
    instructorRoles: config.instructors.roles,
    limits: config.limits,
    logger,
    ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
  });
  logger.info({ guildId: guildId ?? 'global', lessons: lessons.lessons.length }, 'labbot is on Discord');
  return {
    service,
    close: async () => {
      await service.stop();
      redis.disconnect();
    },
  };
}
