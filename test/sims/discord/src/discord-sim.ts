import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { z } from 'zod';
import {
  defaultBotPermissions,
  dmChannelObject,
  guildChannelObject,
  guildCreateObject,
  memberObject,
  threadObject,
  userObject,
} from './payloads.js';
import { nextSnowflake, randomToken } from './snowflake.js';
import type {
  AutocompleteInput,
  ButtonClickInput,
  DiscordSimOptions,
  FailureRule,
  GatewayConnectionInfo,
  InteractionCallback,
  InteractionHandle,
  InteractionRecord,
  JsonObject,
  RateLimitRule,
  RecordedCall,
  SimChannel,
  SimMessage,
  SlashCommandInput,
  Violation,
} from './types.js';
import {
  applicationCommandSchema,
  bulkCommandsSchema,
  channelPatchSchema,
  interactionCallbackSchema,
  isEmptyMessage,
  type MessageBody,
  messageBodySchema,
  threadBodySchema,
  toDiscordFormErrors,
} from './validation.js';

const maxBodyBytes = 10 * 1024 * 1024;
const flagEphemeral = 1 << 6;
const flagLoading = 1 << 7;
const flagHasThread = 1 << 5;
const intentGuilds = 1 << 0;
const intentGuildMessages = 1 << 9;
const intentDirectMessages = 1 << 12;

interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  fileCount: number;
}

interface RouteDefinition {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  /** Interaction callbacks and interaction webhooks need no bot token. */
  auth: boolean;
  handler: (request: RestRequest) => RestReply;
}

interface GatewaySession {
  id: string;
  seq: number;
  intents: number;
  ready: boolean;
  heartbeats: number;
  socket?: WebSocket;
  /** Dispatches sent in this session, for RESUME replay. */
  sent: { s: number; payload: string }[];
}

interface StoredCommand {
  data: JsonObject;
  name: string;
}

class DiscordApiError {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly message: string,
    readonly errors?: Record<string, unknown>,
  ) {}
}

/** A local Discord (REST API v10 + gateway) that the real discord.js connects to unchanged. */
export class DiscordSim {
  /** REST base for discord.js `rest: { api }`: 'http://127.0.0.1:P/api'. */
  readonly apiUrl: string;
  /** Gateway URL returned by GET /gateway/bot: 'ws://127.0.0.1:P/gateway'. */
  readonly gatewayUrl: string;
  /** The port the sim listens on. */
  readonly port: number;
  /** The application id (also the bot user id). */
  readonly applicationId: string;
  /** The token the bot must present. */
  readonly botToken: string;
  /** The bot's user object. */
  readonly botUser: JsonObject;
  /** The simulated guilds: id, name and their channel ids (text channels first). */
  readonly guilds: { id: string; name: string; channelIds: string[] }[] = [];
  /** Every REST call, in arrival order. */
  readonly calls: RecordedCall[] = [];
  /** Payload and protocol rules the client broke (tests assert this stays empty). */
  readonly violations: Violation[] = [];
  /** Every message by id (channel messages, interaction responses, follow-ups, ephemerals). */
  readonly messages = new Map<string, SimMessage>();
  /** Every channel, DM channel and thread by id. */
  readonly channels = new Map<string, SimChannel>();
  /** Every interaction the sim dispatched, by id. */
  readonly interactions = new Map<string, InteractionRecord>();

  readonly #server: Server;
  readonly #wss: WebSocketServer;
  readonly #events = new EventEmitter();
  readonly #routes: RouteDefinition[] = [];
  readonly #sessions = new Map<string, GatewaySession>();
  readonly #connections = new Set<{ socket: WebSocket; session?: GatewaySession; heartbeats: number }>();
  readonly #users = new Map<string, JsonObject>();
  readonly #interactionsByToken = new Map<string, InteractionRecord>();
  readonly #globalCommands = new Map<string, StoredCommand>();
  readonly #guildCommands = new Map<string, Map<string, StoredCommand>>();
  readonly #rateLimits: (RateLimitRule & { left: number })[] = [];
  readonly #failures: (FailureRule & { left: number })[] = [];
  readonly #limitedUntil = new Map<string, number>();
  readonly #expiredTokens = new Set<string>();
  readonly #ackWaiters = new Map<string, Set<(callback: InteractionCallback) => void>>();
  readonly #heartbeatIntervalMs: number;
  readonly #ackDeadlineMs: number;
  readonly #tokenTtlMs: number;
  readonly #startedAt = new Date().toISOString();

  /** @internal use startDiscordSim. */
  constructor(server: Server, port: number, options: DiscordSimOptions) {
    this.#server = server;
    this.port = port;
    this.apiUrl = `http://127.0.0.1:${port}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
    this.applicationId = options.applicationId ?? nextSnowflake();
    this.botToken = options.botToken ?? `sim.${randomBytes(24).toString('base64url')}`;
    this.botUser = userObject(this.applicationId, options.botUsername ?? 'labbot', true);
    this.#users.set(this.applicationId, this.botUser);
    this.#heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41_250;
    this.#ackDeadlineMs = options.interactionAckDeadlineMs ?? 3_000;
    this.#tokenTtlMs = options.interactionTokenTtlMs ?? 15 * 60_000;
    this.#events.setMaxListeners(1000);
    this.#setUpGuilds(options);
    this.#defineRoutes();
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: 4096 * 1024 });
    server.on('request', (request, response) => void this.#onRequest(request, response));
    server.on('upgrade', (request, socket, head) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/gateway') {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onGatewayConnection(ws, url));
    });
  }

  // ---------------------------------------------------------------- public API

  /** Registered commands: global when guildId is omitted, else that guild's. */
  commands(guildId?: string): JsonObject[] {
    const store = guildId === undefined ? this.#globalCommands : this.#guildCommands.get(guildId);
    return [...(store?.values() ?? [])].map((command) => command.data);
  }

  /** Messages visible in a channel or thread (not deleted, not ephemeral), oldest first. */
  channelMessages(channelId: string): SimMessage[] {
    return [...this.messages.values()].filter(
      (message) => message.channelId === channelId && !message.ephemeral && message.deletedAt === undefined,
    );
  }

  /** Ephemeral messages only this user saw (interaction responses and follow-ups), oldest first. */
  ephemeralsFor(userId: string): SimMessage[] {
    return [...this.messages.values()].filter((message) => {
      if (!message.ephemeral || message.deletedAt !== undefined || message.interactionId === undefined) return false;
      const payload = this.interactions.get(message.interactionId)?.payload;
      const user = ((payload?.['member'] as JsonObject | undefined)?.['user'] ?? payload?.['user']) as
        | JsonObject
        | undefined;
      return user?.['id'] === userId;
    });
  }

  /** Threads, optionally only those under one parent channel. */
  threads(parentId?: string): SimChannel[] {
    return [...this.channels.values()].filter(
      (channel) => channel.isThread && (parentId === undefined || channel.parentId === parentId),
    );
  }

  /** State of every gateway connection the sim has seen (open or closed). */
  gatewayConnections(): GatewayConnectionInfo[] {
    return [...this.#connections].map((connection) => ({
      ...(connection.session ? { sessionId: connection.session.id } : {}),
      ready: connection.session?.ready ?? false,
      intents: connection.session?.intents ?? 0,
      heartbeats: connection.heartbeats,
      open: connection.socket.readyState === connection.socket.OPEN,
    }));
  }

  /** Sends INTERACTION_CREATE type 2 (chat input command) to the ready bot; returns a handle on it. */
  sendSlashCommand(input: SlashCommandInput): InteractionHandle {
    const command = this.#findCommand(input.name, input.guildId);
    const options = this.#commandOptions(input, command);
    return this.#dispatchInteraction(2, input, (base) => ({
      ...base,
      data: {
        id: command?.data['id'] ?? nextSnowflake(),
        name: input.name,
        type: 1,
        ...(command && input.guildId && command.data['guild_id'] ? { guild_id: input.guildId } : {}),
        options,
      },
    }));
  }

  /** Sends INTERACTION_CREATE type 4 (autocomplete) with the `focused` option marked. */
  sendAutocomplete(input: AutocompleteInput): InteractionHandle {
    const command = this.#findCommand(input.name, input.guildId);
    const options = this.#commandOptions(input, command, input.focused);
    return this.#dispatchInteraction(4, input, (base) => ({
      ...base,
      data: { id: command?.data['id'] ?? nextSnowflake(), name: input.name, type: 1, options },
    }));
  }

  /** Sends INTERACTION_CREATE type 3 (button) for a button present on a stored message. */
  clickButton(input: ButtonClickInput): InteractionHandle {
    const message = this.messages.get(input.messageId);
    if (!message || message.deletedAt !== undefined) throw new Error(`discord-sim: no message ${input.messageId}`);
    const button = findButton(message.data['components'], input.customId);
    if (!button) throw new Error(`discord-sim: message ${input.messageId} has no button '${input.customId}'`);
    if (button['disabled'] === true) throw new Error(`discord-sim: button '${input.customId}' is disabled`);
    const channel = this.channels.get(message.channelId);
    const handle = this.#dispatchInteraction(
      3,
      {
        userId: input.userId,
        channelId: message.channelId,
        ...(channel?.guildId ? { guildId: channel.guildId } : {}),
        ...(input.username ? { username: input.username } : {}),
        ...(input.memberPermissions ? { memberPermissions: input.memberPermissions } : {}),
        ...(input.roles ? { roles: input.roles } : {}),
      },
      (base) => ({ ...base, message: message.data, data: { custom_id: input.customId, component_type: 2 } }),
    );
    handle.record.originalMessageId = message.id;
    return handle;
  }

  /** Makes the next `count` matching REST calls answer 429 with Discord's headers and JSON body. */
  rateLimit(rule: RateLimitRule): void {
    this.#rateLimits.push({ ...rule, left: rule.count });
  }

  /** Makes the next matching REST calls fail with a Discord JSON error (default 403 Missing Permissions). */
  failRequests(rule: FailureRule): void {
    this.#failures.push({ ...rule, left: rule.count ?? 1 });
  }

  /** Expires every interaction token issued so far (their webhooks then answer 401 Invalid Webhook Token). */
  expireInteractionTokens(): void {
    for (const token of this.#interactionsByToken.keys()) this.#expiredTokens.add(token);
  }

  /** Archives a thread (as Discord does after auto_archive_duration of inactivity); `locked` keeps it closed. */
  archiveThread(threadId: string, options: { locked?: boolean } = {}): void {
    const thread = this.channels.get(threadId);
    if (!thread?.isThread) throw new Error(`discord-sim: no thread ${threadId}`);
    const metadata = thread.data['thread_metadata'] as JsonObject;
    metadata['archived'] = true;
    metadata['locked'] = options.locked ?? false;
    metadata['archive_timestamp'] = new Date().toISOString();
    this.#broadcast('THREAD_UPDATE', thread.data, intentGuilds);
  }

  /** Closes every gateway socket with `code` (default 4000, which discord.js answers with RESUME). */
  disconnectGateway(code = 4000): void {
    for (const connection of this.#connections) connection.socket.close(code, 'discord-sim disconnect');
  }

  /** Resolves with predicate(sim) once it is truthy (re-checked on every change); rejects after timeoutMs. */
  waitFor<T>(predicate: (sim: DiscordSim) => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
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
        reject(new Error(`discord-sim: waitFor timed out after ${timeoutMs} ms`));
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

  /** Closes every socket and the HTTP server. */
  async stop(): Promise<void> {
    for (const connection of this.#connections) connection.socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // ---------------------------------------------------------------- setup

  #setUpGuilds(options: DiscordSimOptions): void {
    const guildOptions = options.guilds ?? [{ name: 'labbot-test', channels: [{ name: 'labs' }] }];
    for (const guildOption of guildOptions) {
      const guildId = guildOption.id ?? nextSnowflake();
      const channelOptions = guildOption.channels ?? [{ name: 'labs' }];
      const channelIds: string[] = [];
      channelOptions.forEach((channelOption, position) => {
        const id = channelOption.id ?? nextSnowflake();
        const data = guildChannelObject({
          id,
          guildId,
          name: channelOption.name,
          type: channelOption.type ?? 0,
          position,
        });
        this.channels.set(id, { id, data, guildId, isThread: false });
        channelIds.push(id);
      });
      this.guilds.push({ id: guildId, name: guildOption.name ?? 'labbot-test', channelIds });
    }
  }

  #user(id: string, username?: string): JsonObject {
    const existing = this.#users.get(id);
    if (existing && (username === undefined || existing['username'] === username)) return existing;
    const user = userObject(id, username ?? `user${id.slice(-4)}`);
    this.#users.set(id, user);
    return user;
  }

  #dmChannelFor(userId: string): SimChannel {
    for (const channel of this.channels.values()) {
      const recipients = channel.data['recipients'];
      if (channel.guildId === undefined && Array.isArray(recipients) && recipients[0]?.id === userId) return channel;
    }
    const id = nextSnowflake();
    const channel: SimChannel = { id, data: dmChannelObject(id, this.#user(userId)), isThread: false };
    this.channels.set(id, channel);
    return channel;
  }

  #changed(): void {
    this.#events.emit('change');
  }

  #violation(kind: string, message: string, call?: { method: string; route: string }): void {
    this.violations.push({
      kind,
      message,
      ...(call ? { method: call.method, route: call.route } : {}),
      at: Date.now(),
    });
  }

  // ---------------------------------------------------------------- interactions

  #findCommand(name: string, guildId: string | undefined): StoredCommand | undefined {
    const guildCommand =
      guildId === undefined
        ? undefined
        : [...(this.#guildCommands.get(guildId)?.values() ?? [])].find((command) => command.name === name);
    return guildCommand ?? [...this.#globalCommands.values()].find((command) => command.name === name);
  }

  #commandOptions(input: SlashCommandInput, command: StoredCommand | undefined, focused?: string): JsonObject[] {
    const definitions = optionDefinitions(command?.data, input.subcommandGroup, input.subcommand);
    let leaf: JsonObject[];
    if (Array.isArray(input.options)) {
      leaf = input.options;
    } else {
      leaf = Object.entries(input.options ?? {}).map(([name, value]) => {
        const declared = definitions.find((definition) => definition['name'] === name)?.['type'];
        const type = typeof declared === 'number' ? declared : inferOptionType(value);
        const option: JsonObject = { name, type, value: focused === name ? String(value) : value };
        if (focused === name) option['focused'] = true;
        return option;
      });
    }
    if (input.subcommand === undefined) return leaf;
    const subcommand = { type: 1, name: input.subcommand, options: leaf };
    if (input.subcommandGroup === undefined) return [subcommand];
    return [{ type: 2, name: input.subcommandGroup, options: [subcommand] }];
  }

  #readySession(): GatewaySession {
    const sessions = [...this.#sessions.values()].filter(
      (session) => session.ready && session.socket !== undefined && session.socket.readyState === session.socket.OPEN,
    );
    const session = sessions.at(-1);
    if (!session) throw new Error('discord-sim: no gateway session is ready (has the bot logged in?)');
    return session;
  }

  #dispatchInteraction(
    type: number,
    input: {
      guildId?: string;
      channelId?: string;
      userId: string;
      username?: string;
      memberPermissions?: string;
      roles?: string[];
    },
    finish: (base: JsonObject) => JsonObject,
  ): InteractionHandle {
    const session = this.#readySession();
    const user = this.#user(input.userId, input.username);
    const id = nextSnowflake();
    const token = randomToken();
    const base: JsonObject = {
      id,
      application_id: this.applicationId,
      type,
      token,
      version: 1,
      app_permissions: defaultBotPermissions,
      locale: 'en-US',
      entitlements: [],
      attachment_size_limit: 10_485_760,
    };
    if (input.guildId !== undefined) {
      const guild = this.guilds.find((candidate) => candidate.id === input.guildId);
      if (!guild) throw new Error(`discord-sim: unknown guild ${input.guildId}`);
      const channelId = input.channelId ?? guild.channelIds[0];
      const channel = channelId === undefined ? undefined : this.channels.get(channelId);
      if (!channel || channel.guildId !== guild.id) throw new Error(`discord-sim: unknown channel ${channelId}`);
      Object.assign(base, {
        guild_id: guild.id,
        guild: { id: guild.id, locale: 'en-US', features: [] },
        guild_locale: 'en-US',
        channel_id: channel.id,
        channel: { ...channel.data, permissions: defaultBotPermissions },
        member: memberObject(user, this.#startedAt, input.memberPermissions ?? defaultBotPermissions, input.roles),
        authorizing_integration_owners: { '0': guild.id },
        context: 0,
      });
    } else {
      const channel = input.channelId ? this.channels.get(input.channelId) : this.#dmChannelFor(input.userId);
      if (!channel) throw new Error(`discord-sim: unknown channel ${input.channelId}`);
      Object.assign(base, {
        channel_id: channel.id,
        channel: channel.data,
        user,
        authorizing_integration_owners: { '1': input.userId },
        context: 1,
      });
    }
    const payload = finish(base);
    const record: InteractionRecord = { id, token, type, payload, sentAt: Date.now(), followUpIds: [] };
    this.interactions.set(id, record);
    this.#interactionsByToken.set(token, record);
    this.#dispatch(session, 'INTERACTION_CREATE', payload);
    return this.#handle(record);
  }

  // Resolved directly from the callback route (not by polling), so a burst of hundreds of interactions stays cheap.
  #acknowledged(record: InteractionRecord, timeoutMs: number): Promise<InteractionCallback> {
    if (record.callback) return Promise.resolve(record.callback);
    return new Promise<InteractionCallback>((resolve, reject) => {
      const waiters = this.#ackWaiters.get(record.id) ?? new Set<(callback: InteractionCallback) => void>();
      this.#ackWaiters.set(record.id, waiters);
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`discord-sim: interaction ${record.id} was not acknowledged within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (callback: InteractionCallback) => {
        clearTimeout(timer);
        resolve(callback);
      };
      waiters.add(done);
    });
  }

  #handle(record: InteractionRecord): InteractionHandle {
    return {
      id: record.id,
      token: record.token,
      record,
      acknowledged: (timeoutMs = 3_000) => this.#acknowledged(record, timeoutMs),
      original: () => (record.originalMessageId ? this.messages.get(record.originalMessageId) : undefined),
      followUps: () => record.followUpIds.flatMap((messageId) => this.messages.get(messageId) ?? []),
      waitForOriginal: (predicate, timeoutMs = 5_000) =>
        this.waitFor(() => {
          const message = record.originalMessageId ? this.messages.get(record.originalMessageId) : undefined;
          return message && predicate(message) ? message : undefined;
        }, timeoutMs),
    };
  }

  // ---------------------------------------------------------------- gateway

  #onGatewayConnection(socket: WebSocket, url: URL): void {
    const connection: { socket: WebSocket; session?: GatewaySession; heartbeats: number } = { socket, heartbeats: 0 };
    this.#connections.add(connection);
    const version = url.searchParams.get('v');
    const encoding = url.searchParams.get('encoding');
    if (version !== '10' || (encoding !== null && encoding !== 'json')) {
      this.#violation('gateway', `unsupported gateway query v=${version} encoding=${encoding}`);
      socket.close(4012, 'Invalid API version');
      return;
    }
    if (url.searchParams.has('compress')) {
      this.#violation('gateway', 'transport compression requested; discord-sim speaks plain JSON only');
    }
    socket.on('message', (raw, isBinary) => {
      let packet: { op?: unknown; d?: unknown };
      try {
        packet = JSON.parse(isBinary ? Buffer.from(raw as Buffer).toString('utf8') : String(raw));
      } catch {
        socket.close(4002, 'Decode error');
        return;
      }
      this.#onGatewayPacket(connection, packet);
    });
    socket.on('close', () => {
      if (connection.session?.socket === socket) connection.session.socket = undefined;
      this.#changed();
    });
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.#heartbeatIntervalMs }, s: null, t: null }));
    this.#changed();
  }

  #onGatewayPacket(
    connection: { socket: WebSocket; session?: GatewaySession; heartbeats: number },
    packet: { op?: unknown; d?: unknown },
  ): void {
    const { socket } = connection;
    const data = (typeof packet.d === 'object' && packet.d !== null ? packet.d : {}) as JsonObject;
    switch (packet.op) {
      case 1:
        connection.heartbeats += 1;
        if (connection.session) connection.session.heartbeats += 1;
        socket.send(JSON.stringify({ op: 11 }));
        break;
      case 2: {
        if (connection.session) {
          socket.close(4005, 'Already authenticated');
          return;
        }
        if (data['token'] !== this.botToken) {
          socket.close(4004, 'Authentication failed');
          return;
        }
        if (typeof data['intents'] !== 'number') {
          socket.close(4013, 'Invalid intent(s)');
          return;
        }
        const session: GatewaySession = {
          id: randomBytes(16).toString('hex'),
          seq: 0,
          intents: data['intents'],
          ready: false,
          heartbeats: 0,
          socket,
          sent: [],
        };
        connection.session = session;
        this.#sessions.set(session.id, session);
        this.#dispatch(session, 'READY', {
          v: 10,
          user: this.botUser,
          guilds: this.guilds.map((guild) => ({ id: guild.id, unavailable: true })),
          session_id: session.id,
          session_type: 'normal',
          resume_gateway_url: this.gatewayUrl,
          shard: Array.isArray(data['shard']) ? data['shard'] : [0, 1],
          application: { id: this.applicationId, flags: 0 },
          private_channels: [],
          presences: [],
          relationships: [],
          guild_join_requests: [],
          geo_ordered_rtc_regions: [],
          user_settings: {},
          auth: {},
          _trace: ['["discord-sim",{}]'],
        });
        session.ready = true;
        for (const guild of this.guilds) this.#dispatch(session, 'GUILD_CREATE', this.#guildCreate(guild.id));
        break;
      }
      case 6: {
        const session = typeof data['session_id'] === 'string' ? this.#sessions.get(data['session_id']) : undefined;
        if (!session || data['token'] !== this.botToken) {
          socket.send(JSON.stringify({ op: 9, d: false, s: null, t: null }));
          return;
        }
        session.socket = socket;
        connection.session = session;
        const since = typeof data['seq'] === 'number' ? data['seq'] : 0;
        for (const event of session.sent) if (event.s > since) socket.send(event.payload);
        this.#dispatch(session, 'RESUMED', { _trace: ['discord-sim'] });
        session.ready = true;
        break;
      }
      case 3:
      case 4:
      case 8:
        break;
      default:
        this.#violation('gateway', `unexpected gateway opcode ${String(packet.op)}`);
        socket.close(4001, 'Unknown opcode');
    }
    this.#changed();
  }

  #guildCreate(guildId: string): JsonObject {
    const guild = this.guilds.find((candidate) => candidate.id === guildId);
    const channels = [...this.channels.values()].filter((channel) => channel.guildId === guildId);
    return guildCreateObject({
      id: guildId,
      name: guild?.name ?? 'guild',
      ownerId: nextSnowflake(),
      channels: channels.filter((channel) => !channel.isThread).map((channel) => channel.data),
      threads: channels
        .filter((channel) => channel.isThread && !isArchived(channel.data))
        .map((channel) => channel.data),
      botMember: memberObject(this.botUser, this.#startedAt),
      permissions: defaultBotPermissions,
      joinedAt: this.#startedAt,
    });
  }

  #dispatch(session: GatewaySession, event: string, data: JsonObject): void {
    session.seq += 1;
    const payload = JSON.stringify({ op: 0, t: event, s: session.seq, d: data });
    session.sent.push({ s: session.seq, payload });
    if (session.sent.length > 1000) session.sent.shift();
    if (session.socket && session.socket.readyState === session.socket.OPEN) session.socket.send(payload);
  }

  /** Sends an event to every ready session whose intents include `intent`. */
  #broadcast(event: string, data: JsonObject, intent: number): void {
    for (const session of this.#sessions.values()) {
      if (session.ready && (session.intents & intent) !== 0) this.#dispatch(session, event, data);
    }
  }

  // ---------------------------------------------------------------- REST plumbing

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const prefix = '/api/v10';
    let reply: RestReply;
    let route = '(unknown)';
    let path = url.pathname;
    let body: unknown;
    const query = Object.fromEntries(url.searchParams);
    try {
      const raw = await readBody(request);
      const parsed = await parseBody(raw, request.headers['content-type']);
      body = parsed.body;
      if (!url.pathname.startsWith(`${prefix}/`)) throw new DiscordApiError(404, 0, '404: Not Found');
      path = url.pathname.slice(prefix.length).split('/').map(safeDecode).join('/');
      const match = this.#match(method, path);
      if (!match) {
        this.#violation('unknown-route', `${method} ${path} is not simulated`, { method, route: path });
        throw new DiscordApiError(404, 0, '404: Not Found');
      }
      route = match.route.template;
      if (match.route.auth && request.headers.authorization !== `Bot ${this.botToken}`) {
        this.#violation('invalid-auth', 'missing or wrong bot token', { method, route });
        throw new DiscordApiError(401, 0, '401: Unauthorized');
      }
      reply =
        this.#rateLimitReply(method, route, path) ??
        this.#failureReply(method, route, path) ??
        match.route.handler({ method, path, params: match.params, query, body, fileCount: parsed.fileCount });
    } catch (error) {
      reply = errorReply(error, { method, route });
      if (reply.status === 500) this.#violation('sim-error', String(error), { method, route });
      if (error instanceof DiscordApiError && error.status === 400) {
        // Discord would refuse this body too; keep a note so tests can assert a clean run.
        const detail = error.errors ? ` ${JSON.stringify(error.errors)}` : '';
        this.#violation('invalid-request', `${error.code} ${error.message}${detail}`, { method, route });
      }
    }
    this.calls.push({ method, route, path, query, body, status: reply.status, at: Date.now() });
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['content-type'] = 'application/json';
    response.writeHead(reply.status, headers);
    response.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    this.#changed();
  }

  #match(method: string, path: string): { route: RouteDefinition; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = found[index + 1] ?? '';
      });
      return { route, params };
    }
    return undefined;
  }

  #rateLimitReply(method: string, route: string, path: string): RestReply | undefined {
    const key = `${method} ${path}`;
    const now = Date.now();
    const until = this.#limitedUntil.get(key);
    if (until !== undefined && now < until) {
      this.#violation('rate-limit-ignored', `${key} retried ${until - now} ms before retry_after ended`, {
        method,
        route,
      });
      return rateLimitResponse(until - now, false, route);
    }
    const rule = this.#rateLimits.find(
      (candidate) =>
        candidate.left > 0 &&
        (candidate.method === undefined || candidate.method.toUpperCase() === method) &&
        (candidate.route === undefined || candidate.route === route || candidate.route === path),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    this.#limitedUntil.set(key, now + rule.retryAfterMs);
    return rateLimitResponse(rule.retryAfterMs, rule.global ?? false, route);
  }

  #failureReply(method: string, route: string, path: string): RestReply | undefined {
    const rule = this.#failures.find(
      (candidate) =>
        candidate.left > 0 &&
        (candidate.method === undefined || candidate.method.toUpperCase() === method) &&
        (candidate.route === route || candidate.route === path),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    return {
      status: rule.status ?? 403,
      body: { message: rule.message ?? 'Missing Permissions', code: rule.code ?? 50013 },
    };
  }

  #on(method: string, template: string, handler: (request: RestRequest) => RestReply, auth = true): void {
    const names: string[] = [];
    const source = template.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.#routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), names, auth, handler });
  }

  // ---------------------------------------------------------------- REST routes

  #defineRoutes(): void {
    const ok = (body: unknown, status = 200): RestReply => ({ status, body });
    const gatewayInfo = {
      url: this.gatewayUrl,
      shards: 1,
      session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
    };
    this.#on('GET', '/gateway/bot', () => ok(gatewayInfo));
    this.#on('GET', '/gateway', () => ok({ url: this.gatewayUrl }), false);
    this.#on('GET', '/users/@me', () => ok(this.botUser));
    this.#on('GET', '/users/:userId', ({ params }) => ok(this.#user(params['userId'] ?? '')));
    this.#on('POST', '/users/@me/channels', ({ body }) => {
      const recipient = (body as JsonObject | undefined)?.['recipient_id'];
      if (typeof recipient !== 'string') throw formError([{ path: ['recipient_id'], message: 'required' }]);
      return ok(this.#dmChannelFor(recipient).data);
    });
    const application = () => ({
      id: this.applicationId,
      name: this.botUser['username'],
      icon: null,
      description: '',
      bot_public: true,
      bot_require_code_grant: false,
      flags: 0,
      bot: this.botUser,
      verify_key: 'sim',
      team: null,
      owner: userObject(nextSnowflake(), 'owner'),
    });
    this.#on('GET', '/applications/@me', () => ok(application()));
    this.#on('GET', '/oauth2/applications/@me', () => ok(application()));

    // Application commands, global and per guild.
    const commandStore = (params: Record<string, string>): Map<string, StoredCommand> => {
      this.#checkApplication(params['applicationId']);
      const guildId = params['guildId'];
      if (guildId === undefined) return this.#globalCommands;
      if (!this.guilds.some((guild) => guild.id === guildId)) throw new DiscordApiError(403, 50001, 'Missing Access');
      let store = this.#guildCommands.get(guildId);
      if (!store) {
        store = new Map();
        this.#guildCommands.set(guildId, store);
      }
      return store;
    };
    for (const prefix of ['/applications/:applicationId', '/applications/:applicationId/guilds/:guildId']) {
      this.#on('GET', `${prefix}/commands`, ({ params }) => ok([...commandStore(params).values()].map((c) => c.data)));
      this.#on('PUT', `${prefix}/commands`, ({ params, body }) => {
        const store = commandStore(params);
        const parsed = validate(bulkCommandsSchema, body);
        const names = parsed.map((command) => `${command.type ?? 1}:${command.name}`);
        if (new Set(names).size !== names.length) {
          throw formError([{ path: [], message: 'Application command names must be unique' }]);
        }
        const previous = new Map([...store.values()].map((command) => [command.name, command]));
        store.clear();
        for (const command of parsed) {
          const id = String(previous.get(command.name)?.data['id'] ?? nextSnowflake());
          store.set(id, { name: command.name, data: this.#commandObject(id, command, params['guildId']) });
        }
        return ok([...store.values()].map((command) => command.data));
      });
      this.#on('POST', `${prefix}/commands`, ({ params, body }) => {
        const store = commandStore(params);
        const command = validate(applicationCommandSchema, body);
        const existing = [...store.entries()].find(([, stored]) => stored.name === command.name);
        const id = existing?.[0] ?? nextSnowflake();
        store.set(id, { name: command.name, data: this.#commandObject(id, command, params['guildId']) });
        return ok(store.get(id)?.data, existing ? 200 : 201);
      });
      this.#on('GET', `${prefix}/commands/:commandId`, ({ params }) => {
        const command = commandStore(params).get(params['commandId'] ?? '');
        if (!command) throw new DiscordApiError(404, 10063, 'Unknown application command');
        return ok(command.data);
      });
      this.#on('DELETE', `${prefix}/commands/:commandId`, ({ params }) => {
        if (!commandStore(params).delete(params['commandId'] ?? '')) {
          throw new DiscordApiError(404, 10063, 'Unknown application command');
        }
        return { status: 204 };
      });
    }

    // Interaction callback and interaction webhooks (no bot token: the interaction token is the credential).
    this.#on('POST', '/interactions/:interactionId/:token/callback', (request) => this.#callback(request), false);
    this.#on('POST', '/webhooks/:applicationId/:token', (request) => this.#followUp(request), false);
    this.#on(
      'GET',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params }) => {
        return ok(this.#webhookMessage(params).data);
      },
      false,
    );
    this.#on(
      'PATCH',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params, body, fileCount }) => {
        const message = this.#webhookMessage(params);
        this.#editMessage(message, this.#messageBody(body, fileCount, false), 'webhook');
        return ok(message.data);
      },
      false,
    );
    this.#on(
      'DELETE',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params }) => {
        this.#deleteMessage(this.#webhookMessage(params));
        return { status: 204 };
      },
      false,
    );

    // Channels, messages and threads with the bot token.
    this.#on('GET', '/channels/:channelId', ({ params }) => ok(this.#channel(params['channelId']).data));
    this.#on('GET', '/guilds/:guildId/channels', ({ params }) => {
      const guildId = params['guildId'];
      if (!this.guilds.some((guild) => guild.id === guildId)) throw new DiscordApiError(404, 10004, 'Unknown Guild');
      return ok([...this.channels.values()].filter((c) => c.guildId === guildId && !c.isThread).map((c) => c.data));
    });
    this.#on('GET', '/channels/:channelId/messages', ({ params, query }) => {
      const channel = this.#channel(params['channelId']);
      const limit = Math.min(Math.max(Number(query['limit'] ?? 50) || 50, 1), 100);
      const newestFirst = this.channelMessages(channel.id).reverse();
      const id = (message: SimMessage) => BigInt(message.id);
      let page: SimMessage[];
      if (query['after'] !== undefined) {
        // `after` pages come oldest-first from the cursor on, returned newest first like Discord.
        const after = BigInt(query['after']);
        page = newestFirst.filter((message) => id(message) > after).slice(-limit);
      } else if (query['around'] !== undefined) {
        const around = BigInt(query['around']);
        const older = newestFirst.filter((message) => id(message) <= around).slice(0, Math.ceil(limit / 2));
        const newer = newestFirst.filter((message) => id(message) > around).slice(-Math.floor(limit / 2));
        page = [...newer, ...older];
      } else {
        const before = query['before'] === undefined ? undefined : BigInt(query['before']);
        page = newestFirst.filter((message) => before === undefined || id(message) < before).slice(0, limit);
      }
      return ok(page.map((message) => message.data));
    });
    this.#on('PATCH', '/channels/:channelId', ({ params, body }) => {
      const channel = this.#channel(params['channelId']);
      const parsed = validate(channelPatchSchema, body ?? {});
      if (parsed.name !== undefined) channel.data['name'] = parsed.name;
      if (channel.isThread) {
        const metadata = channel.data['thread_metadata'] as JsonObject;
        if (parsed.archived !== undefined) {
          metadata['archived'] = parsed.archived;
          metadata['archive_timestamp'] = new Date().toISOString();
        }
        if (parsed.locked !== undefined) metadata['locked'] = parsed.locked;
        if (parsed.auto_archive_duration !== undefined)
          metadata['auto_archive_duration'] = parsed.auto_archive_duration;
        this.#broadcast('THREAD_UPDATE', channel.data, intentGuilds);
      } else if (parsed.archived !== undefined || parsed.locked !== undefined) {
        throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
      } else {
        if (parsed.topic !== undefined) channel.data['topic'] = parsed.topic;
        this.#broadcast('CHANNEL_UPDATE', channel.data, intentGuilds);
      }
      return ok(channel.data);
    });
    this.#on('DELETE', '/channels/:channelId', ({ params }) => {
      const channel = this.#channel(params['channelId']);
      if (!channel.isThread) throw new DiscordApiError(403, 50013, 'Missing Permissions');
      this.channels.delete(channel.id);
      for (const message of this.messages.values()) {
        if (message.channelId === channel.id && message.deletedAt === undefined) message.deletedAt = Date.now();
      }
      this.#broadcast(
        'THREAD_DELETE',
        { id: channel.id, guild_id: channel.guildId, parent_id: channel.parentId, type: channel.data['type'] },
        intentGuilds,
      );
      return ok(channel.data);
    });
    this.#on('GET', '/channels/:channelId/messages/:messageId', ({ params }) => {
      return ok(this.#channelMessage(params).data);
    });
    this.#on('POST', '/channels/:channelId/messages', ({ params, body, fileCount }) => {
      const channel = this.#channel(params['channelId']);
      const parsed = this.#messageBody(body, fileCount, true);
      this.#unarchiveForMessage(channel);
      const message = this.#createMessage(channel, parsed, { via: 'bot', type: 0 });
      return ok(message.data);
    });
    this.#on('PATCH', '/channels/:channelId/messages/:messageId', ({ params, body, fileCount }) => {
      const message = this.#channelMessage(params);
      const author = message.data['author'] as JsonObject | undefined;
      if (author?.['id'] !== this.applicationId) {
        throw new DiscordApiError(403, 50005, 'Cannot edit a message authored by another user');
      }
      this.#editMessage(message, this.#messageBody(body, fileCount, false), 'bot');
      return ok(message.data);
    });
    this.#on('DELETE', '/channels/:channelId/messages/:messageId', ({ params }) => {
      this.#deleteMessage(this.#channelMessage(params));
      return { status: 204 };
    });
    this.#on('POST', '/channels/:channelId/messages/:messageId/threads', ({ params, body }) => {
      const channel = this.#channel(params['channelId']);
      const message = this.#channelMessage(params);
      if (message.data['thread'])
        throw new DiscordApiError(400, 160004, 'A thread has already been created for this message');
      const thread = this.#createThread(channel, validate(threadBodySchema, body), message.id, 11);
      message.data['thread'] = thread.data;
      message.data['flags'] = Number(message.data['flags'] ?? 0) | flagHasThread;
      return ok(thread.data, 201);
    });
    this.#on('POST', '/channels/:channelId/threads', ({ params, body }) => {
      const channel = this.#channel(params['channelId']);
      const parsed = validate(threadBodySchema, body);
      return ok(this.#createThread(channel, parsed, nextSnowflake(), parsed.type ?? 12).data, 201);
    });
    this.#on('PUT', '/channels/:channelId/thread-members/@me', ({ params }) => {
      const channel = this.#channel(params['channelId']);
      if (!channel.isThread) throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
      return { status: 204 };
    });
  }

  #checkApplication(applicationId: string | undefined): void {
    if (applicationId !== this.applicationId) throw new DiscordApiError(403, 50001, 'Missing Access');
  }

  #commandObject(id: string, command: JsonObject, guildId: string | undefined): JsonObject {
    return {
      id,
      application_id: this.applicationId,
      version: nextSnowflake(),
      type: 1,
      name_localizations: null,
      description_localizations: null,
      default_member_permissions: null,
      nsfw: false,
      contexts: null,
      integration_types: [0],
      ...command,
      description: command['description'] ?? '',
      ...(guildId === undefined ? {} : { guild_id: guildId }),
    };
  }

  #channel(channelId: string | undefined): SimChannel {
    const channel = channelId === undefined ? undefined : this.channels.get(channelId);
    if (!channel) throw new DiscordApiError(404, 10003, 'Unknown Channel');
    return channel;
  }

  #channelMessage(params: Record<string, string>): SimMessage {
    const channel = this.#channel(params['channelId']);
    const message = this.messages.get(params['messageId'] ?? '');
    if (!message || message.channelId !== channel.id || message.ephemeral || message.deletedAt !== undefined) {
      throw new DiscordApiError(404, 10008, 'Unknown Message');
    }
    return message;
  }

  #messageBody(body: unknown, fileCount: number, creating: boolean): MessageBody {
    const parsed = validate(messageBodySchema, body ?? {});
    if (creating && isEmptyMessage(parsed, fileCount))
      throw new DiscordApiError(400, 50006, 'Cannot send an empty message');
    return parsed;
  }

  #createMessage(
    channel: SimChannel,
    body: MessageBody,
    options: {
      via: SimMessage['via'];
      type: number;
      interaction?: InteractionRecord;
      extraFlags?: number;
      reference?: string;
    },
  ): SimMessage {
    const id = nextSnowflake();
    const flags = ((body.flags ?? 0) & (flagEphemeral | (1 << 2) | (1 << 12) | (1 << 15))) | (options.extraFlags ?? 0);
    const data: JsonObject = {
      id,
      type: options.type,
      channel_id: channel.id,
      author: this.botUser,
      content: body.content ?? '',
      embeds: body.embeds ?? [],
      components: body.components ?? [],
      attachments: [],
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: body.tts ?? false,
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      flags,
    };
    if (options.interaction) {
      const interactionUser =
        (options.interaction.payload['member'] as JsonObject | undefined)?.['user'] ??
        options.interaction.payload['user'];
      Object.assign(data, {
        webhook_id: this.applicationId,
        application_id: this.applicationId,
        interaction_metadata: {
          id: options.interaction.id,
          type: options.interaction.type,
          user: interactionUser,
          authorizing_integration_owners: options.interaction.payload['authorizing_integration_owners'],
        },
      });
    }
    if (options.reference)
      data['message_reference'] = { type: 0, message_id: options.reference, channel_id: channel.id };
    if (channel.isThread) {
      const count = Number(channel.data['message_count'] ?? 0);
      data['position'] = count;
      channel.data['message_count'] = count + 1;
      channel.data['total_message_sent'] = count + 1;
    }
    const message: SimMessage = {
      id,
      data,
      channelId: channel.id,
      via: options.via,
      ephemeral: (flags & flagEphemeral) !== 0,
      edits: [],
      ...(options.interaction ? { interactionId: options.interaction.id } : {}),
    };
    this.messages.set(id, message);
    if (!message.ephemeral) {
      channel.data['last_message_id'] = id;
      const intent = channel.guildId === undefined ? intentDirectMessages : intentGuildMessages;
      const guildPart = channel.guildId === undefined ? {} : { guild_id: channel.guildId };
      this.#broadcast('MESSAGE_CREATE', { ...data, ...guildPart }, intent);
    }
    return message;
  }

  #editMessage(message: SimMessage, body: MessageBody, via: SimMessage['via']): void {
    if (message.deletedAt !== undefined) throw new DiscordApiError(404, 10008, 'Unknown Message');
    const channel = this.channels.get(message.channelId);
    if (channel?.isThread && isArchived(channel.data)) throw new DiscordApiError(400, 50083, 'Thread is archived');
    const { data } = message;
    if ('content' in body) data['content'] = body.content ?? '';
    if ('embeds' in body) data['embeds'] = body.embeds ?? [];
    if ('components' in body) data['components'] = body.components ?? [];
    if ('attachments' in body) data['attachments'] = body.attachments ?? [];
    data['flags'] = Number(data['flags'] ?? 0) & ~flagLoading;
    data['edited_timestamp'] = new Date().toISOString();
    message.edits.push({ at: Date.now(), body: { ...body }, via });
    if (!message.ephemeral) {
      const channel = this.channels.get(message.channelId);
      const intent = channel?.guildId === undefined ? intentDirectMessages : intentGuildMessages;
      const guildPart = channel?.guildId === undefined ? {} : { guild_id: channel.guildId };
      this.#broadcast('MESSAGE_UPDATE', { ...data, ...guildPart }, intent);
    }
  }

  /** Sending into an archived thread reopens it unless it is locked (then 50083), as on Discord. */
  #unarchiveForMessage(channel: SimChannel): void {
    if (!channel.isThread || !isArchived(channel.data)) return;
    const metadata = channel.data['thread_metadata'] as JsonObject;
    if (metadata['locked'] === true) throw new DiscordApiError(400, 50083, 'Thread is archived');
    metadata['archived'] = false;
    metadata['archive_timestamp'] = new Date().toISOString();
    this.#broadcast('THREAD_UPDATE', channel.data, intentGuilds);
  }

  #deleteMessage(message: SimMessage): void {
    if (message.deletedAt !== undefined) throw new DiscordApiError(404, 10008, 'Unknown Message');
    message.deletedAt = Date.now();
  }

  #createThread(
    channel: SimChannel,
    body: { name: string; auto_archive_duration?: number | null; rate_limit_per_user?: number | null },
    id: string,
    type: number,
  ): SimChannel {
    if (channel.guildId === undefined || channel.isThread || ![0, 5].includes(Number(channel.data['type']))) {
      throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
    }
    const data = threadObject({
      id,
      guildId: channel.guildId,
      parentId: channel.id,
      ownerId: this.applicationId,
      name: body.name,
      type: channel.data['type'] === 5 ? 10 : type,
      autoArchiveDuration: body.auto_archive_duration ?? 4320,
      rateLimitPerUser: body.rate_limit_per_user ?? 0,
      now: Date.now(),
    });
    const thread: SimChannel = { id, data, guildId: channel.guildId, parentId: channel.id, isThread: true };
    this.channels.set(id, thread);
    this.#broadcast('THREAD_CREATE', { ...data, newly_created: true }, intentGuilds);
    return thread;
  }

  #interactionByToken(params: Record<string, string>): InteractionRecord {
    const token = params['token'] ?? '';
    const record = this.#interactionsByToken.get(token);
    if (!record || params['applicationId'] !== this.applicationId) {
      throw new DiscordApiError(404, 10015, 'Unknown Webhook');
    }
    if (this.#expiredTokens.has(token) || Date.now() - record.sentAt > this.#tokenTtlMs) {
      this.#violation('expired-token', `interaction token of ${record.id} used after it expired`);
      throw new DiscordApiError(401, 50027, 'Invalid Webhook Token');
    }
    if (!record.callback) {
      this.#violation('webhook-before-ack', `interaction webhook of ${record.id} used before the callback`);
      throw new DiscordApiError(404, 10015, 'Unknown Webhook');
    }
    return record;
  }

  #webhookMessage(params: Record<string, string>): SimMessage {
    const record = this.#interactionByToken(params);
    const messageId = params['messageId'] === '@original' ? record.originalMessageId : params['messageId'];
    const message = messageId === undefined ? undefined : this.messages.get(messageId);
    const belongs = message && (message.id === record.originalMessageId || record.followUpIds.includes(message.id));
    if (!message || !belongs || message.deletedAt !== undefined)
      throw new DiscordApiError(404, 10008, 'Unknown Message');
    return message;
  }

  #followUp({ params, body, fileCount }: RestRequest): RestReply {
    const record = this.#interactionByToken(params);
    const channel = this.#channel(String(record.payload['channel_id']));
    const parsed = this.#messageBody(body, fileCount, true);
    this.#unarchiveForMessage(channel);
    const message = this.#createMessage(channel, parsed, {
      via: 'webhook',
      type: 19,
      interaction: record,
      ...(record.originalMessageId ? { reference: record.originalMessageId } : {}),
    });
    record.followUpIds.push(message.id);
    return { status: 200, body: message.data };
  }

  #callback({ params, body, query }: RestRequest): RestReply {
    const record = this.interactions.get(params['interactionId'] ?? '');
    if (!record || record.token !== params['token']) throw new DiscordApiError(404, 10062, 'Unknown interaction');
    const route = '/interactions/:interactionId/:token/callback';
    if (record.callback) {
      throw new DiscordApiError(400, 40060, 'Interaction has already been acknowledged.');
    }
    const now = Date.now();
    if (now - record.sentAt > this.#ackDeadlineMs) {
      this.#violation('late-ack', `interaction ${record.id} acknowledged after ${now - record.sentAt} ms`, {
        method: 'POST',
        route,
      });
      throw new DiscordApiError(404, 10062, 'Unknown interaction');
    }
    const parsed = validate(interactionCallbackSchema, body);
    const allowed: Record<number, number[]> = { 2: [4, 5, 9, 12], 3: [4, 5, 6, 7, 9], 4: [8], 5: [4, 5, 6, 7] };
    if (!(allowed[record.type] ?? []).includes(parsed.type)) {
      throw new DiscordApiError(400, 50035, 'Invalid Form Body', {
        type: {
          _errors: [{ code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Interaction response type invalid' }],
        },
      });
    }
    const data = 'data' in parsed && parsed.data ? (parsed.data as JsonObject) : undefined;
    const channel = this.#channel(String(record.payload['channel_id']));
    let message: SimMessage | undefined;
    if (parsed.type === 4) {
      const messageBody = this.#messageBody(data, 0, true);
      message = this.#createMessage(channel, messageBody, {
        via: 'interaction',
        type: record.type === 2 ? 20 : 19,
        interaction: record,
      });
      record.originalMessageId = message.id;
    } else if (parsed.type === 5) {
      const flags = Number(data?.['flags'] ?? 0) & flagEphemeral;
      message = this.#createMessage(
        channel,
        { content: '', flags },
        { via: 'interaction', type: record.type === 2 ? 20 : 19, interaction: record, extraFlags: flagLoading },
      );
      record.originalMessageId = message.id;
    } else if (parsed.type === 7) {
      message = record.originalMessageId ? this.messages.get(record.originalMessageId) : undefined;
      if (message && data) this.#editMessage(message, this.#messageBody(data, 0, false), 'interaction');
    }
    record.callback = { type: parsed.type, ...(data ? { data } : {}), at: now, latencyMs: now - record.sentAt };
    for (const waiter of this.#ackWaiters.get(record.id) ?? []) waiter(record.callback);
    this.#ackWaiters.delete(record.id);
    if (query['with_response'] !== 'true') return { status: 204 };
    return {
      status: 200,
      body: {
        interaction: {
          id: record.id,
          type: record.type,
          activity_instance_id: null,
          response_message_id: message?.id ?? null,
          response_message_loading: parsed.type === 5,
          response_message_ephemeral: message?.ephemeral ?? false,
        },
        resource: { type: parsed.type, ...(message ? { message: message.data } : {}) },
      },
    };
  }
}

/** Starts a Discord simulator on 127.0.0.1 (REST under /api/v10, gateway at /gateway). */
export async function startDiscordSim(options: DiscordSimOptions = {}): Promise<DiscordSim> {
  const server = createServer({ keepAliveTimeout: 1_000 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return new DiscordSim(server, port, options);
}

// ---------------------------------------------------------------- helpers

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new DiscordApiError(413, 40005, 'Request entity too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function parseBody(raw: Buffer, contentType: string | undefined): Promise<{ body: unknown; fileCount: number }> {
  if (raw.length === 0) return { body: undefined, fileCount: 0 };
  if (contentType?.startsWith('multipart/form-data')) {
    // discord.js sends files as multipart with the JSON in payload_json.
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
    let body: unknown;
    let fileCount = 0;
    for (const [name, value] of form.entries()) {
      if (name === 'payload_json' && typeof value === 'string') body = JSON.parse(value);
      else if (typeof value !== 'string') fileCount += 1;
    }
    return { body, fileCount };
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')), fileCount: 0 };
  } catch {
    throw new DiscordApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new DiscordApiError(400, 50035, 'Invalid Form Body', toDiscordFormErrors(result.error.issues));
}

function formError(issues: { path: string[]; message: string }[]): DiscordApiError {
  const errors: Record<string, unknown> = {};
  for (const issue of issues)
    errors[issue.path.join('.') || '_root'] = { _errors: [{ code: 'BASE_TYPE_BAD_VALUE', message: issue.message }] };
  return new DiscordApiError(400, 50035, 'Invalid Form Body', errors);
}

function errorReply(error: unknown, call: { method: string; route: string }): RestReply {
  if (error instanceof DiscordApiError) {
    return {
      status: error.status,
      body: { message: error.message, code: error.code, ...(error.errors ? { errors: error.errors } : {}) },
    };
  }
  return {
    status: 500,
    body: { message: `discord-sim error in ${call.method} ${call.route}: ${String(error)}`, code: 0 },
  };
}

function rateLimitResponse(retryAfterMs: number, global: boolean, route: string): RestReply {
  const seconds = retryAfterMs / 1000;
  const headers: Record<string, string> = {
    'retry-after': String(Math.ceil(seconds)),
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': ((Date.now() + retryAfterMs) / 1000).toFixed(3),
    'x-ratelimit-reset-after': seconds.toFixed(3),
    'x-ratelimit-bucket': Buffer.from(route).toString('hex').slice(0, 32),
    'x-ratelimit-scope': global ? 'global' : 'user',
  };
  if (global) headers['x-ratelimit-global'] = 'true';
  return {
    status: 429,
    headers,
    body: { message: 'You are being rate limited.', retry_after: seconds, global, ...(global ? { code: 0 } : {}) },
  };
}

function isArchived(thread: JsonObject): boolean {
  const metadata = thread['thread_metadata'] as JsonObject | undefined;
  return metadata?.['archived'] === true;
}

function findButton(components: unknown, customId: string): JsonObject | undefined {
  if (!Array.isArray(components)) return undefined;
  for (const component of components as JsonObject[]) {
    if (component['custom_id'] === customId) return component;
    const nested = findButton(component['components'], customId);
    if (nested) return nested;
  }
  return undefined;
}

function optionDefinitions(command: JsonObject | undefined, group?: string, subcommand?: string): JsonObject[] {
  let options = (command?.['options'] as JsonObject[] | undefined) ?? [];
  if (group !== undefined) options = (options.find((o) => o['name'] === group)?.['options'] as JsonObject[]) ?? [];
  if (subcommand !== undefined) {
    options = (options.find((o) => o['name'] === subcommand)?.['options'] as JsonObject[]) ?? [];
  }
  return options;
}

function inferOptionType(value: string | number | boolean): number {
  if (typeof value === 'boolean') return 5;
  if (typeof value === 'number') return Number.isInteger(value) ? 4 : 10;
  return 3;
}

/** What a user reads in a message: content, then each embed's author, title, description, fields and footer. */
export function discordMessageText(message: SimMessage | JsonObject): string {
  const data: JsonObject = isSimMessage(message) ? message.data : message;
  const lines: string[] = [];
  if (typeof data['content'] === 'string' && data['content'] !== '') lines.push(data['content']);
  for (const embed of (data['embeds'] as JsonObject[] | undefined) ?? []) {
    const author = (embed['author'] as JsonObject | undefined)?.['name'];
    if (typeof author === 'string') lines.push(author);
    if (typeof embed['title'] === 'string') lines.push(embed['title']);
    if (typeof embed['description'] === 'string') lines.push(embed['description']);
    for (const field of (embed['fields'] as JsonObject[] | undefined) ?? [])
      lines.push(`${field['name']}: ${field['value']}`);
    const footer = (embed['footer'] as JsonObject | undefined)?.['text'];
    if (typeof footer === 'string') lines.push(footer);
  }
  return lines.join('\n');
}

function isSimMessage(message: SimMessage | JsonObject): message is SimMessage {
  return Array.isArray(message['edits']) && typeof message['data'] === 'object' && message['data'] !== null;
}
