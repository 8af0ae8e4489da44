import {
  type ChatAdapter,
  type ChatMessage,
  decodeThreadId,
  encodeThreadId,
  MESSAGE_GONE_CODE,
  THREAD_GONE_CODE,
} from '@labbot/chat';
import { createLabRecord, LabbotError } from '@labbot/core';
import type { OutboxDelivery } from '@labbot/queue';
import type { LabStore } from '@labbot/store';
import { createMemoryLabStore } from '@labbot/store/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { createChatDelivery } from './chat-delivery.js';

const thread = (id: string) =>
  encodeThreadId({ platform: 'discord', workspaceId: 'g1', channelId: 'c1', threadId: id });
const text = (value: string): ChatMessage => ({ blocks: [{ kind: 'text', text: value }] });
const textOf = (message: ChatMessage) => message.blocks.map((block) => ('text' in block ? block.text : '')).join(' ');

/** A chat platform in memory: threads hold messages; a deleted thread refuses everything with THREAD_GONE. */
function createMemoryChat(options: { canReopen: boolean }) {
  const threads = new Map<string, Map<string, string>>([['t1', new Map()]]);
  const deleted = new Set<string>();
  let next = 1;
  const reopened: { notice: string; title: string }[] = [];
  const inThread = (threadId: string) => {
    const id = decodeThreadId(threadId)?.threadId ?? '';
    if (deleted.has(id)) throw new LabbotError(THREAD_GONE_CODE, `thread ${id} is gone`, { retryable: false });
    const messages = threads.get(id);
    if (!messages) throw new Error(`no thread ${id}`);
    return messages;
  };
  const adapter: ChatAdapter = {
    platform: 'discord',
    capabilities: { supportsThreads: true, supportsEphemeral: true, supportsButtons: true, maxMessageLength: 4000 },
    start: async () => {},
    stop: async () => {},
    postMessage: async (threadId, message) => {
      const id = `m${next++}`;
      inThread(threadId).set(id, textOf(message));
      return id;
    },
    editMessage: async (threadId, messageId, message) => {
      const messages = inThread(threadId);
      if (!messages.has(messageId)) throw new LabbotError(MESSAGE_GONE_CODE, 'gone', { retryable: false });
      messages.set(messageId, textOf(message));
    },
    ...(options.canReopen
      ? {
          reopenThread: async (_threadId: string, request: { notice: ChatMessage; title: string }) => {
            reopened.push({ notice: textOf(request.notice), title: request.title });
            const id = `t${threads.size + 1}`;
            threads.set(id, new Map());
            return thread(id);
          },
        }
      : {}),
  };
  return { adapter, threads, deleted, reopened };
}

let store: LabStore;

beforeEach(() => {
  store = createMemoryLabStore();
});

async function labIn(threadId: string) {
  const record = createLabRecord({
    owner: { platform: 'discord', workspaceId: 'g1', userId: 'ada' },
    lessonId: 'docker-vs-kubernetes',
    ttlMinutes: 60,
    threadId,
  });
  return (await store.create(record)).record;
}

function deliveryOf(labId: string, threadId: string, message: string, messageId?: string): OutboxDelivery {
  return {
    platform: 'discord',
    threadId,
    key: 'status',
    message: text(message),
    labId,
    messageId,
    idempotencyKey: 'key',
    recordMessageId: (id) => store.setMessageRef(threadId, 'status', id),
  };
}

describe('chat delivery when the lab thread was deleted', () => {
  it('opens a new thread once, says so to the learner, moves the lab there and keeps editing one status message', async () => {
    const chat = createMemoryChat({ canReopen: true });
    const deliver = createChatDelivery({ adapter: chat.adapter, store });
    const lab = await labIn(thread('t1'));
    const first = await deliver(deliveryOf(lab.labId, thread('t1'), 'building'));
    chat.deleted.add('t1');

    // Two deliveries of the old thread at once (the status and the check results): one new thread opens for both.
    const [moved, checks] = await Promise.all([
      deliver(deliveryOf(lab.labId, thread('t1'), 'ready 3/3', first.messageId)),
      deliver({ ...deliveryOf(lab.labId, thread('t1'), 'checks passed'), key: 'checks' }),
    ]);
    expect(chat.reopened).toHaveLength(1);
    expect(chat.reopened[0]?.notice).toContain('<@ada>');
    expect(chat.reopened[0]?.notice).toContain('was deleted');
    expect(chat.reopened[0]?.title).toContain('docker-vs-kubernetes');
    expect((await store.get(lab.labId))?.threadId).toBe(thread('t2'));
    expect(chat.threads.get('t2')?.get(moved.messageId)).toBe('ready 3/3');
    expect(chat.threads.get('t2')?.get(checks.messageId)).toBe('checks passed');

    // Later deliveries, of the new thread or of the old one, edit that same message.
    await deliver(deliveryOf(lab.labId, thread('t2'), 'stopped', await store.getMessageRef(thread('t2'), 'status')));
    await deliver(deliveryOf(lab.labId, thread('t1'), 'stopped again', moved.messageId));
    expect(chat.threads.get('t2')?.get(moved.messageId)).toBe('stopped again');
    expect(chat.threads.get('t2')?.size).toBe(2);
    expect(chat.reopened).toHaveLength(1);
  });

  it('fails for good (no retry can help) on a platform that cannot open a new thread', async () => {
    const chat = createMemoryChat({ canReopen: false });
    const deliver = createChatDelivery({ adapter: chat.adapter, store });
    const lab = await labIn(thread('t1'));
    chat.deleted.add('t1');
    const failure = await deliver(deliveryOf(lab.labId, thread('t1'), 'ready')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(LabbotError);
    expect((failure as LabbotError).code).toBe(THREAD_GONE_CODE);
    expect((failure as LabbotError).retryable).toBe(false);
    expect((await store.get(lab.labId))?.threadId).toBe(thread('t1'));
  });

  it('posts the status again when only the status message was deleted, in the same thread', async () => {
    const chat = createMemoryChat({ canReopen: true });
    const deliver = createChatDelivery({ adapter: chat.adapter, store });
    const lab = await labIn(thread('t1'));
    const first = await deliver(deliveryOf(lab.labId, thread('t1'), 'building'));
    chat.threads.get('t1')?.delete(first.messageId);
    const second = await deliver(deliveryOf(lab.labId, thread('t1'), 'ready', first.messageId));
    expect(second.messageId).not.toBe(first.messageId);
    expect(chat.threads.get('t1')?.get(second.messageId)).toBe('ready');
    expect(chat.reopened).toEqual([]);
  });
});
