import { createHash } from 'node:crypto';
import { isRetryable } from '@labbot/core';
import { DelayedError, type Job } from 'bullmq';
import { openConnection } from './connection.js';
import { createOutboxState } from './outbox-state.js';
import { type OutboxItem, OutboxItemSchema, type OutboxPlatform, outboxQueueName } from './payloads.js';
import { createLabbotWorker, type LabbotWorker, type WorkerBaseOptions } from './workers.js';

/** Where the outbox remembers which chat message shows which logical key (the store implements it). */
export interface MessageRefStore {
  getMessageRef(threadKey: string, logicalKey: string): Promise<string | undefined>;
  setMessageRef(threadKey: string, logicalKey: string, messageId: string): Promise<void>;
}

/** One delivery the platform adapter performs: post a new message, or edit `messageId` when given. */
export interface OutboxDelivery {
  platform: OutboxPlatform;
  threadId: string;
  key: string;
  message: OutboxItem['message'];
  labId: string | undefined;
  /**
   * The chat message that already shows this key: edit it. Undefined: post a new one. When the
   * recorded message is gone (deleted by someone), post a new one and return its id.
   */
  messageId: string | undefined;
  /**
   * Stable per platform + thread + key (25 characters): when posting, pass it as the platform's
   * nonce (Discord `nonce` with `enforce_nonce`), so a post repeated after a crash is dropped.
   */
  idempotencyKey: string;
  /** Call as soon as a new message exists, before any later step can fail, so a retry edits it. */
  recordMessageId(messageId: string): Promise<void>;
}

export interface DeliveryResult {
  messageId: string;
}

/** Told about each delivery for metrics (the metrics package's object satisfies it); must not throw. */
export interface OutboxObserver {
  /** One delivery through the platform's API; failed: it threw something other than a rate limit. */
  chatCall(platform: string, failed: boolean): void;
  /** The platform answered 429 and the outbox waits this long. */
  chatRateLimited(platform: string, waitMs: number): void;
  /** A message reached the chat this long after it entered the outbox. */
  outboxDelivered(platform: string, lagMs: number): void;
}

export interface OutboxWorkerOptions extends WorkerBaseOptions {
  platform: OutboxPlatform;
  /**
   * Posts or edits one message through the platform's adapter. On a 429, throw an error carrying
   * `retryAfterMs` (and `global: true` when the limit covers the whole bot, not one channel).
   */
  deliver: (delivery: OutboxDelivery) => Promise<DeliveryResult>;
  store: MessageRefStore;
  /** At most one delivery per thread in this time (default 1000 ms). */
  minEditIntervalMs?: number;
  /** Must match the producers' `outboxTtlMs` (default 1 day). */
  outboxTtlMs?: number;
  /**
   * Failed deliveries in a row (5xx, no connection: errors a retry can help) after which an item is given up
   * (default 30). Until then it comes back after 0.25 s, 0.5 s, 1 s... at most 30 s, without using a BullMQ attempt, so
   * a chat platform down for minutes does not lose a lab's final status.
   */
  maxDeliveryFailures?: number;
  observer?: OutboxObserver;
}

/** A rate limit read from a thrown error (or its cause): `retryAfterMs`, and `global` for a platform-wide limit. */
export interface RateLimitHint {
  retryAfterMs: number;
  global: boolean;
}

export function rateLimitOf(error: unknown): RateLimitHint | undefined {
  for (let current = error, depth = 0; current && typeof current === 'object' && depth < 3; depth++) {
    const { retryAfterMs, global } = current as { retryAfterMs?: unknown; global?: unknown };
    if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
      return { retryAfterMs, global: global === true };
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function idempotencyKeyOf(platform: string, threadId: string, key: string): string {
  return createHash('sha256')
    .update(JSON.stringify([platform, threadId, key]))
    .digest('hex')
    .slice(0, 25);
}

/**
 * The chat outbox consumer of one platform. It delivers only the newest item of each thread + key
 * (older ones are skipped), at most one delivery per thread per `minEditIntervalMs`, waits as long as
 * a 429 says, and edits the message it already posted (message ids in the store) instead of posting twice.
 */
export function createOutboxWorker(options: OutboxWorkerOptions): LabbotWorker {
  const { platform, deliver, store, observer, maxDeliveryFailures: maxFailuresOption, ...tuning } = options;
  const minEditIntervalMs = options.minEditIntervalMs ?? 1000;
  const maxDeliveryFailures = maxFailuresOption ?? 30;
  // Real time on purpose: BullMQ schedules delayed jobs by the wall clock, so pacing must use it too.
  const now = Date.now;
  const prefix = options.prefix ?? 'labbot';
  const stateConnection = openConnection(options.connection, 'producer');
  const state = createOutboxState(stateConnection.client, prefix, platform, options.outboxTtlMs ?? 24 * 3600_000);

  const pace = createLocalPace(now);
  const delay = async (job: Job, token: string | undefined, untilMs: number): Promise<never> => {
    await job.moveToDelayed(untilMs, token);
    throw new DelayedError();
  };

  const worker = createLabbotWorker({
    ...tuning,
    concurrency: options.concurrency ?? 8,
    queueName: outboxQueueName(platform),
    schema: OutboxItemSchema,
    process: async (payload, _context, job, token) => {
      const { threadId, key } = payload;
      const latest = await state.readLatest(threadId, key);
      // Items added without the producer (or expired) have no sequence: deliver them as they are.
      if (latest && latest.seq <= (await state.deliveredSeq(threadId, key))) return { skipped: true };
      const item = latest?.item ?? payload;
      // A re-render that shows exactly what the message already shows costs no API call and no slot.
      const digest = createHash('sha256').update(JSON.stringify(item.message)).digest('hex');
      if (latest && (await state.shownDigest(threadId, key)) === digest && (await store.getMessageRef(threadId, key))) {
        await state.markDelivered(threadId, key, latest.seq);
        return { skipped: true };
      }

      const intervalMs = Math.max(minEditIntervalMs, item.minIntervalMs ?? 0);
      let recorded = await store.getMessageRef(threadId, key);
      const wait = await state.reserveSlot(threadId, now(), intervalMs);
      if (wait > 0) return delay(job, token, now() + wait);
      // The slot is kept in Redis when it is reserved; the calls land a round trip later, and round trips vary.
      // This worker's own calls to a thread keep the full interval at the call itself.
      await pace.waitTurn(threadId, intervalMs);
      const recordMessageId = async (messageId: string) => {
        if (messageId === recorded) return;
        await store.setMessageRef(threadId, key, messageId);
        recorded = messageId;
      };
      try {
        const result = await deliver({
          platform,
          threadId,
          key,
          message: item.message,
          labId: item.labId,
          messageId: recorded,
          idempotencyKey: idempotencyKeyOf(platform, threadId, key),
          recordMessageId,
        });
        await recordMessageId(result.messageId);
        observer?.chatCall(platform, false);
        observer?.outboxDelivered(platform, now() - job.timestamp);
      } catch (error) {
        const limit = rateLimitOf(error);
        observer?.chatCall(platform, limit === undefined);
        if (limit === undefined) {
          if (!isRetryable(error)) throw error;
          const failures = await state.recordFailure(threadId, key);
          if (failures > maxDeliveryFailures) throw error;
          options.onError?.(error instanceof Error ? error : new Error(String(error)), job.id);
          return delay(job, token, now() + Math.min(30_000, 250 * 2 ** (failures - 1)));
        }
        observer?.chatRateLimited(platform, limit.retryAfterMs);
        // Rate limited: the thread (or, for a global limit, the platform) waits; this job comes back
        // after the wait without using an attempt.
        const until = now() + limit.retryAfterMs;
        if (limit.global) await state.holdPlatform(now(), until);
        else await state.holdThread(threadId, now(), until);
        return delay(job, token, until);
      }
      await state.clearFailures(threadId, key);
      await state.markShown(threadId, key, digest);
      if (latest) await state.markDelivered(threadId, key, latest.seq);
      return { delivered: latest?.seq ?? null };
    },
  });

  return {
    worker: worker.worker,
    releaseJobsOfDeadWorkers: worker.releaseJobsOfDeadWorkers,
    close: async () => {
      await worker.close();
      await stateConnection.release();
    },
  };
}

/** When this worker last called the platform for each thread, so its next call to it keeps the interval. */
export function createLocalPace(now: () => number) {
  const lastCall = new Map<string, { at: number; intervalMs: number }>();
  return {
    async waitTurn(threadId: string, intervalMs: number): Promise<void> {
      const last = lastCall.get(threadId);
      const waitMs = last ? last.at + intervalMs - now() : 0;
      if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
      const at = now();
      lastCall.set(threadId, { at, intervalMs });
      // Forget threads whose interval has passed, so the map stays as small as the threads being edited.
      if (lastCall.size > 1024)
        for (const [id, entry] of lastCall) if (entry.at + entry.intervalMs <= at) lastCall.delete(id);
    },
  };
}
