import type { ChatAdapter } from '@labbot/chat';
import type { Logger } from '@labbot/config';
import type { Platform } from '@labbot/core';
import type { LessonCatalog } from '@labbot/lessons';
import {
  createKubectlClient,
  createLabEventWorker,
  createLearnerBuildClient,
  createOutboxWorker,
  createQueues,
  type LabbotWorker,
  type OutboxObserver,
  type Queues,
  type RedisClient,
  type WorkerTuning,
} from '@labbot/queue';
import {
  createCapacityReports,
  createClassHelpDesk,
  createClassProvisionSlots,
  createClassRoster,
  createRateLimiter,
  createWarmPoolStore,
  type LabStore,
  type RateLimitRule,
} from '@labbot/store';
import { createChatDelivery } from './chat-delivery.js';
import { createLabBot, type LabBot, type LabBotOptions, type RateLimitedCommand } from './lab-bot.js';

export interface ChatServiceOptions {
  adapter: ChatAdapter;
  /** A Redis client with `maxRetriesPerRequest: null` (shared by the queues and workers). */
  redis: RedisClient;
  store: LabStore;
  lessons: LessonCatalog;
  instructorRoles: readonly string[];
  limits: LabBotOptions['limits'];
  /** Per-learner limits of /lab start, kubectl and check, counted in Redis across bot processes (none when absent). */
  rateLimits?: Partial<Record<RateLimitedCommand, RateLimitRule | undefined>>;
  /** Class limits and admins (defaults: 200 learners, 12 provisions of a class at once, no admins). */
  classes?: Partial<Pick<NonNullable<LabBotOptions['classes']>, 'limits' | 'adminRoles' | 'boardIntervalMs'>>;
  logger?: Logger;
  clock?: () => Date;
  /** At most one edit per thread in this time (default 1000 ms). */
  minEditIntervalMs?: number;
  tuning?: WorkerTuning;
  /** Told about each chat delivery, 429 and outbox lag (the process's metrics). */
  outboxObserver?: OutboxObserver;
}

export interface ChatService {
  bot: LabBot;
  queues: Queues;
  stop(): Promise<void>;
}

/**
 * The chat side of labbot for one platform: the bot's handlers on the adapter, the consumer of the
 * platform's LabEvents, and the outbox that posts and edits messages through the adapter.
 */
export async function startChatService(options: ChatServiceOptions): Promise<ChatService> {
  const { adapter, redis, store } = options;
  const platform: Platform = adapter.platform;
  const queues = createQueues({ connection: redis });
  const kubectl = createKubectlClient({ connection: redis });
  const builds = createLearnerBuildClient({ connection: redis });
  const bot = createLabBot({
    store,
    queues,
    kubectl,
    builds,
    lessons: options.lessons,
    instructorRoles: options.instructorRoles,
    limits: options.limits,
    ...(options.rateLimits
      ? {
          rateLimiter: createRateLimiter({
            redis,
            rules: Object.fromEntries(
              Object.entries(options.rateLimits).filter((entry): entry is [string, RateLimitRule] => !!entry[1]),
            ),
            ...(options.clock ? { clock: options.clock } : {}),
          }),
        }
      : {}),
    classes: {
      roster: createClassRoster({ redis }),
      provisions: createClassProvisionSlots({ redis }),
      capacity: createCapacityReports({ redis }),
      warmPool: createWarmPoolStore({ redis }),
      helpDesk: createClassHelpDesk({ redis }),
      limits: options.classes?.limits ?? { maxLearners: 200, maxConcurrentProvisions: 12 },
      ...(options.classes?.adminRoles ? { adminRoles: options.classes.adminRoles } : {}),
      ...(options.classes?.boardIntervalMs !== undefined ? { boardIntervalMs: options.classes.boardIntervalMs } : {}),
    },
    maxMessageLength: adapter.capabilities.maxMessageLength,
    ...(adapter.threadLink
      ? { threadLink: (threadId: string) => adapter.threadLink?.(threadId) ?? 'your thread' }
      : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const onError = (error: Error, jobId: string | undefined) =>
    options.logger?.warn({ err: error, jobId, platform }, 'chat job failed');
  const workers: LabbotWorker[] = [
    createLabEventWorker({
      connection: redis,
      platform,
      concurrency: 4,
      onError,
      ...options.tuning,
      process: (event) => bot.handleLabEvent(event),
    }),
    createOutboxWorker({
      connection: redis,
      platform,
      store,
      concurrency: 4,
      onError,
      ...options.tuning,
      ...(options.minEditIntervalMs !== undefined ? { minEditIntervalMs: options.minEditIntervalMs } : {}),
      ...(options.outboxObserver ? { observer: options.outboxObserver } : {}),
      deliver: createChatDelivery({ adapter, store, ...(options.logger ? { logger: options.logger } : {}) }),
    }),
  ];
  await adapter.start(bot.handlers);
  // Boards of open classes are redrawn after a restart (learners may have moved meanwhile).
  await bot.classes
    ?.resume(platform)
    .catch((error: unknown) => options.logger?.warn({ err: error }, 'could not resume class boards'));
  return {
    bot,
    queues,
    stop: async () => {
      bot.stop();
      await adapter.stop();
      await Promise.all(workers.map((worker) => worker.close()));
      await kubectl.close();
      await builds.close();
      await queues.close();
    },
  };
}
