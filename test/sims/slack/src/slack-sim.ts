import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { checkBlocks, checkView } from './block-kit.js';
import type {
  JsonObject,
  ResponseUrlPost,
  ResponseUrlTarget,
  SlackEphemeral,
  SlackFailureRule,
  SlackRateLimitRule,
  SlackRecordedCall,
  SlackSimChannelOptions,
  SlackSimMessage,
  SlackSimOptions,
  SlackViolation,
  SocketModeAck,
} from './types.js';

const maxBodyBytes = 5 * 1024 * 1024;
const maxTextLength = 40_000;
const triggerLifetimeMs = 3_000;
const responseUrlLifetimeMs = 30 * 60_000;
const responseUrlMaxUses = 5;
// Arguments that @slack/web-api JSON-encodes into form fields.
const jsonFields = ['blocks', 'attachments', 'metadata', 'view', 'unfurl_links', 'users'];

interface ApiAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: JsonObject;
}

class SlackApiError {
  constructor(
    readonly error: string,
    readonly extra: JsonObject = {},
  ) {}
}

interface ChannelState {
  data: JsonObject;
  id: string;
}

interface ResponseUrlState extends ResponseUrlTarget {
  url: string;
  createdAt: number;
  uses: number;
}

/** A local Slack Web API (+ response_url host) that the real @slack/web-api and Bolt talk to unchanged. */
export class SlackSim {
  /** Web API base for `clientOptions: { slackApiUrl }`: 'http://127.0.0.1:P/api/'. */
  readonly apiUrl: string;
  /** The port the sim listens on. */
  readonly port: number;
  /** The bot token every call must carry. */
  readonly botToken: string;
  /** The signing secret of the simulated app. */
  readonly signingSecret: string;
  /** Workspace id. */
  readonly teamId: string;
  /** The bot's user id (auth.test user_id). */
  readonly botUserId = 'U0LABBOTBOT';
  /** The bot id (auth.test bot_id). */
  readonly botId = 'B0LABBOT01';
  /** The app id (api_app_id in payloads). */
  readonly appId = 'A0LABBOT01';
  /** The app-level token apps.connections.open requires (Socket Mode). */
  readonly appToken: string;
  /** Every Web API call, in arrival order. */
  readonly calls: SlackRecordedCall[] = [];
  /** Rules the client broke (tests assert this stays empty). */
  readonly violations: SlackViolation[] = [];
  /** Messages by channel, then by ts (thread replies included, with threadTs). */
  readonly messages = new Map<string, Map<string, SlackSimMessage>>();
  /** Ephemeral messages, in order. */
  readonly ephemerals: SlackEphemeral[] = [];
  /** Every POST to a response_url, in order. */
  readonly responsePosts: ResponseUrlPost[] = [];
  /** Views opened with views.open, in order. */
  readonly views: JsonObject[] = [];

  readonly #server: Server;
  readonly #events = new EventEmitter();
  readonly #channels = new Map<string, ChannelState>();
  readonly #userNames = new Map<string, string>();
  readonly #admins = new Set<string>();
  readonly #userGroups = new Map<string, string[]>();
  readonly #rateLimits: (SlackRateLimitRule & { left: number })[] = [];
  readonly #failures: (SlackFailureRule & { left: number })[] = [];
  readonly #limitedUntil = new Map<string, number>();
  readonly #responseUrls = new Map<string, ResponseUrlState>();
  readonly #triggers = new Map<string, number>();
  readonly #wss: WebSocketServer;
  readonly #socketTickets = new Set<string>();
  readonly #sockets = new Set<WebSocket>();
  readonly #pendingAcks = new Map<string, (ack: SocketModeAck) => void>();
  readonly #socketPingIntervalMs: number;
  #lastTs = 0;

  /** @internal use startSlackSim. */
  constructor(server: Server, port: number, options: SlackSimOptions) {
    this.#server = server;
    this.port = port;
    this.apiUrl = `http://127.0.0.1:${port}/api/`;
    this.botToken = options.botToken ?? 'xoxb-sim-token';
    this.signingSecret = options.signingSecret ?? 'sim-signing-secret';
    this.teamId = options.teamId ?? 'T0LABBOT01';
    this.appToken = options.appToken ?? 'xapp-sim-token';
    this.#socketPingIntervalMs = options.socketPingIntervalMs ?? 10_000;
    this.#events.setMaxListeners(1000);
    for (const channel of options.channels ?? [{ id: 'C0LABS0001', name: 'labs' }]) this.addChannel(channel);
    for (const user of options.users ?? []) {
      this.#userNames.set(user.id, user.name);
      if (user.isAdmin) this.#admins.add(user.id);
    }
    for (const group of options.userGroups ?? []) this.setUserGroup(group.id, group.users);
    server.on('request', (request, response) => void this.#onRequest(request, response));
    this.#wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const ticket = url.searchParams.get('ticket') ?? '';
      if (url.pathname !== '/socket-mode' || !this.#socketTickets.delete(ticket)) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onSocket(ws));
    });
  }

  // ---------------------------------------------------------------- public API

  /** Adds a channel to the workspace (conversations.info and chat.* accept it from now on). */
  addChannel(channel: SlackSimChannelOptions): void {
    const isPrivate = channel.isPrivate ?? false;
    this.#channels.set(channel.id, {
      id: channel.id,
      data: {
        id: channel.id,
        name: channel.name,
        is_channel: !isPrivate,
        is_group: isPrivate,
        is_im: false,
        is_mpim: false,
        is_private: isPrivate,
        is_archived: false,
        is_general: false,
        is_member: true,
        created: Math.floor(Date.now() / 1000),
        creator: 'U0CREATOR1',
        context_team_id: this.teamId,
        topic: { value: '', creator: '', last_set: 0 },
        purpose: { value: '', creator: '', last_set: 0 },
      },
    });
  }

  /** Ids of the workspace's channels. */
  channelIds(): string[] {
    return [...this.#channels.keys()];
  }

  /** One message by channel and ts. */
  message(channel: string, ts: string): SlackSimMessage | undefined {
    return this.messages.get(channel)?.get(ts);
  }

  /** Top-level messages of a channel (not thread replies, not deleted), oldest first. */
  channelMessages(channel: string): SlackSimMessage[] {
    return [...(this.messages.get(channel)?.values() ?? [])].filter(
      (message) =>
        message.deletedAt === undefined && (message.threadTs === undefined || message.threadTs === message.ts),
    );
  }

  /** Replies in the thread under `threadTs` (not deleted), oldest first. */
  threadReplies(channel: string, threadTs: string): SlackSimMessage[] {
    return [...(this.messages.get(channel)?.values() ?? [])].filter(
      (message) => message.deletedAt === undefined && message.threadTs === threadTs && message.ts !== threadTs,
    );
  }

  /** Ephemeral messages only this user saw (chat.postEphemeral and ephemeral response_url posts), oldest first. */
  ephemeralsFor(userId: string): SlackEphemeral[] {
    return this.ephemerals.filter((ephemeral) => ephemeral.user === userId);
  }

  /** Calls of one Web API method. */
  callsTo(method: string): SlackRecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Creates a response_url hosted by the sim (valid 30 minutes, 5 uses), as Slack puts in interaction payloads. */
  createResponseUrl(target: ResponseUrlTarget): string {
    const id = randomBytes(12).toString('hex');
    const url = `http://127.0.0.1:${this.port}/hooks/response/${this.teamId}/${id}`;
    this.#responseUrls.set(id, { ...target, url, createdAt: Date.now(), uses: 0 });
    return url;
  }

  /** Issues a trigger_id valid for 3 seconds (views.open accepts it once). */
  createTriggerId(): string {
    const id = `${Date.now()}.${randomBytes(6).readUIntBE(0, 6)}.${randomBytes(16).toString('hex')}`;
    this.#triggers.set(id, Date.now());
    return id;
  }

  /** Makes the next `count` calls of `method` answer 429 with Retry-After (seconds) and error 'ratelimited'. */
  rateLimit(rule: SlackRateLimitRule): void {
    this.#rateLimits.push({ ...rule, left: rule.count });
  }

  /** Makes the next calls of `method` answer `ok: false` with `error`. */
  failRequests(rule: SlackFailureRule): void {
    this.#failures.push({ ...rule, left: rule.count ?? 1 });
  }

  /** A user deletes a message (e.g. the lab's status message in its thread), as if in Slack's UI. */
  deleteMessage(channel: string, ts: string): void {
    const message = this.message(channel, ts);
    if (message) message.deletedAt = Date.now();
  }

  /** Notes a rule the app broke that a driver saw (e.g. an HTTP ack after Slack's 3 s); tests assert none. */
  recordViolation(kind: string, method: string, message: string): void {
    this.#violation(kind, method, message);
  }

  /** Number of open Socket Mode connections that got their hello. */
  socketModeConnections(): number {
    return [...this.#sockets].filter((socket) => socket.readyState === socket.OPEN).length;
  }

  /**
   * Sends a Socket Mode envelope ('slash_commands', 'interactive', 'events_api') on the newest connection and
   * resolves with the app's ack; rejects after timeoutMs (default 3000, Slack's ack deadline).
   */
  sendEnvelope(type: string, payload: JsonObject, timeoutMs = 3_000): Promise<SocketModeAck> {
    const socket = [...this.#sockets].filter((candidate) => candidate.readyState === candidate.OPEN).at(-1);
    if (!socket) return Promise.reject(new Error('slack-sim: no Socket Mode connection is open'));
    const envelopeId = randomBytes(16).toString('hex');
    const sentAt = performance.now();
    return new Promise<SocketModeAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingAcks.delete(envelopeId);
        this.#violation(
          'late-ack',
          'socket-mode',
          `envelope ${envelopeId} (${type}) not acknowledged in ${timeoutMs} ms`,
        );
        reject(new Error(`slack-sim: envelope ${envelopeId} (${type}) not acknowledged within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pendingAcks.set(envelopeId, (ack) => {
        clearTimeout(timer);
        resolve({ ...ack, ackMs: performance.now() - sentAt });
      });
      socket.send(
        JSON.stringify({
          envelope_id: envelopeId,
          type,
          payload,
          accepts_response_payload: type !== 'events_api',
          retry_attempt: 0,
          retry_reason: '',
        }),
      );
    });
  }

  /** Asks every Socket Mode client to reconnect (type 'disconnect', reason 'refresh_requested' by default). */
  disconnectSocketMode(reason = 'refresh_requested'): void {
    for (const socket of this.#sockets) {
      socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'slack-sim' } }));
    }
  }

  /** Resolves with predicate(sim) once it is truthy (re-checked on every change); rejects after timeoutMs. */
  waitFor<T>(predicate: (sim: SlackSim) => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let value: T | undefined | null | false;
        try {
          value = predicate(this);
        } catch (error) {
          cleanup();
          reject(error);
          return;
        }
        if (value) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`slack-sim: waitFor timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const poll = setInterval(check, 25);
      const cleanup = () => {
        clearTimeout(timer);
        clearInterval(poll);
        this.#events.off('change', check);
      };
      this.#events.on('change', check);
      check();
    });
  }

  /** Closes the HTTP server and every connection. */
  async stop(): Promise<void> {
    // Close Socket Mode connections politely first (bounded), so clients see a clean close, not an error.
    const closing = [...this.#sockets].map(
      (socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()).close(1001, 'going away')),
    );
    await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, 500))]);
    for (const socket of this.#sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- HTTP

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    let answer: ApiAnswer;
    try {
      const raw = await readBody(request);
      if (url.pathname.startsWith('/hooks/response/')) {
        answer = this.#responseUrlPost(url, raw);
      } else if (url.pathname.startsWith('/api/') && request.method === 'POST') {
        answer = this.#apiCall(url.pathname.slice('/api/'.length), raw, request);
      } else {
        answer = { status: 404, body: { ok: false, error: 'not_found' } };
      }
    } catch (error) {
      answer = { status: 500, body: { ok: false, error: 'internal_error', detail: String(error) } };
    }
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/json; charset=utf-8', ...answer.headers });
    response.end(JSON.stringify(answer.body));
    this.#events.emit('change');
  }

  #apiCall(method: string, raw: Buffer, request: IncomingMessage): ApiAnswer {
    const at = Date.now();
    const args = parseArguments(raw, request.headers['content-type']);
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args['token'] === 'string' ? args['token'] : undefined);
    delete args['token'];
    const answer = this.#answer(method, token, args);
    const ok = answer.body['ok'] === true;
    const error = typeof answer.body['error'] === 'string' ? answer.body['error'] : undefined;
    this.calls.push({ method, body: args, status: answer.status ?? 200, ok, ...(error ? { error } : {}), at });
    return answer;
  }

  #answer(method: string, token: string | undefined, args: JsonObject): ApiAnswer {
    const limited = this.#rateLimitAnswer(method);
    if (limited) return limited;
    try {
      if (token === undefined) throw new SlackApiError('not_authed');
      if (method === 'apps.connections.open') {
        if (token === this.botToken) throw new SlackApiError('not_allowed_token_type');
        if (token !== this.appToken) throw new SlackApiError('invalid_auth');
      } else if (token === this.appToken) {
        throw new SlackApiError('not_allowed_token_type');
      } else if (token !== this.botToken) {
        throw new SlackApiError('invalid_auth');
      }
      const failure = this.#failures.find((rule) => rule.left > 0 && rule.method === method);
      if (failure) {
        failure.left -= 1;
        if (failure.status !== undefined) return { status: failure.status, body: { ok: false, error: failure.error } };
        throw new SlackApiError(failure.error);
      }
      const handler = this.#handlers[method];
      if (!handler) {
        this.#violation('unknown-method', method, `${method} is not simulated`);
        throw new SlackApiError('unknown_method');
      }
      return { body: { ok: true, ...handler(args) } };
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      if (error.error !== 'unknown_method') {
        const detail = error.extra['errors'] ? ` ${JSON.stringify(error.extra['errors'])}` : '';
        this.#violation(
          error.error === 'invalid_auth' || error.error === 'not_authed' ? 'invalid-auth' : 'invalid-request',
          method,
          `${error.error}${detail}`,
        );
      }
      return { body: { ok: false, error: error.error, ...error.extra } };
    }
  }

  #rateLimitAnswer(method: string): ApiAnswer | undefined {
    const now = Date.now();
    const until = this.#limitedUntil.get(method);
    if (until !== undefined && now < until) {
      this.#violation('rate-limit-ignored', method, `retried ${until - now} ms before Retry-After ended`);
      return rateLimited(Math.ceil((until - now) / 1000));
    }
    const rule = this.#rateLimits.find(
      (candidate) => candidate.left > 0 && (candidate.method === undefined || candidate.method === method),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    this.#limitedUntil.set(method, now + rule.retryAfterSeconds * 1000);
    return rateLimited(rule.retryAfterSeconds);
  }

  /** Sets the members of a user group (S...), as an admin editing it in Slack would. */
  setUserGroup(id: string, users: string[]): void {
    this.#userGroups.set(id, [...users]);
  }

  #violation(kind: string, method: string, message: string): void {
    this.violations.push({ kind, method, message, at: Date.now() });
  }

  // ---------------------------------------------------------------- Web API methods

  readonly #handlers: Record<string, (args: JsonObject) => JsonObject> = {
    'api.test': (args) => ({ args }),
    'apps.connections.open': () => {
      const ticket = randomBytes(16).toString('hex');
      this.#socketTickets.add(ticket);
      return { url: `ws://127.0.0.1:${this.port}/socket-mode?ticket=${ticket}` };
    },
    'auth.test': () => ({
      url: 'https://labbot-sim.slack.com/',
      team: 'labbot-sim',
      user: 'labbot',
      team_id: this.teamId,
      user_id: this.botUserId,
      bot_id: this.botId,
      is_enterprise_install: false,
    }),
    'chat.postMessage': (args) => {
      const channel = this.#channelFor(args['channel'], true);
      const content = this.#content(args, true);
      const threadTs = optionalString(args['thread_ts']);
      const parent = threadTs === undefined ? undefined : this.message(channel.id, threadTs);
      if (threadTs !== undefined && !parent) {
        this.#violation(
          'unknown-thread',
          'chat.postMessage',
          `thread_ts ${threadTs} is not a message in ${channel.id}`,
        );
      }
      // A deleted parent with live replies stays as a tombstone that takes replies; without any, the thread is gone.
      if (
        threadTs !== undefined &&
        parent?.deletedAt !== undefined &&
        this.threadReplies(channel.id, threadTs).length === 0
      ) {
        throw new SlackApiError('thread_not_found');
      }
      const message = this.#store(channel.id, content, threadTs, 'api');
      // Message metadata (event_type + event_payload) comes back on the message, e.g. for idempotency checks.
      if (typeof args['metadata'] === 'object' && args['metadata'] !== null)
        message.data['metadata'] = args['metadata'];
      return { channel: channel.id, ts: message.ts, message: message.data };
    },
    'chat.update': (args) => {
      const channel = this.#channelFor(args['channel']);
      const ts = requiredString(args, 'ts');
      const message = this.message(channel.id, ts);
      if (!message || message.deletedAt !== undefined) throw new SlackApiError('message_not_found');
      if (message.data['bot_id'] !== this.botId) throw new SlackApiError('cant_update_message');
      const content = this.#content(args, true);
      // Omitted blocks keep the message's blocks (pass blocks: [] to remove them), as Slack's chat.update does.
      this.#update(message, args['blocks'] === undefined ? { ...content, blocks: message.blocks } : content, 'api');
      return { channel: channel.id, ts, text: message.text, message: message.data };
    },
    'chat.delete': (args) => {
      const channel = this.#channelFor(args['channel']);
      const ts = requiredString(args, 'ts');
      const message = this.message(channel.id, ts);
      if (!message || message.deletedAt !== undefined) throw new SlackApiError('message_not_found');
      message.deletedAt = Date.now();
      return { channel: channel.id, ts };
    },
    'chat.postEphemeral': (args) => {
      const channel = this.#channelFor(args['channel']);
      const user = requiredString(args, 'user');
      if (!isUserId(user)) throw new SlackApiError('user_not_in_channel');
      const content = this.#content(args, true);
      const ts = this.#nextTs();
      const threadTs = optionalString(args['thread_ts']);
      this.ephemerals.push({
        channel: channel.id,
        user,
        ...content,
        ...(threadTs ? { threadTs } : {}),
        ts,
        via: 'api',
        at: Date.now(),
      });
      return { message_ts: ts };
    },
    'chat.getPermalink': (args) => {
      const channel = this.#channelFor(args['channel']);
      const ts = requiredString(args, 'message_ts');
      if (!this.message(channel.id, ts)) throw new SlackApiError('message_not_found');
      return {
        channel: channel.id,
        permalink: `https://labbot-sim.slack.com/archives/${channel.id}/p${ts.replace('.', '')}`,
      };
    },
    'conversations.info': (args) => ({ channel: this.#channelFor(args['channel']).data }),
    'conversations.history': (args) => {
      const channel = this.#channelFor(args['channel']);
      const limit = Math.min(Math.max(Number(args['limit'] ?? 100) || 100, 1), 999);
      const messages = this.channelMessages(channel.id).reverse();
      return { messages: messages.slice(0, limit).map((message) => message.data), has_more: messages.length > limit };
    },
    'conversations.replies': (args) => {
      const channel = this.#channelFor(args['channel']);
      const ts = requiredString(args, 'ts');
      const parent = this.message(channel.id, ts);
      if (!parent || parent.deletedAt !== undefined) throw new SlackApiError('thread_not_found');
      const replies = this.threadReplies(channel.id, ts).map((message) => message.data);
      return { messages: [parent.data, ...replies], has_more: false };
    },
    'conversations.open': (args) => {
      const users = typeof args['users'] === 'string' ? args['users'].split(',') : [];
      const [user] = users;
      if (users.length !== 1 || user === undefined || !isUserId(user)) throw new SlackApiError('user_not_found');
      return { channel: this.#imChannel(user).data };
    },
    'usergroups.users.list': (args) => {
      const members = this.#userGroups.get(requiredString(args, 'usergroup'));
      if (!members) throw new SlackApiError('no_such_subteam');
      return { users: [...members] };
    },
    'users.info': (args) => {
      const user = requiredString(args, 'user');
      if (!isUserId(user)) throw new SlackApiError('user_not_found');
      const name = this.#userNames.get(user) ?? `user-${user.slice(-4).toLowerCase()}`;
      return {
        user: {
          id: user,
          team_id: this.teamId,
          name,
          deleted: false,
          real_name: name,
          tz: 'Etc/UTC',
          tz_offset: 0,
          is_bot: user === this.botUserId,
          is_admin: this.#admins.has(user),
          is_owner: false,
          profile: { display_name: name, real_name: name, team: this.teamId },
        },
      };
    },
    'views.open': (args) => {
      const trigger = requiredString(args, 'trigger_id');
      const issuedAt = this.#triggers.get(trigger);
      if (issuedAt === undefined) throw new SlackApiError('invalid_trigger_id');
      this.#triggers.delete(trigger);
      if (Date.now() - issuedAt > triggerLifetimeMs) throw new SlackApiError('expired_trigger_id');
      const problems = checkView(args['view']);
      if (problems.length > 0) {
        throw new SlackApiError('invalid_arguments', { response_metadata: { messages: problems }, errors: problems });
      }
      const view = {
        id: `V${randomBytes(5).toString('hex').toUpperCase()}`,
        team_id: this.teamId,
        app_id: this.appId,
        bot_id: this.botId,
        state: { values: {} },
        hash: `${Date.now()}.${randomBytes(4).toString('hex')}`,
        private_metadata: '',
        callback_id: '',
        ...(args['view'] as JsonObject),
      };
      this.views.push(view);
      return { view };
    },
  };

  #channelFor(value: unknown, userIdOpensDm = false): ChannelState {
    if (typeof value !== 'string' || value.length === 0) throw new SlackApiError('channel_not_found');
    // chat.postMessage to a user id posts in the app's DM with that user; other methods need the D... id.
    if (userIdOpensDm && isUserId(value)) return this.#imChannel(value);
    const channel = this.#channels.get(value);
    if (!channel) throw new SlackApiError('channel_not_found');
    return channel;
  }

  #imChannel(user: string): ChannelState {
    const id = `D${user.slice(1)}`;
    let channel = this.#channels.get(id);
    if (!channel) {
      channel = {
        id,
        data: { id, is_im: true, is_channel: false, is_private: true, user, is_open: true, created: 0 },
      };
      this.#channels.set(id, channel);
    }
    return channel;
  }

  /** Text and blocks of chat.postMessage/update/postEphemeral, checked like Slack. */
  #content(args: JsonObject, required: boolean): { text: string; blocks: JsonObject[] } {
    const markdown = typeof args['markdown_text'] === 'string' ? args['markdown_text'] : undefined;
    const text = markdown ?? (typeof args['text'] === 'string' ? args['text'] : '');
    const blocks = args['blocks'];
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    const hasAttachments = Array.isArray(args['attachments']) && args['attachments'].length > 0;
    if (required && text.trim().length === 0 && !hasBlocks && !hasAttachments) throw new SlackApiError('no_text');
    if (text.length > maxTextLength) throw new SlackApiError('msg_too_long');
    if (blocks !== undefined) {
      const problems = checkBlocks(blocks);
      if (problems.length > 0) {
        throw new SlackApiError('invalid_blocks', { errors: problems, response_metadata: { messages: problems } });
      }
    }
    return { text, blocks: hasBlocks ? (blocks as JsonObject[]) : [] };
  }

  #nextTs(): string {
    // Slack ts: seconds.microseconds, unique and increasing within a channel.
    const micros = Math.max(Date.now() * 1000, this.#lastTs + 1);
    this.#lastTs = micros;
    return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  }

  #store(
    channel: string,
    content: { text: string; blocks: JsonObject[] },
    threadTs: string | undefined,
    via: SlackSimMessage['via'],
  ): SlackSimMessage {
    const ts = this.#nextTs();
    const data: JsonObject = {
      type: 'message',
      subtype: 'bot_message',
      text: content.text,
      user: this.botUserId,
      bot_id: this.botId,
      app_id: this.appId,
      team: this.teamId,
      ts,
      blocks: content.blocks,
      bot_profile: { id: this.botId, app_id: this.appId, name: 'labbot', team_id: this.teamId, deleted: false },
      ...(threadTs ? { thread_ts: threadTs, parent_user_id: this.botUserId } : {}),
    };
    const message: SlackSimMessage = {
      channel,
      ts,
      ...(threadTs ? { threadTs } : {}),
      ...content,
      data,
      via,
      edits: [],
    };
    let byTs = this.messages.get(channel);
    if (!byTs) {
      byTs = new Map();
      this.messages.set(channel, byTs);
    }
    byTs.set(ts, message);
    if (threadTs) {
      const parent = this.message(channel, threadTs);
      if (parent) {
        parent.data['thread_ts'] = threadTs;
        parent.data['reply_count'] = Number(parent.data['reply_count'] ?? 0) + 1;
        parent.data['latest_reply'] = ts;
      }
    }
    return message;
  }

  #update(
    message: SlackSimMessage,
    content: { text: string; blocks: JsonObject[] },
    via: SlackSimMessage['via'],
  ): void {
    message.text = content.text;
    message.blocks = content.blocks;
    message.data['text'] = content.text;
    message.data['blocks'] = content.blocks;
    message.data['edited'] = { user: this.botUserId, ts: this.#nextTs() };
    message.edits.push({ at: Date.now(), ...content, via });
  }

  // ---------------------------------------------------------------- Socket Mode

  #onSocket(socket: WebSocket): void {
    this.#sockets.add(socket);
    const ping = setInterval(() => socket.ping(), this.#socketPingIntervalMs);
    socket.on('message', (raw) => {
      let message: { envelope_id?: unknown; payload?: unknown };
      try {
        message = JSON.parse(String(raw));
      } catch {
        this.#violation('invalid-request', 'socket-mode', 'a Socket Mode message is not JSON');
        return;
      }
      const envelopeId = typeof message.envelope_id === 'string' ? message.envelope_id : '';
      const resolve = this.#pendingAcks.get(envelopeId);
      if (!resolve) {
        this.#violation('unknown-envelope', 'socket-mode', `ack for unknown or late envelope ${envelopeId}`);
        return;
      }
      this.#pendingAcks.delete(envelopeId);
      const payload = typeof message.payload === 'object' && message.payload !== null ? message.payload : undefined;
      resolve({ envelopeId, ...(payload ? { payload: payload as JsonObject } : {}), ackMs: 0 });
      this.#events.emit('change');
    });
    socket.on('close', () => {
      clearInterval(ping);
      this.#sockets.delete(socket);
      this.#events.emit('change');
    });
    socket.on('error', () => undefined);
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#sockets.size,
        debug_info: { host: 'slack-sim', build_number: 1, approximate_connection_time: 18060 },
        connection_info: { app_id: this.appId },
      }),
    );
    this.#events.emit('change');
  }

  // ---------------------------------------------------------------- response_url

  #responseUrlPost(url: URL, raw: Buffer): ApiAnswer {
    const id = url.pathname.split('/').at(-1) ?? '';
    const state = this.#responseUrls.get(id);
    let body: JsonObject = {};
    try {
      body = JSON.parse(raw.toString('utf8')) as JsonObject;
    } catch {
      return this.#responseUrlAnswer(url, body, 400, { ok: false, error: 'invalid_payload' });
    }
    if (!state) return this.#responseUrlAnswer(url, body, 404, { ok: false, error: 'no_service' });
    if (state.uses >= responseUrlMaxUses || Date.now() - state.createdAt > responseUrlLifetimeMs) {
      this.#violation('response-url-expired', 'response_url', `${state.url} used after 5 uses or 30 minutes`);
      return this.#responseUrlAnswer(url, body, 404, { ok: false, error: 'expired_url' });
    }
    state.uses += 1;
    try {
      const original = state.messageTs ? this.message(state.channel, state.messageTs) : undefined;
      if (body['delete_original'] === true) {
        if (!original) throw new SlackApiError('message_not_found');
        original.deletedAt = Date.now();
      } else if (body['replace_original'] === true) {
        if (!original) throw new SlackApiError('message_not_found');
        this.#update(original, this.#content(body, true), 'response_url');
      } else if (body['response_type'] === 'in_channel') {
        const threadTs = optionalString(body['thread_ts']);
        this.#store(state.channel, this.#content(body, true), threadTs, 'response_url');
      } else {
        const threadTs = optionalString(body['thread_ts']);
        this.ephemerals.push({
          channel: state.channel,
          user: state.user,
          ...this.#content(body, true),
          ...(threadTs ? { threadTs } : {}),
          ts: this.#nextTs(),
          via: 'response_url',
          at: Date.now(),
        });
      }
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      this.#violation('invalid-request', 'response_url', error.error);
      return this.#responseUrlAnswer(url, body, 400, { ok: false, error: error.error, ...error.extra });
    }
    return this.#responseUrlAnswer(url, body, 200, { ok: true });
  }

  #responseUrlAnswer(url: URL, body: JsonObject, status: number, answer: JsonObject): ApiAnswer {
    this.responsePosts.push({ url: url.toString(), body, status, at: Date.now() });
    return { status, body: answer };
  }
}

/** Starts a Slack Web API simulator on 127.0.0.1 (methods under /api/, response URLs under /hooks/response/). */
export async function startSlackSim(options: SlackSimOptions = {}): Promise<SlackSim> {
  const server = createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 1_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return new SlackSim(server, port, options);
}

// ---------------------------------------------------------------- helpers

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new Error('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Web API arguments from a form-encoded or JSON body; JSON-encoded form fields are parsed. */
function parseArguments(raw: Buffer, contentType: string | undefined): JsonObject {
  const text = raw.toString('utf8');
  if (contentType?.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return typeof parsed === 'object' && parsed !== null ? { ...(parsed as JsonObject) } : {};
    } catch {
      return {};
    }
  }
  const args: JsonObject = Object.fromEntries(new URLSearchParams(text));
  for (const field of jsonFields) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      // Slack answers invalid_blocks/invalid_arguments for unparsable JSON; the checks below see a string.
    }
  }
  return args;
}

function rateLimited(retryAfterSeconds: number): ApiAnswer {
  return {
    status: 429,
    headers: { 'retry-after': String(retryAfterSeconds) },
    body: { ok: false, error: 'ratelimited' },
  };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function requiredString(args: JsonObject, name: string): string {
  const value = optionalString(args[name]);
  if (value === undefined)
    throw new SlackApiError('invalid_arguments', { errors: [`missing required field: ${name}`] });
  return value;
}

function isUserId(value: string): boolean {
  return /^[UW][A-Z0-9]{2,}$/.test(value);
}

/**
 * What a user reads in a message: the texts of its blocks (header, section text and fields, context, markdown,
 * rich text), or its `text` when it has no blocks (Slack then shows `text`; with blocks, `text` is the fallback).
 */
export function slackMessageText(message: { text: string; blocks: JsonObject[] }): string {
  if (message.blocks.length === 0) return message.text;
  const lines: string[] = [];
  const textOf = (value: unknown) => {
    if (typeof value === 'object' && value !== null && typeof (value as JsonObject)['text'] === 'string') {
      lines.push((value as JsonObject)['text'] as string);
    }
  };
  for (const block of message.blocks) {
    if (block['type'] === 'markdown' && typeof block['text'] === 'string') lines.push(block['text']);
    else textOf(block['text']);
    for (const field of (block['fields'] as unknown[] | undefined) ?? []) textOf(field);
    if (block['type'] === 'context')
      for (const element of (block['elements'] as unknown[] | undefined) ?? []) textOf(element);
    if (block['type'] === 'rich_text') lines.push(richText(block['elements']));
  }
  return lines.join('\n');
}

function richText(elements: unknown): string {
  if (!Array.isArray(elements)) return '';
  return elements
    .map((element: JsonObject) =>
      typeof element['text'] === 'string' ? element['text'] : richText(element['elements']),
    )
    .join('');
}
