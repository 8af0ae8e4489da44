import {
  type ChatAdapter,
  type ChatMessage,
  ChatMessageSchema,
  MESSAGE_GONE_CODE,
  THREAD_GONE_CODE,
} from '@labbot/chat';
import type { Logger } from '@labbot/config';
import { LabbotError, type LabRecord } from '@labbot/core';
import type { DeliveryResult, OutboxDelivery } from '@labbot/queue';
import type { LabStore } from '@labbot/store';

export interface ChatDeliveryOptions {
  adapter: ChatAdapter;
  store: LabStore;
  logger?: Logger;
}

/** How many deleted threads in a row one delivery follows (each replaced by the next) before it gives up. */
const MAX_THREAD_HOPS = 5;

/** The title of a lab's thread (Discord shows it; Slack has none). */
export function labThreadTitle(record: Pick<LabRecord, 'lessonId' | 'variant' | 'owner'>): string {
  return `lab · ${record.lessonId}${record.variant ? ` · ${record.variant}` : ''} · ${record.owner.userId}`.slice(
    0,
    90,
  );
}

/** The first message of a thread opened because the lab's thread was deleted: says so, to the learner. */
export function threadReopenedNotice(record: LabRecord | undefined): ChatMessage {
  const text = record
    ? `<@${record.owner.userId}> the thread of your ${record.lessonId} lab was deleted, so its status continues in this new thread. Type /lab commands for this lab here.`
    : 'The thread these messages belonged to was deleted, so they continue in this new thread.';
  return { tone: 'warning', blocks: [{ kind: 'text', text }] };
}

const hasCode = (error: unknown, code: string) => error instanceof LabbotError && error.code === code;

/**
 * Delivers one outbox item through the adapter: edits the message that shows its key, posts it again when that
 * message was deleted, and when the whole thread was deleted opens a new one (the adapter's `reopenThread`),
 * says so there, moves the lab to it and sends every later delivery of the old thread there too.
 */
export function createChatDelivery(
  options: ChatDeliveryOptions,
): (delivery: OutboxDelivery) => Promise<DeliveryResult> {
  const { adapter, store, logger } = options;
  /** Replacements under way in this process, by deleted thread: concurrent deliveries of one thread open one new thread. */
  const reopening = new Map<string, Promise<string>>();

  /** The thread a delivery really goes to: its own, or whatever replaced it after a deletion (followed to the end). */
  async function currentThread(threadId: string): Promise<string> {
    let current = threadId;
    for (let hop = 0; hop < MAX_THREAD_HOPS; hop++) {
      const next = await store.getThreadReplacement(current);
      if (!next) return current;
      current = next;
    }
    return current;
  }

  async function reopen(goneThreadId: string, labId: string | undefined): Promise<string> {
    const reopenThread = adapter.reopenThread?.bind(adapter);
    if (!reopenThread) throw new LabbotError(THREAD_GONE_CODE, `thread ${goneThreadId} is gone`, { retryable: false });
    const lab = labId ? await store.get(labId) : undefined;
    const replacement = await reopenThread(goneThreadId, {
      notice: threadReopenedNotice(lab),
      title: lab ? labThreadTitle(lab) : 'labbot',
    });
    await store.setThreadReplacement(goneThreadId, replacement);
    if (lab?.threadId === goneThreadId) {
      // Commands typed in the new thread find the lab, and its next status goes there directly.
      await store.update(lab.labId, (current) =>
        current.threadId === goneThreadId ? { ...current, threadId: replacement } : undefined,
      );
    }
    logger?.warn({ labId, goneThreadId, replacement }, 'the thread was deleted: opened a new one');
    return replacement;
  }

  function reopenOnce(goneThreadId: string, labId: string | undefined): Promise<string> {
    const running = reopening.get(goneThreadId);
    if (running) return running;
    const work = reopen(goneThreadId, labId).finally(() => reopening.delete(goneThreadId));
    reopening.set(goneThreadId, work);
    return work;
  }

  /** Edits `messageId` when given (posting again if that message is gone), else posts; returns the message id. */
  async function deliverIn(
    threadId: string,
    messageId: string | undefined,
    delivery: OutboxDelivery,
    message: ChatMessage,
  ) {
    if (messageId) {
      try {
        await adapter.editMessage(threadId, messageId, message);
        return messageId;
      } catch (error) {
        // Someone deleted the message: post it again (and remember the new one) instead of failing forever.
        if (!hasCode(error, MESSAGE_GONE_CODE)) throw error;
      }
    }
    const posted = await adapter.postMessage(threadId, message, { idempotencyKey: delivery.idempotencyKey });
    if (threadId === delivery.threadId) await delivery.recordMessageId(posted);
    else await store.setMessageRef(threadId, delivery.key, posted);
    return posted;
  }

  return async (delivery) => {
    const parsed = ChatMessageSchema.safeParse(delivery.message);
    if (!parsed.success) {
      // A malformed message will not get better by retrying.
      throw new LabbotError('CHAT_MESSAGE_INVALID', `invalid outbox message: ${parsed.error.message}`, {
        retryable: false,
      });
    }
    const message = parsed.data;
    let threadId = await currentThread(delivery.threadId);
    for (let hop = 0; ; hop++) {
      // In a replacement thread, the message that shows this key is the one recorded there.
      const messageId =
        threadId === delivery.threadId ? delivery.messageId : await store.getMessageRef(threadId, delivery.key);
      try {
        return { messageId: await deliverIn(threadId, messageId, delivery, message) };
      } catch (error) {
        if (!hasCode(error, THREAD_GONE_CODE) || hop >= MAX_THREAD_HOPS) throw error;
        threadId = await reopenOnce(threadId, delivery.labId);
      }
    }
  };
}
