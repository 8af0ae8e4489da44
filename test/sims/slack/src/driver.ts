import { createHmac, randomBytes } from 'node:crypto';
import type { SlackSim } from './slack-sim.js';
import type { JsonObject } from './types.js';

/** Options of createSlackDriver. */
export interface SlackDriverOptions {
  /** The Bolt receiver's events URL, e.g. 'http://127.0.0.1:P/slack/events'. */
  targetUrl: string;
  /** The signing secret the app verifies with. */
  signingSecret: string;
  /** The sim hosting response URLs and trigger ids (and knowing messages for block_actions); optional. */
  sim?: SlackSim;
  /** Workspace id (default: the sim's, else 'T0LABBOT01'). */
  teamId?: string;
  /** Give up on the app's answer after this many ms (default 5000). */
  timeoutMs?: number;
}

/** How a request is signed: correctly (default), with a wrong signature, without one, or with a stale timestamp. */
export interface SigningOptions {
  /** 'valid' (default), 'forged' (HMAC with another secret) or 'missing' (no signature headers). */
  signature?: 'valid' | 'forged' | 'missing';
  /** Request timestamp in seconds, or 'stale' (six minutes ago, signed correctly); default now. */
  timestamp?: number | 'stale';
}

/** A slash command invocation as Slack sends it. */
export interface SlashCommandRequest extends SigningOptions {
  /** Command, default '/lab'. */
  command?: string;
  /** Everything after the command. */
  text: string;
  /** Invoking user. */
  userId: string;
  /** User handle. */
  userName?: string;
  /** Channel the command was typed in. */
  channelId: string;
  /** Channel name. */
  channelName?: string;
  /** Workspace id (default the driver's). */
  teamId?: string;
  /** response_url to send; by default one hosted by the sim (or a dead local URL without a sim). */
  responseUrl?: string;
}

/** A button press (block_actions) as Slack sends it. */
export interface BlockActionRequest extends SigningOptions {
  /** action_id of the button. */
  actionId: string;
  /** The button's value. */
  value?: string;
  /** block_id of the actions block (looked up in the sim's message when omitted). */
  blockId?: string;
  /** Who pressed it. */
  userId: string;
  /** Channel of the message. */
  channelId: string;
  /** ts of the message carrying the button. */
  messageTs: string;
  /** Thread of the message, if it is a reply. */
  threadTs?: string;
  /** response_url to send; by default one hosted by the sim. */
  responseUrl?: string;
}

/** A submitted modal (view_submission) as Slack sends it: the view the app opened, with the user's input. */
export interface ViewSubmissionRequest extends SigningOptions {
  /** The view as the sim stored it from views.open (its callback_id, private_metadata, blocks). */
  view: JsonObject;
  /** What the user typed: block_id → action_id → value. */
  values: Record<string, Record<string, string>>;
  /** Who submitted it. */
  userId: string;
}

/** What the app answered. */
export interface DriverResponse {
  /** HTTP status (200 acked, 401 bad signature...). */
  status: number;
  /** Parsed JSON body, or the raw text when not JSON, or undefined when empty. */
  body: unknown;
  /** ms from sending the request to the HTTP answer (Slack wants it within 3000). */
  ackMs: number;
  /** The response_url sent in the payload. */
  responseUrl: string;
  /** The trigger_id sent in the payload. */
  triggerId: string;
}

/** Sends correctly signed (or deliberately badly signed) Slack requests to a Bolt app. */
export interface SlackDriver {
  /** Sends a slash command (form-encoded, signed v0) and returns the app's answer and ack time. */
  slashCommand(request: SlashCommandRequest): Promise<DriverResponse>;
  /** Sends a block_actions payload (payload= JSON form field, signed v0) for a button press. */
  blockAction(request: BlockActionRequest): Promise<DriverResponse>;
  /** Sends a view_submission payload for a modal the app opened (payload= JSON form field, signed v0). */
  viewSubmission(request: ViewSubmissionRequest): Promise<DriverResponse>;
}

const slackAckDeadlineMs = 3_000;

/** Slack's v0 request signature of `body` at `timestamp` (seconds). */
export function signSlackRequest(signingSecret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

interface PayloadContext {
  teamId: string;
  appId: string;
  sim: SlackSim | undefined;
}

/** The fields Slack sends for a slash command (form fields over HTTP, a JSON object over Socket Mode). */
function slashCommandPayload(
  request: SlashCommandRequest,
  context: PayloadContext,
  ids: { responseUrl: string; triggerId: string },
): Record<string, string> {
  return {
    token: 'deprecated-verification-token',
    team_id: request.teamId ?? context.teamId,
    team_domain: 'labbot-sim',
    channel_id: request.channelId,
    channel_name: request.channelName ?? 'labs',
    user_id: request.userId,
    user_name: request.userName ?? `user-${request.userId.slice(-4).toLowerCase()}`,
    command: request.command ?? '/lab',
    text: request.text,
    api_app_id: context.appId,
    is_enterprise_install: 'false',
    response_url: ids.responseUrl,
    trigger_id: ids.triggerId,
  };
}

/** The block_actions payload Slack sends for a button press. */
function blockActionPayload(
  request: BlockActionRequest,
  context: PayloadContext,
  ids: { responseUrl: string; triggerId: string },
): JsonObject {
  const message = context.sim?.message(request.channelId, request.messageTs);
  const blockId = request.blockId ?? (message ? findBlockId(message.blocks, request.actionId) : undefined);
  return {
    type: 'block_actions',
    user: { id: request.userId, username: `user-${request.userId.slice(-4).toLowerCase()}`, team_id: context.teamId },
    api_app_id: context.appId,
    token: 'deprecated-verification-token',
    container: {
      type: 'message',
      message_ts: request.messageTs,
      channel_id: request.channelId,
      is_ephemeral: false,
      ...(request.threadTs ? { thread_ts: request.threadTs } : {}),
    },
    trigger_id: ids.triggerId,
    team: { id: context.teamId, domain: 'labbot-sim' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: request.channelId, name: 'labs' },
    message: message?.data ?? { type: 'message', ts: request.messageTs, text: '' },
    state: { values: {} },
    response_url: ids.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: request.actionId,
        block_id: blockId ?? 'actions',
        text: { type: 'plain_text', text: request.actionId, emoji: true },
        ...(request.value === undefined ? {} : { value: request.value }),
        action_ts: (Date.now() / 1000).toFixed(6),
      },
    ],
  };
}

/** The view_submission payload Slack sends when a user submits a modal (no response_url of its own). */
function viewSubmissionPayload(request: ViewSubmissionRequest, context: PayloadContext, triggerId: string): JsonObject {
  const values = Object.fromEntries(
    Object.entries(request.values).map(([blockId, actions]) => [
      blockId,
      Object.fromEntries(
        Object.entries(actions).map(([actionId, value]) => [actionId, { type: 'plain_text_input', value }]),
      ),
    ]),
  );
  return {
    type: 'view_submission',
    team: { id: context.teamId, domain: 'labbot-sim' },
    user: { id: request.userId, username: `user-${request.userId.slice(-4).toLowerCase()}`, team_id: context.teamId },
    api_app_id: context.appId,
    token: 'deprecated-verification-token',
    trigger_id: triggerId,
    view: { ...request.view, state: { values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

function payloadIds(
  sim: SlackSim | undefined,
  target: { channel: string; user: string; messageTs?: string },
  responseUrl: string | undefined,
): { responseUrl: string; triggerId: string } {
  return {
    responseUrl: responseUrl ?? sim?.createResponseUrl(target) ?? 'http://127.0.0.1:9/hooks/response/none',
    triggerId: sim?.createTriggerId() ?? `${Date.now()}.${randomBytes(8).toString('hex')}`,
  };
}

/** Creates a driver that plays Slack towards a Bolt app's HTTP receiver. */
export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  const context: PayloadContext = {
    teamId: options.teamId ?? options.sim?.teamId ?? 'T0LABBOT01',
    appId: options.sim?.appId ?? 'A0LABBOT01',
    sim: options.sim,
  };
  const timeoutMs = options.timeoutMs ?? 5_000;

  async function send(body: string, signing: SigningOptions, ids: { responseUrl: string; triggerId: string }) {
    const now = Math.floor(Date.now() / 1000);
    const timestamp = signing.timestamp === 'stale' ? now - 6 * 60 : (signing.timestamp ?? now);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (signing.signature !== 'missing') {
      const secret = signing.signature === 'forged' ? `${options.signingSecret}-forged` : options.signingSecret;
      headers['x-slack-request-timestamp'] = String(timestamp);
      headers['x-slack-signature'] = signSlackRequest(secret, timestamp, body);
    }
    const started = performance.now();
    const response = await fetch(options.targetUrl, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    const ackMs = performance.now() - started;
    // Slack shows the user an error when the app has not answered within 3 seconds.
    if (ackMs > slackAckDeadlineMs && response.status === 200) {
      options.sim?.recordViolation('late-ack', 'http', `the app answered after ${Math.round(ackMs)} ms`);
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, body: parsed, ackMs, ...ids };
  }

  return {
    slashCommand(request) {
      const ids = payloadIds(options.sim, { channel: request.channelId, user: request.userId }, request.responseUrl);
      const form = new URLSearchParams(slashCommandPayload(request, context, ids));
      return send(form.toString(), request, ids);
    },
    blockAction(request) {
      const target = { channel: request.channelId, user: request.userId, messageTs: request.messageTs };
      const ids = payloadIds(options.sim, target, request.responseUrl);
      const form = new URLSearchParams({ payload: JSON.stringify(blockActionPayload(request, context, ids)) });
      return send(form.toString(), request, ids);
    },
    viewSubmission(request) {
      const ids = { responseUrl: '', triggerId: options.sim?.createTriggerId() ?? `${Date.now()}.0` };
      const form = new URLSearchParams({
        payload: JSON.stringify(viewSubmissionPayload(request, context, ids.triggerId)),
      });
      return send(form.toString(), request, ids);
    },
  };
}

/** Options of createSocketModeDriver. */
export interface SocketModeDriverOptions {
  /** The sim the Bolt app's Socket Mode client is connected to. */
  sim: SlackSim;
  /** Give up waiting for the ack after this many ms (default 3000, Slack's deadline). */
  timeoutMs?: number;
}

/**
 * Creates a driver that sends the same requests as envelopes over Socket Mode; the answer's status is 200 once
 * acked, `body` is the ack's payload. Signing options do not apply (the socket is the credential).
 */
export function createSocketModeDriver(options: SocketModeDriverOptions): SlackDriver {
  const { sim } = options;
  const context: PayloadContext = { teamId: sim.teamId, appId: sim.appId, sim };
  const timeoutMs = options.timeoutMs ?? 3_000;
  const send = async (type: string, payload: JsonObject, ids: { responseUrl: string; triggerId: string }) => {
    const ack = await sim.sendEnvelope(type, payload, timeoutMs);
    return { status: 200, body: ack.payload, ackMs: ack.ackMs, ...ids };
  };
  return {
    slashCommand(request) {
      const ids = payloadIds(sim, { channel: request.channelId, user: request.userId }, request.responseUrl);
      return send('slash_commands', slashCommandPayload(request, context, ids), ids);
    },
    blockAction(request) {
      const target = { channel: request.channelId, user: request.userId, messageTs: request.messageTs };
      const ids = payloadIds(sim, target, request.responseUrl);
      return send('interactive', blockActionPayload(request, context, ids), ids);
    },
    viewSubmission(request) {
      const ids = { responseUrl: '', triggerId: sim.createTriggerId() };
      return send('interactive', viewSubmissionPayload(request, context, ids.triggerId), ids);
    },
  };
}

function findBlockId(blocks: JsonObject[], actionId: string): string | undefined {
  for (const block of blocks) {
    const elements = [
      ...(Array.isArray(block['elements']) ? (block['elements'] as JsonObject[]) : []),
      ...(block['accessory'] ? [block['accessory'] as JsonObject] : []),
    ];
    if (elements.some((element) => element['action_id'] === actionId) && typeof block['block_id'] === 'string') {
      return block['block_id'];
    }
  }
  return undefined;
}
