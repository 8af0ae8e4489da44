import type { AddressInfo } from 'node:net';
import { App, type BlockAction, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSlackDriver,
  createSocketModeDriver,
  type SlackDriver,
  type SlackSim,
  signSlackRequest,
  slackMessageText,
  startSlackSim,
} from './index.js';

const channel = 'C0LABS0001';
const learner = 'U0LEARNER1';
const otherLearner = 'U0LEARNER2';

/**
 * The Web API client's own logger, silent: these tests provoke its rate-limit retries and error answers on purpose
 * and assert them, so its console lines ([WARN] http request failed...) would only be noise in the test output.
 */
const quietLogger: webApi.Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

let sim: SlackSim;
let app: App;
let driver: SlackDriver;
const listenerErrors: unknown[] = [];

beforeAll(async () => {
  sim = await startSlackSim({ users: [{ id: learner, name: 'ada', isAdmin: true }] });
  app = new App({
    token: sim.botToken,
    signingSecret: sim.signingSecret,
    clientOptions: { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } },
    logLevel: LogLevel.ERROR,
  });
  app.error(async (error) => {
    listenerErrors.push(error);
  });

  // A tiny bot: /lab posts a channel message, replies in its thread and edits the reply; Stop is owner-only.
  app.command('/lab', async ({ ack, command, client, respond }) => {
    if (command.text.trim() === '') {
      await ack({ response_type: 'ephemeral', text: 'Usage: /lab start <lesson>' });
      return;
    }
    await ack();
    const root = await client.chat.postMessage({ channel: command.channel_id, text: `Lab for <@${command.user_id}>` });
    const status = await client.chat.postMessage({
      channel: command.channel_id,
      thread_ts: root.ts!,
      text: 'building',
      blocks: [
        { type: 'section', block_id: 'status', text: { type: 'mrkdwn', text: '*Status:* building' } },
        {
          type: 'actions',
          block_id: 'controls',
          elements: [
            {
              type: 'button',
              action_id: 'lab_stop',
              value: command.user_id,
              style: 'danger',
              text: { type: 'plain_text', text: 'Stop' },
            },
          ],
        },
      ],
    });
    await client.chat.update({ channel: command.channel_id, ts: status.ts!, text: '3/3 Running' });
    await respond({ response_type: 'ephemeral', text: 'Your lab is starting.' });
  });
  app.action<BlockAction>('lab_stop', async ({ ack, body, action, respond, client }) => {
    await ack();
    const owner = action.type === 'button' ? action.value : undefined;
    if (body.user.id !== owner) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: 'Only the lab owner can stop it.' });
      return;
    }
    const { channel_id: channelId, message_ts: messageTs } = body.container as Record<string, string>;
    await client.chat.update({ channel: channelId!, ts: messageTs!, text: 'stopped', blocks: [] });
  });

  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as { address(): AddressInfo | string | null };
  const port = (server.address() as AddressInfo).port;
  driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: sim.signingSecret,
    sim,
  });
});

afterAll(async () => {
  await app?.stop();
  await sim?.stop();
});

function resetViolations(): void {
  sim.violations.splice(0);
}

describe('slack-sim with a real Bolt app', () => {
  it('acks a signed slash command fast; postMessage, thread reply and update reach the sim', async () => {
    const answer = await driver.slashCommand({
      text: 'start docker-vs-kubernetes',
      userId: learner,
      channelId: channel,
    });
    expect(answer.status).toBe(200);
    expect(answer.ackMs).toBeLessThan(3_000);
    const [root] = await sim.waitFor(() => {
      const roots = sim.channelMessages(channel);
      return roots.length === 1 && sim.threadReplies(channel, roots[0]!.ts)[0]?.edits.length === 1 ? roots : undefined;
    }, 5_000);
    expect(root!.text).toBe(`Lab for <@${learner}>`);
    const [status] = sim.threadReplies(channel, root!.ts);
    expect(status).toMatchObject({ threadTs: root!.ts, text: '3/3 Running' });
    expect(status!.blocks[1]).toMatchObject({ type: 'actions', block_id: 'controls' });
    expect(slackMessageText(status!)).toBe('*Status:* building');
    expect(sim.calls.map((call) => call.method)).toEqual([
      'auth.test',
      'chat.postMessage',
      'chat.postMessage',
      'chat.update',
    ]);
    await sim.waitFor(() => sim.responsePosts.length === 1, 3_000);
    expect(sim.responsePosts[0]).toMatchObject({ status: 200, body: { text: 'Your lab is starting.' } });
    expect(sim.ephemerals).toEqual([
      expect.objectContaining({ user: learner, text: 'Your lab is starting.', via: 'response_url' }),
    ]);
    expect(listenerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('puts ack() content in the HTTP answer', async () => {
    const answer = await driver.slashCommand({ text: '', userId: learner, channelId: channel });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ response_type: 'ephemeral', text: 'Usage: /lab start <lesson>' });
  });

  it('rejects a forged signature, a stale timestamp and a missing signature with 401', async () => {
    const before = sim.calls.length;
    const forged = await driver.slashCommand({
      text: 'start x',
      userId: learner,
      channelId: channel,
      signature: 'forged',
    });
    const stale = await driver.slashCommand({
      text: 'start x',
      userId: learner,
      channelId: channel,
      timestamp: 'stale',
    });
    const missing = await driver.slashCommand({
      text: 'start x',
      userId: learner,
      channelId: channel,
      signature: 'missing',
    });
    expect([forged.status, stale.status, missing.status]).toEqual([401, 401, 401]);
    expect(sim.calls.length).toBe(before);
  });

  it('signs like Slack (the documented example signature)', () => {
    // From api.slack.com/authentication/verifying-requests-from-slack.
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('delivers a button press; a second learner is refused ephemerally, the owner stops the lab', async () => {
    const [root] = sim.channelMessages(channel);
    const [status] = sim.threadReplies(channel, root!.ts);
    const refused = await driver.blockAction({
      actionId: 'lab_stop',
      value: learner,
      userId: otherLearner,
      channelId: channel,
      messageTs: status!.ts,
      threadTs: root!.ts,
    });
    expect(refused.status).toBe(200);
    await sim.waitFor(() => sim.ephemeralsFor(otherLearner).length === 1, 3_000);
    expect(sim.ephemeralsFor(otherLearner).map(slackMessageText)).toEqual(['Only the lab owner can stop it.']);
    expect(status!.text).toBe('3/3 Running');

    const owner = await driver.blockAction({
      actionId: 'lab_stop',
      value: learner,
      userId: learner,
      channelId: channel,
      messageTs: status!.ts,
    });
    expect(owner.status).toBe(200);
    await sim.waitFor(() => status!.text === 'stopped', 3_000);
    expect(status!.blocks).toEqual([]);
    expect(listenerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('hosts response URLs: ephemeral, in_channel, replace_original, delete_original, at most 5 uses', async () => {
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    const posted = await client.chat.postMessage({ channel, text: 'card' });
    const url = sim.createResponseUrl({ channel, user: learner, messageTs: posted.ts! });
    const post = (body: object) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ text: 'just you' })).status).toBe(200);
    expect((await post({ response_type: 'in_channel', text: 'everyone' })).status).toBe(200);
    expect((await post({ replace_original: true, text: 'card v2' })).status).toBe(200);
    expect(sim.message(channel, posted.ts!)).toMatchObject({ text: 'card v2', edits: [{ via: 'response_url' }] });
    expect((await post({ delete_original: true })).status).toBe(200);
    expect(sim.message(channel, posted.ts!)?.deletedAt).toBeDefined();
    expect((await post({ text: 'fifth' })).status).toBe(200);
    expect((await post({ text: 'sixth' })).status).toBe(404);
    expect(sim.ephemeralsFor(learner).map((e) => e.text)).toEqual(expect.arrayContaining(['just you', 'fifth']));
    expect(sim.channelMessages(channel).some((m) => m.text === 'everyone' && m.via === 'response_url')).toBe(true);
    expect(sim.violations).toEqual([expect.objectContaining({ kind: 'response-url-expired' })]);
    resetViolations();
  });

  it('answers like Slack for a bad token and bad payloads, and notes them', async () => {
    const intruder = new webApi.WebClient('xoxb-wrong', {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(intruder.auth.test()).rejects.toMatchObject({ data: { ok: false, error: 'invalid_auth' } });
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(client.chat.postMessage({ channel, text: '' })).rejects.toMatchObject({ data: { error: 'no_text' } });
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel, text: 'x', blocks: tooMany })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    const longActionId = [
      {
        type: 'actions',
        elements: [{ type: 'button', action_id: 'a'.repeat(256), text: { type: 'plain_text', text: 'Go' } }],
      },
    ];
    await expect(client.chat.postMessage({ channel, text: 'x', blocks: longActionId })).rejects.toMatchObject({
      data: { error: 'invalid_blocks', response_metadata: { messages: [expect.stringContaining('action_id')] } },
    });
    await expect(client.chat.postMessage({ channel: 'C0NOSUCH01', text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    // A user id opens the DM for chat.postMessage only; chat.update needs the D... id it returned.
    const direct = await client.chat.postMessage({ channel: learner, text: 'hello in DM' });
    expect(direct.channel).toMatch(/^D/);
    await expect(client.chat.update({ channel: learner, ts: direct.ts!, text: 'x' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    expect((await client.chat.update({ channel: direct.channel!, ts: direct.ts!, text: 'edited' })).ok).toBe(true);
    expect(sim.violations.map((violation) => violation.kind)).toEqual([
      'invalid-auth',
      'invalid-request',
      'invalid-request',
      'invalid-request',
      'invalid-request',
      'invalid-request',
    ]);
    resetViolations();
  });

  it('answers conversations.info, users.info, postEphemeral and views.open (with a trigger id from the driver)', async () => {
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    expect((await client.conversations.info({ channel })).channel).toMatchObject({ id: channel, name: 'labs' });
    expect((await client.users.info({ user: learner })).user).toMatchObject({
      id: learner,
      name: 'ada',
      is_admin: true,
    });
    expect((await client.users.info({ user: otherLearner })).user).toMatchObject({ is_admin: false });
    const ephemeral = await client.chat.postEphemeral({ channel, user: learner, text: 'only you' });
    expect(ephemeral.message_ts).toMatch(/^\d+\.\d{6}$/);
    const { triggerId } = await driver.slashCommand({ text: '', userId: learner, channelId: channel });
    const opened = await client.views.open({
      trigger_id: triggerId,
      view: { type: 'modal', title: { type: 'plain_text', text: 'Lab' }, blocks: [] },
    });
    expect(opened.view?.id).toMatch(/^V/);
    await expect(
      client.views.open({
        trigger_id: triggerId,
        view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] },
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_trigger_id' } });
    resetViolations();
  });

  it('lists channel history and thread replies, with message metadata, so a restarted bot can find its messages', async () => {
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    const root = await client.chat.postMessage({
      channel,
      text: 'lab root',
      metadata: { event_type: 'labbot_lab', event_payload: { lab: 'lab-1' } },
    });
    await client.chat.postMessage({ channel, thread_ts: root.ts!, text: 'status' });
    const history = await client.conversations.history({ channel, limit: 1 });
    expect(history.messages?.[0]).toMatchObject({ ts: root.ts, metadata: { event_payload: { lab: 'lab-1' } } });
    const replies = await client.conversations.replies({ channel, ts: root.ts! });
    expect(replies.messages?.map((message) => message.text)).toEqual(['lab root', 'status']);
    expect(sim.violations).toEqual([]);
  });

  it('answers 429 with Retry-After; the Web API client waits it out and the retry succeeds', async () => {
    // With retries: 0 @slack/web-api waits Retry-After and then gives up, so this client allows one retry.
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 1, minTimeout: 0, maxTimeout: 0 },
    });
    sim.rateLimit({ method: 'chat.postMessage', count: 1, retryAfterSeconds: 1 });
    const callsBefore = sim.calls.length;
    const posted = await client.chat.postMessage({ channel, text: 'after the rate limit' });
    expect(posted.ok).toBe(true);
    const attempts = sim.calls.slice(callsBefore).filter((call) => call.method === 'chat.postMessage');
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(990); // timers may fire a hair early against Date.now();
    expect(sim.violations).toEqual([]);
  });

  it('with rejectRateLimitedCalls the Web API client hands the 429 back with retryAfter in seconds', async () => {
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
    });
    sim.rateLimit({ method: 'chat.postMessage', count: 1, retryAfterSeconds: 2 });
    await expect(client.chat.postMessage({ channel, text: 'x' })).rejects.toMatchObject({
      code: webApi.ErrorCode.RateLimitedError,
      retryAfter: 2,
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await client.chat.postMessage({ channel, text: 'after waiting' })).ok).toBe(true);
    expect(sim.violations).toEqual([]);
  });

  it('with retries: 0 the Web API client waits Retry-After out and then rejects (what a bot must plan for)', async () => {
    const client = new webApi.WebClient(sim.botToken, {
      logger: quietLogger,
      slackApiUrl: sim.apiUrl,
      retryConfig: { retries: 0 },
    });
    sim.rateLimit({ method: 'chat.update', count: 1, retryAfterSeconds: 1 });
    const callsBefore = sim.calls.length;
    const started = Date.now();
    await expect(client.chat.update({ channel, ts: '1.000001', text: 'x' })).rejects.toThrow(/rate limit/i);
    expect(Date.now() - started).toBeGreaterThanOrEqual(990); // timers may fire a hair early against Date.now()
    expect(sim.calls.slice(callsBefore).map((call) => `${call.method} ${call.status}`)).toEqual(['chat.update 429']);
  });
});

describe('slack-sim Socket Mode with a real Bolt app', () => {
  let socketSim: SlackSim;
  let socketApp: App;

  beforeAll(async () => {
    socketSim = await startSlackSim({ socketPingIntervalMs: 1_000 });
    // The Socket Mode client opens its connection through its own Web API client (installerOptions.clientOptions);
    // it waits clientPingTimeout before reconnecting, 5 s by default.
    const receiver = new SocketModeReceiver({
      appToken: socketSim.appToken,
      clientPingTimeout: 300,
      installerOptions: { clientOptions: { slackApiUrl: socketSim.apiUrl } },
      logLevel: LogLevel.ERROR,
    });
    socketApp = new App({
      token: socketSim.botToken,
      receiver,
      clientOptions: { slackApiUrl: socketSim.apiUrl, retryConfig: { retries: 0 } },
      logLevel: LogLevel.ERROR,
    });
    socketApp.command('/lab', async ({ ack, command, client }) => {
      await ack({ response_type: 'ephemeral', text: `got ${command.text}` });
      await client.chat.postMessage({ channel: command.channel_id, text: `Lab for <@${command.user_id}>` });
    });
    socketApp.command('/slow', async ({ ack }) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await ack();
    });
    await socketApp.start();
    await socketSim.waitFor(() => socketSim.socketModeConnections() === 1, 5_000);
  });

  afterAll(async () => {
    await socketApp?.stop();
    await socketSim?.stop();
  });

  it('opens the connection with the app token, acks an envelope with its payload, and calls the Web API', async () => {
    expect(socketSim.callsTo('apps.connections.open')).toEqual([expect.objectContaining({ ok: true })]);
    const socketDriver = createSocketModeDriver({ sim: socketSim });
    const answer = await socketDriver.slashCommand({
      text: 'start docker-vs-kubernetes',
      userId: learner,
      channelId: channel,
    });
    expect(answer.body).toEqual({ response_type: 'ephemeral', text: 'got start docker-vs-kubernetes' });
    expect(answer.ackMs).toBeLessThan(3_000);
    await socketSim.waitFor(() => socketSim.channelMessages(channel).length === 1, 3_000);
    expect(socketSim.violations).toEqual([]);
  });

  it('reconnects when the sim asks it to (disconnect: refresh_requested) and keeps receiving', async () => {
    socketSim.disconnectSocketMode();
    await socketSim.waitFor(() => socketSim.callsTo('apps.connections.open').length === 2, 5_000);
    await socketSim.waitFor(() => socketSim.socketModeConnections() === 1, 5_000);
    const answer = await createSocketModeDriver({ sim: socketSim }).slashCommand({
      text: 'status',
      userId: learner,
      channelId: channel,
    });
    expect(answer.body).toMatchObject({ text: 'got status' });
  });

  it('notes an envelope the app does not acknowledge in time, and the late ack', async () => {
    const slowDriver = createSocketModeDriver({ sim: socketSim, timeoutMs: 100 });
    await expect(
      slowDriver.slashCommand({ command: '/slow', text: '', userId: learner, channelId: channel }),
    ).rejects.toThrow(/not acknowledged/);
    await socketSim.waitFor(() => socketSim.violations.length === 2, 3_000);
    expect(socketSim.violations.map((violation) => violation.kind)).toEqual(['late-ack', 'unknown-envelope']);
    socketSim.violations.splice(0);
  });

  it('refuses the bot token for apps.connections.open and the app token for other methods', async () => {
    const withBotToken = new webApi.WebClient(socketSim.botToken, {
      logger: quietLogger,
      slackApiUrl: socketSim.apiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(withBotToken.apps.connections.open()).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
    const withAppToken = new webApi.WebClient(socketSim.appToken, {
      logger: quietLogger,
      slackApiUrl: socketSim.apiUrl,
      retryConfig: { retries: 0 },
    });
    await expect(withAppToken.auth.test()).rejects.toMatchObject({ data: { error: 'not_allowed_token_type' } });
    socketSim.violations.splice(0);
  });
});
