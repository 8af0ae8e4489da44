import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabbotError } from '@labbot/core';
import { createLabStore, type LabStore } from '@labbot/store';
import { waitFor } from '@labbot/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOutboxWorker, type DeliveryResult, type OutboxDelivery } from './outbox.js';
import { outboxQueueName } from './payloads.js';
import { createQueues, type Queues } from './producers.js';
import { deleteKeys, redisUrl, uniquePrefix, waitForIdle } from './testing/helpers.js';
import type { LabbotWorker } from './workers.js';

const prefix = uniquePrefix('outbox');
let redis: Redis;
let queues: Queues;
let store: LabStore;
const workers: LabbotWorker[] = [];
const outboxQueue = () => queues.queue(outboxQueueName('discord'));

interface Call {
  at: number;
  messageId: string | undefined;
  message: unknown;
  idempotencyKey: string;
}

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queues = createQueues({ connection: redis, prefix, backoffMs: 20 });
  store = createLabStore({ redis, prefix });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
});

afterAll(async () => {
  await queues.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const newThread = () => `discord:guild:channel:${randomBytes(4).toString('hex')}`;

/** Starts an outbox worker whose deliver runs `behaviour` and records every call. */
function startOutbox(
  behaviour: (delivery: OutboxDelivery, callIndex: number) => Promise<DeliveryResult>,
  minEditIntervalMs = 300,
  calls: Call[] = [],
): Call[] {
  const worker = createOutboxWorker({
    connection: redis,
    prefix,
    platform: 'discord',
    store,
    minEditIntervalMs,
    onError: () => {},
    deliver: async (delivery) => {
      calls.push({
        at: Date.now(),
        messageId: delivery.messageId,
        message: delivery.message,
        idempotencyKey: delivery.idempotencyKey,
      });
      return behaviour(delivery, calls.length - 1);
    },
  });
  workers.push(worker);
  return calls;
}

describe('chat outbox', () => {
  it('coalesces 30 rapid status updates into a few paced edits of one message, ending with the newest', async () => {
    const threadId = newThread();
    const calls = startOutbox(async (delivery) => {
      await sleep(20);
      return { messageId: delivery.messageId ?? 'status-message-1' };
    }, 300);
    for (let i = 0; i < 30; i++) {
      await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: `step ${i}` } });
      await sleep(20);
    }
    await waitFor('the newest status to be shown', () => JSON.stringify(calls.at(-1)?.message).includes('step 29'));
    await waitForIdle(outboxQueue());

    console.info(`[measure] 30 status updates over ~600 ms, 300 ms pacing -> ${calls.length} deliveries`);
    expect(calls.at(-1)?.message).toEqual({ text: 'step 29' });
    // Coalesced: fewer deliveries than updates (how many depends on the machine's speed; the pacing below does not).
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(calls.length).toBeLessThan(30);
    // One post, then edits of that same message.
    expect(calls[0]?.messageId).toBeUndefined();
    for (const call of calls.slice(1)) expect(call.messageId).toBe('status-message-1');
    // At most one delivery per 300 ms in this thread (a little slack for timer rounding).
    for (let i = 1; i < calls.length; i++) {
      expect((calls[i]?.at ?? 0) - (calls[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(280);
    }
    expect(await store.getMessageRef(threadId, 'status')).toBe('status-message-1');
  });

  it('sends nothing for an update that shows what the message already shows, and the next change as an edit', async () => {
    const threadId = newThread();
    const calls = startOutbox(async (delivery) => ({ messageId: delivery.messageId ?? 'status-message-2' }), 50);
    const show = async (text: string) => {
      await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text } });
      await waitForIdle(outboxQueue());
    };
    await show('pods 1/3');
    await show('pods 1/3');
    await show('pods 1/3');
    expect(calls.map((call) => call.message)).toEqual([{ text: 'pods 1/3' }]);
    await show('pods 2/3');
    expect(calls.map((call) => [call.messageId, call.message])).toEqual([
      [undefined, { text: 'pods 1/3' }],
      ['status-message-2', { text: 'pods 2/3' }],
    ]);
  });

  it('keeps pacing and latest-wins when two outbox workers (two chat processes) share the queue', async () => {
    const threadId = newThread();
    const behaviour = async (delivery: OutboxDelivery) => {
      await sleep(20);
      return { messageId: delivery.messageId ?? 'shared-message' };
    };
    const calls = startOutbox(behaviour, 300);
    startOutbox(behaviour, 300, calls);
    for (let i = 0; i < 20; i++) {
      await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: `update ${i}` } });
      await sleep(25);
    }
    await waitFor('the newest update to be shown', () => JSON.stringify(calls.at(-1)?.message).includes('update 19'));
    await waitForIdle(outboxQueue());
    expect(calls.at(-1)?.message).toEqual({ text: 'update 19' });
    expect(calls.filter((call) => call.messageId === undefined)).toHaveLength(1);
    for (let i = 1; i < calls.length; i++) {
      expect((calls[i]?.at ?? 0) - (calls[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(280);
    }
  });

  it('paces each thread on its own: two threads are not slowed by each other', async () => {
    const threads = [newThread(), newThread()];
    // A minute between two deliveries of one thread: if the threads shared that pacing, the second would wait it out.
    const calls = startOutbox(async () => ({ messageId: randomBytes(3).toString('hex') }), 60_000);
    for (const threadId of threads) {
      await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: threadId } });
    }
    await waitFor('both threads to be served', () => calls.length === 2, 20_000);
    expect(new Set(calls.map((call) => call.idempotencyKey)).size).toBe(2);
  });

  it('edits the message it already posted when a delivery fails after posting (never posts twice)', async () => {
    const threadId = newThread();
    let posts = 0;
    const calls = startOutbox(async (delivery, index) => {
      if (delivery.messageId === undefined) {
        posts++;
        await delivery.recordMessageId('posted-42');
      }
      if (index === 0) throw new Error('adding the buttons failed');
      return { messageId: delivery.messageId ?? 'posted-42' };
    });
    const { jobId } = await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: 'hi' } });
    const job = await waitFor('the job', () => outboxQueue().getJob(jobId));
    await waitFor('the retry to complete', async () => (await job.getState()) === 'completed');
    expect(posts).toBe(1);
    expect(calls.map((call) => call.messageId)).toEqual([undefined, 'posted-42']);
    expect(calls[0]?.idempotencyKey).toBe(calls[1]?.idempotencyKey);
    expect(await store.getMessageRef(threadId, 'status')).toBe('posted-42');
  });

  it('waits as long as a rate limit says, then delivers', async () => {
    const threadId = newThread();
    const calls = startOutbox(async (_delivery, index) => {
      if (index === 0) throw Object.assign(new Error('429 Too Many Requests'), { retryAfterMs: 800 });
      return { messageId: 'm-1' };
    }, 100);
    const { jobId } = await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: 'x' } });
    const job = await waitFor('the job', () => outboxQueue().getJob(jobId));
    await waitFor('the delivery to complete', async () => (await job.getState()) === 'completed');
    expect(calls).toHaveLength(2);
    expect((calls[1]?.at ?? 0) - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(780);
    // The wait used no attempt: only the successful one is counted.
    expect((await outboxQueue().getJob(jobId))?.attemptsMade).toBe(1);
  });

  it('holds every thread of the platform after a global rate limit', async () => {
    const [first, second] = [newThread(), newThread()];
    const calls = startOutbox(async (_delivery, index) => {
      if (index === 0) throw Object.assign(new Error('429 global'), { retryAfterMs: 800, global: true });
      return { messageId: randomBytes(3).toString('hex') };
    }, 0);
    await queues.enqueueOutbox('discord', { threadId: first, key: 'status', message: { text: 'a' } });
    await waitFor('the rate-limited call', () => calls.length === 1);
    await queues.enqueueOutbox('discord', { threadId: second, key: 'status', message: { text: 'b' } });
    await waitFor('both threads to be served', () => calls.length === 3);
    for (const call of calls.slice(1)) expect(call.at - (calls[0]?.at ?? 0)).toBeGreaterThanOrEqual(780);
  });

  it('does not retry a delivery that cannot succeed', async () => {
    const threadId = newThread();
    const calls = startOutbox(async () => {
      throw new LabbotError('CHAT_THREAD_GONE', 'the thread was deleted', { retryable: false });
    });
    const { jobId } = await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: 'x' } });
    const job = await waitFor('the job', () => outboxQueue().getJob(jobId));
    await waitFor('the job to fail', async () => (await job.getState()) === 'failed');
    await sleep(200);
    expect(calls).toHaveLength(1);
    expect((await outboxQueue().getJob(jobId))?.failedReason).toContain('CHAT_THREAD_GONE');
  });

  it('retries an ordinary delivery failure with back-off', async () => {
    const threadId = newThread();
    const calls = startOutbox(async (_delivery, index) => {
      if (index < 2) throw new Error('socket hang up');
      return { messageId: 'm-9' };
    }, 0);
    const { jobId } = await queues.enqueueOutbox('discord', { threadId, key: 'status', message: { text: 'x' } });
    const job = await waitFor('the job', () => outboxQueue().getJob(jobId));
    await waitFor('the job to complete', async () => (await job.getState()) === 'completed');
    expect(calls).toHaveLength(3);
    expect(calls.map((call) => call.messageId)).toEqual([undefined, undefined, undefined]);
    // The outbox waits and tries again itself: a failure a retry can help does not spend a BullMQ attempt.
    expect((await outboxQueue().getJob(jobId))?.attemptsMade).toBe(1);
  });
});
