import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChatHandlers,
  decodeThreadId,
  encodeButtonId,
  type IncomingAction,
  type IncomingCommand,
  RateLimitedError,
} from '@labbot/chat';
import { type ChatContractHarness, describeChatAdapterContract } from '@labbot/chat/testing';
import { LabbotError } from '@labbot/core';
import {
  createSlackDriver,
  createSocketModeDriver,
  type JsonObject,
  type SlackDriver,
  type SlackSim,
  signSlackRequest,
  startSlackSim,
} from '@labbot/slack-sim';
import { waitFor, waitForValue } from '@labbot/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { renderSlackMessage } from './cards.js';
import { createSlackAdapter, type SlackAdapterOptions, type SlackChatAdapter } from './slack-adapter.js';

const CHANNEL = 'C0LABS0001';

/** What a user sees of a Slack message: its blocks' texts (the fallback only when there are none). */
export function visibleText(message: { text: string; blocks: JsonObject[] }): string {
  if (message.blocks.length === 0) return message.text;
  const parts: string[] = [];
  const textOf = (value: unknown) =>
    typeof value === 'object' && value !== null && typeof (value as JsonObject)['text'] === 'string'
      ? String((value as JsonObject)['text'])
      : undefined;
  for (const block of message.blocks) {
    const text = textOf(block['text']);
    if (text !== undefined) parts.push(text);
    for (const key of ['fields', 'elements']) {
      const list = block[key];
      if (!Array.isArray(list)) continue;
      for (const item of list) {
        const own = textOf(item) ?? textOf((item as JsonObject)['text']);
        if (own !== undefined) parts.push(key === 'elements' && block['type'] === 'actions' ? `[${own}]` : own);
      }
    }
  }
  return parts.join('\n');
}

interface SlackHarness extends ChatContractHarness {
  sim: SlackSim;
  adapter: SlackChatAdapter;
  driver(): SlackDriver;
}

async function slackHarness(mode: 'http' | 'socket', extra: Partial<SlackAdapterOptions> = {}): Promise<SlackHarness> {
  const sim = await startSlackSim();
  const adapter = createSlackAdapter({
    botToken: sim.botToken,
    signingSecret: sim.signingSecret,
    apiUrl: sim.apiUrl,
    port: 0,
    mode,
    ...(mode === 'socket' ? { appToken: sim.appToken } : {}),
    ...extra,
  });
  let driver: SlackDriver | undefined;
  // The receiver's port is known once the contract suite has started the adapter.
  const getDriver = () => {
    driver ??=
      mode === 'socket'
        ? createSocketModeDriver({ sim })
        : createSlackDriver({
            targetUrl: `http://127.0.0.1:${adapter.port()}/slack/events`,
            signingSecret: sim.signingSecret,
            sim,
          });
    return driver;
  };
  return {
    sim,
    adapter,
    driver: getDriver,
    sendCommand: async ({ text, userId }) => {
      const answer = await getDriver().slashCommand({ text, userId, channelId: CHANNEL });
      expect(answer.status).toBe(200);
    },
    pressButton: async ({ threadId, messageId, customId, userId }) => {
      const address = decodeThreadId(threadId);
      const answer = await getDriver().blockAction({
        actionId: customId,
        userId,
        channelId: address?.channelId ?? CHANNEL,
        messageTs: messageId,
        ...(address ? { threadTs: address.threadId } : {}),
      });
      expect(answer.status).toBe(200);
    },
    threadTexts: async (threadId) => {
      const address = decodeThreadId(threadId);
      return address ? sim.threadReplies(address.channelId, address.threadId).map(visibleText) : [];
    },
    channelTexts: async (userId) => [
      ...sim.channelMessages(CHANNEL).map(visibleText),
      ...sim.ephemerals.filter((e) => e.user === userId && e.channel === CHANNEL).map(visibleText),
    ],
    ephemeralTexts: async (userId) => sim.ephemerals.filter((e) => e.user === userId).map(visibleText),
    close: async () => {
      const violations = [...sim.violations];
      await sim.stop();
      expect(violations).toEqual([]);
    },
  };
}

describeChatAdapterContract('slack (HTTP receiver against slack-sim)', () => slackHarness('http'));
describeChatAdapterContract('slack (Socket Mode against slack-sim)', () => slackHarness('socket'));

describe('Slack adapter', () => {
  let harness: SlackHarness | undefined;
  const commands: IncomingCommand[] = [];
  const actions: IncomingAction[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    await harness?.adapter.stop();
    await harness?.close();
    harness = undefined;
    commands.length = 0;
    actions.length = 0;
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function started(handlers: Partial<ChatHandlers> = {}, extra: Partial<SlackAdapterOptions> = {}) {
    harness = await slackHarness('http', extra);
    await harness.adapter.start({
      onCommand: async (command) => {
        commands.push(command);
        await handlers.onCommand?.(command);
      },
      onAction: async (action) => {
        actions.push(action);
        await handlers.onAction?.(action);
      },
    });
    return harness;
  }

  async function openLabThread(h: SlackHarness): Promise<string> {
    let threadId = '';
    const previous = commands.length;
    await h.sendCommand({ text: 'start demo', userId: 'U0LEARNER1' });
    await waitForValue(
      'n > previous',
      () => commands.length,
      (n) => n > previous,
    );
    threadId = await commands.at(-1)!.respond.openThread({
      announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
      title: 'lab',
    });
    return threadId;
  }

  it('refuses forged, unsigned and stale requests with 401 and never calls a handler', async () => {
    const h = await started();
    const driver = h.driver();
    for (const signing of [{ signature: 'forged' }, { signature: 'missing' }, { timestamp: 'stale' }] as const) {
      const answer = await driver.slashCommand({
        text: 'start demo',
        userId: 'U0LEARNER1',
        channelId: CHANNEL,
        ...signing,
      });
      expect(answer.status, JSON.stringify(signing)).toBe(401);
    }
    const forgedPress = await driver.blockAction({
      actionId: 'lab:stop:abc123',
      userId: 'U0LEARNER1',
      channelId: CHANNEL,
      messageTs: '1.000001',
      signature: 'forged',
    });
    expect(forgedPress.status).toBe(401);
    // A valid command sent after them arrives: once it is handled, the refused ones had every chance to be too.
    const valid = await driver.slashCommand({
      text: 'status after forgeries',
      userId: 'U0LEARNER1',
      channelId: CHANNEL,
    });
    expect(valid.status).toBe(200);
    await waitFor('the valid command', () => commands.length > 0);
    expect(commands.map((command) => command.text)).toEqual(['status after forgeries']);
    expect(actions).toHaveLength(0);
  });

  it('answers a command that comes on a connection idle for 6 s (Node closed such a connection at 5 s, as the sender reused it)', async () => {
    const h = await started();
    // One connection, kept alive between the two requests as Slack or a proxy in front keeps it.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    const send = (userId: string) =>
      new Promise<{ status: number; sameConnection: boolean }>((resolve, reject) => {
        const body = new URLSearchParams({
          token: 'deprecated-verification-token',
          team_id: h.sim.teamId,
          channel_id: CHANNEL,
          user_id: userId,
          command: '/lab',
          text: 'status',
          response_url: h.sim.createResponseUrl({ channel: CHANNEL, user: userId }),
          trigger_id: h.sim.createTriggerId(),
        }).toString();
        const timestamp = Math.floor(Date.now() / 1000);
        const sent = httpRequest(
          {
            host: '127.0.0.1',
            port: h.adapter.port(),
            path: '/slack/events',
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-slack-request-timestamp': String(timestamp),
              'x-slack-signature': signSlackRequest(h.sim.signingSecret, timestamp, body),
            },
          },
          (response) => {
            response.resume();
            response.on('end', () => resolve({ status: response.statusCode ?? 0, sameConnection: sent.reusedSocket }));
          },
        );
        sent.on('error', reject);
        sent.end(body);
      });
    expect(await send('U0IDLE0001')).toEqual({ status: 200, sameConnection: false });
    await new Promise((resolve) => setTimeout(resolve, 6000));
    expect(await send('U0IDLE0002')).toEqual({ status: 200, sameConnection: true });
    await waitFor('both commands handled', () => commands.length === 2);
  }, 20_000);

  it('acknowledges at once even when the handler takes longer than Slack waits', async () => {
    const h = await started({
      onCommand: async (command) => {
        await new Promise((resolve) => setTimeout(resolve, 3500));
        await command.respond.reply({ blocks: [{ kind: 'text', text: 'done after a while' }] }, { ephemeral: true });
      },
    });
    const answer = await h.driver().slashCommand({ text: 'status', userId: 'U0LEARNER1', channelId: CHANNEL });
    expect(answer.status).toBe(200);
    // Within Slack's real deadline, and before the handler finished (its answer is not there yet).
    expect(answer.ackMs).toBeLessThan(3000);
    expect(h.sim.ephemerals.map(visibleText)).not.toContain('done after a while');
    const seen = await waitForValue(
      "texts.includes('done after a while')",
      () => h.sim.ephemerals.map(visibleText),
      (texts) => texts.includes('done after a while'),
      6000,
    );
    expect(seen).toContain('done after a while');
  });

  it('gives the actor the instructor role when their member id is listed', async () => {
    const h = await started({}, { instructorUserIds: ['U0TEACHER1'] });
    await h.sendCommand({ text: 'class start demo', userId: 'U0TEACHER1' });
    await h.sendCommand({ text: 'class start demo', userId: 'U0LEARNER1' });
    await waitForValue(
      'n === 2',
      () => commands.length,
      (n) => n === 2,
    );
    expect(commands.map((c) => c.actor)).toEqual([
      { platform: 'slack', workspaceId: h.sim.teamId, userId: 'U0TEACHER1', roles: ['instructor'] },
      { platform: 'slack', workspaceId: h.sim.teamId, userId: 'U0LEARNER1', roles: [] },
    ]);
  });

  it('opens the thread under a channel message and posts the status in it with thread_ts, as rendered', async () => {
    const h = await started();
    const threadId = await openLabThread(h);
    const address = decodeThreadId(threadId);
    expect(address).toMatchObject({ platform: 'slack', workspaceId: h.sim.teamId, channelId: CHANNEL });
    expect(h.sim.channelMessages(CHANNEL).map((m) => m.ts)).toEqual([address?.threadId]);
    const message = {
      title: 'docker-vs-kubernetes · ready',
      tone: 'success' as const,
      blocks: [{ kind: 'table' as const, columns: ['NAME', 'READY'], rows: [['web-1', '1/1']] }],
      buttons: [{ action: 'stop' as const, target: 'abc123', label: 'Stop', style: 'danger' as const }],
    };
    const ts = await h.adapter.postMessage(threadId, message);
    const [post] = h.sim.callsTo('chat.postMessage').slice(-1);
    // The exact JSON sent is the renderer's (checked by the golden files), in the lab's thread.
    expect(post?.body).toMatchObject({
      channel: CHANNEL,
      thread_ts: address?.threadId,
      ...renderSlackMessage(message),
    });
    await h.adapter.editMessage(threadId, ts, { ...message, title: 'docker-vs-kubernetes · stopped', buttons: [] });
    const [update] = h.sim.callsTo('chat.update');
    expect(update?.body).toMatchObject({ channel: CHANNEL, ts, text: expect.stringContaining('stopped') });
    expect(h.sim.threadReplies(CHANNEL, address?.threadId ?? '')).toHaveLength(1);
  });

  it('passes a button press with who pressed it, in which thread, and answers them only', async () => {
    const h = await started({
      onAction: async (action) => action.respond.error('You can only use your own labs.'),
    });
    const threadId = await openLabThread(h);
    const ts = await h.adapter.postMessage(threadId, {
      blocks: [{ kind: 'text', text: 'status' }],
      buttons: [{ action: 'stop', target: 'abc123', label: 'Stop', style: 'danger' }],
    });
    await h.pressButton({ threadId, messageId: ts, customId: 'lab:stop:abc123', userId: 'U0INTRUDER' });
    await waitForValue(
      'n === 1',
      () => actions.length,
      (n) => n === 1,
    );
    expect(actions[0]).toMatchObject({
      action: 'stop',
      target: 'abc123',
      actor: { userId: 'U0INTRUDER' },
      conversation: { threadId },
    });
    const ephemerals = await waitForValue(
      'list.length === 1',
      () => h.sim.ephemerals,
      (list) => list.length === 1,
    );
    expect(ephemerals[0]).toMatchObject({ user: 'U0INTRUDER', text: expect.stringContaining('your own labs') });
  });

  it('marks direct messages, and explains a channel it cannot post in', async () => {
    const h = await started();
    await h.driver().slashCommand({ text: 'start demo', userId: 'U0LEARNER1', channelId: 'D0LEARNER1' });
    await waitForValue(
      'n === 1',
      () => commands.length,
      (n) => n === 1,
    );
    expect(commands[0]?.conversation).toMatchObject({ channelId: 'D0LEARNER1', isDirect: true });
    await h.sendCommand({ text: 'start demo', userId: 'U0LEARNER1' });
    await waitForValue(
      'n === 2',
      () => commands.length,
      (n) => n === 2,
    );
    expect(commands[1]?.conversation.isDirect).toBeUndefined();
    h.sim.failRequests({ method: 'chat.postMessage', error: 'not_in_channel' });
    const refused = await commands[1]!.respond
      .openThread({ announcement: { blocks: [{ kind: 'text', text: 'Starting' }] }, title: 'lab' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'SLACK_API_ERROR', retryable: false });
    expect((refused as LabbotError).userMessage).toContain('/invite @labbot');
    h.sim.violations.length = 0;
  });

  it('ignores buttons that are not ours', async () => {
    const h = await started();
    const answer = await h.driver().blockAction({
      actionId: 'someone-else:thing',
      userId: 'U0LEARNER1',
      channelId: CHANNEL,
      messageTs: '1.000001',
    });
    expect(answer.status).toBe(200);
    // A press of our own button sent afterwards arrives alone: the foreign one was dropped, not merely slow.
    const ours = await h.driver().blockAction({
      actionId: encodeButtonId({ action: 'stop', target: 'abc123abc123' }),
      userId: 'U0LEARNER1',
      channelId: CHANNEL,
      messageTs: '1.000001',
    });
    expect(ours.status).toBe(200);
    await waitFor('our own button press', () => actions.length > 0);
    expect(actions.map((action) => action.action)).toEqual(['stop']);
  });

  it('turns a 429 into RateLimitedError with Slack’s Retry-After, without retrying early itself', async () => {
    const h = await started();
    const threadId = await openLabThread(h);
    h.sim.rateLimit({ method: 'chat.postMessage', count: 1, retryAfterSeconds: 2 });
    const postsBefore = h.sim.callsTo('chat.postMessage').length;
    const error = await h.adapter.postMessage(threadId, { blocks: [{ kind: 'text', text: 'x' }] }).catch((e) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(2000);
    // Slack limits a method for the whole workspace: the outbox holds every thread, not just this one.
    expect(error).toMatchObject({ retryAfterMs: 2000, global: true });
    // Thrown on the first 429, so the outbox (not the client) does the waiting: one call, no retry.
    expect(h.sim.callsTo('chat.postMessage').length - postsBefore).toBe(1);
    expect(h.sim.violations).toEqual([]);
  });

  it('says whether a refused call can ever succeed', async () => {
    const h = await started();
    const threadId = await openLabThread(h);
    const gone = await h.adapter
      .editMessage(threadId, '1.999999', { blocks: [{ kind: 'text', text: 'x' }] })
      .catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(LabbotError);
    expect(gone).toMatchObject({ code: 'CHAT_MESSAGE_GONE', retryable: false });
    h.sim.failRequests({ method: 'chat.update', error: 'internal_error' });
    const transient = await h.adapter
      .editMessage(threadId, '1.999999', { blocks: [{ kind: 'text', text: 'x' }] })
      .catch((e: unknown) => e);
    expect(transient).toMatchObject({ code: 'SLACK_API_ERROR', retryable: true });
    // The sim notes refused calls; these were on purpose.
    h.sim.violations.length = 0;
  });

  it('a post whose answer was lost is found in the thread instead of posted twice', async () => {
    const h = await started();
    const threadId = await openLabThread(h);
    // A proxy in front of the sim that lets the first threaded post through but drops Slack's answer.
    const proxy = await startLossyProxy(h.sim.port, (body) => body.includes('thread_ts'));
    cleanups.push(() => new Promise((resolve) => proxy.server.close(() => resolve())));
    const lossy = createSlackAdapter({
      botToken: h.sim.botToken,
      signingSecret: h.sim.signingSecret,
      apiUrl: `http://127.0.0.1:${proxy.port}/api/`,
      port: 0,
    });
    const ts = await lossy.postMessage(threadId, { title: 'Status', blocks: [{ kind: 'text', text: 'building' }] });
    expect(proxy.dropped).toBe(1);
    const address = decodeThreadId(threadId)!;
    const replies = h.sim.threadReplies(address.channelId, address.threadId);
    expect(replies.map((m) => m.ts)).toEqual([ts]);
    await lossy.stop();
  });
});

/** An HTTP proxy that forwards everything and, for the first request matching `drop`, cuts the answer. */
async function startLossyProxy(
  targetPort: number,
  drop: (body: string) => boolean,
): Promise<{ server: Server; port: number; dropped: number }> {
  const state = { dropped: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = httpRequest(
        { host: '127.0.0.1', port: targetPort, path: request.url, method: request.method, headers: request.headers },
        (answer) => {
          if (state.dropped === 0 && drop(body.toString())) {
            // Slack did the work; the caller never hears about it.
            state.dropped += 1;
            answer.resume();
            answer.on('end', () => response.socket?.destroy());
            return;
          }
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(state, { server, port: (server.address() as AddressInfo).port });
}
