import type { ChatAdapter } from '@labbot/chat';
import type { Logger } from '@labbot/config';
import { type LessonCatalog, loadLessons } from '@labbot/lessons';
import { labEventsQueueName, openRedis, outboxQueueName, type QueueSnapshot, snapshotQueue } from '@labbot/queue';
import { createLabStore, type LabStore } from '@labbot/store';
import { type ChatService, type ChatServiceOptions, startChatService } from './chat-service.js';

export interface ChatAppOptions
  extends Pick<
    ChatServiceOptions,
    'instructorRoles' | 'limits' | 'rateLimits' | 'minEditIntervalMs' | 'outboxObserver' | 'classes'
  > {
  adapter: ChatAdapter;
  redisUrl: string;
  /** An operator's extra lessons beside the built-in ones (LABBOT_LESSONS_DIR). */
  lessonsDir?: string | undefined;
  logger: Logger;
  /**
   * Reads the store through a Redis client of its own with ioredis auto-pipelining. Worth it where a burst's commands
   * arrive several per socket read, so their reads share a tick and go out as one write: Discord's gateway. Slack's
   * commands come as separate HTTP requests, one per read: there each read would only pay for a pipeline of one.
   */
  pipelineStoreReads?: boolean;
}

/** A chat process's own resources around the chat service: its Redis connection, the store and the lessons. */
export interface ChatApp {
  service: ChatService;
  store: LabStore;
  lessons: LessonCatalog;
  /** What /readyz asks: Redis and the chat platform answer. */
  readinessChecks: { name: string; check(): Promise<unknown> }[];
  /** The platform's queues this process consumes (lab events, outbox), read for metrics. */
  queueProbes: { name: string; snapshot(): Promise<QueueSnapshot> }[];
  /** Stops the chat service, then closes the Redis connections. */
  close(): Promise<void>;
}

/** The Redis client name (CLIENT LIST) of a chat process's store reads. */
export const STORE_READS_CONNECTION_NAME = 'labbot-store-reads';

/**
 * What every chat process (Discord, Slack, the local chat) starts with: Redis, the store, the lessons
 * (an invalid extra lesson is skipped and logged, and explained to a learner who asks for it) and the
 * chat service on the given adapter. Nothing is left open when start-up fails.
 */
export async function startChatApp(options: ChatAppOptions): Promise<ChatApp> {
  const { logger } = options;
  const onRedisError = (error: Error) => logger?.warn({ err: error }, 'Redis connection error');
  const redis = openRedis(options.redisUrl, onRedisError);
  // The store's reads (a command's lab lookup) on a client of their own with auto-pipelining, when asked for: a
  // burst of commands' reads goes out in a few socket writes, not one each. BullMQ keeps `redis`, which must not.
  const storeReads = options.pipelineStoreReads
    ? openRedis(options.redisUrl, onRedisError, { autoPipelining: true, connectionName: STORE_READS_CONNECTION_NAME })
    : undefined;
  try {
    const lessons = await loadLessons({
      skipInvalid: true,
      ...(options.lessonsDir ? { extraDir: options.lessonsDir } : {}),
    });
    for (const problem of lessons.problems) logger.warn({ err: problem }, 'a lesson is invalid and was skipped');
    const store = createLabStore({ redis, ...(storeReads ? { reads: storeReads } : {}) });
    const service = await startChatService({
      adapter: options.adapter,
      redis,
      store,
      lessons,
      instructorRoles: options.instructorRoles,
      limits: options.limits,
      ...(options.rateLimits ? { rateLimits: options.rateLimits } : {}),
      ...(options.classes ? { classes: options.classes } : {}),
      logger,
      ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
      ...(options.outboxObserver ? { outboxObserver: options.outboxObserver } : {}),
    });
    const { adapter } = options;
    return {
      service,
      store,
      lessons,
      readinessChecks: [
        { name: 'redis', check: () => redis.ping() },
        { name: adapter.platform, check: async () => adapter.checkConnection?.() },
      ],
      queueProbes: [labEventsQueueName(adapter.platform), outboxQueueName(adapter.platform)].map((name) => ({
        name,
        snapshot: () => snapshotQueue(service.queues.queue(name)),
      })),
      close: async () => {
        await service.stop();
        redis.disconnect();
        storeReads?.disconnect();
      },
    };
  } catch (error) {
    redis.disconnect();
    storeReads?.disconnect();
    throw error;
  }
}
