import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isArchived } from './channels.js';
import { defaultBotPermissions, guildCreateObject, memberObject } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import type { SimState } from './state.js';
import type { GatewayConnectionInfo, JsonObject } from './types.js';

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

interface GatewayConnection {
  socket: WebSocket;
  session?: GatewaySession;
  heartbeats: number;
}

/** The gateway at /gateway: HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeats, RESUME replay, dispatches by intent. */
export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true, maxPayload: 4096 * 1024 });
  readonly #sessions = new Map<string, GatewaySession>();
  readonly #connections = new Set<GatewayConnection>();

  constructor(
    private readonly state: SimState,
    private readonly heartbeatIntervalMs: number,
  ) {
    state.broadcast = (event, data, intent) => this.broadcast(event, data, intent);
  }

  /** Takes an HTTP upgrade: /gateway becomes a session, anything else is refused. */
  upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/gateway') {
      socket.destroy();
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#onConnection(ws, url));
  }

  /** State of every connection seen (open or closed). */
  connections(): GatewayConnectionInfo[] {
    return [...this.#connections].map((connection) => ({
      ...(connection.session ? { sessionId: connection.session.id } : {}),
      ready: connection.session?.ready ?? false,
      intents: connection.session?.intents ?? 0,
      heartbeats: connection.heartbeats,
      open: connection.socket.readyState === connection.socket.OPEN,
    }));
  }

  /** Closes every socket with `code` (4000 makes discord.js RESUME). */
  disconnect(code: number): void {
    for (const connection of this.#connections) connection.socket.close(code, 'discord-sim disconnect');
  }

  async stop(): Promise<void> {
    for (const connection of this.#connections) connection.socket.terminate();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }

  /** A sender to the most recent ready session (where the bot listens); throws at once when none is ready. */
  botSender(): (event: string, data: JsonObject) => void {
    const sessions = [...this.#sessions.values()].filter(
      (session) => session.ready && session.socket !== undefined && session.socket.readyState === session.socket.OPEN,
    );
    const session = sessions.at(-1);
    if (!session) throw new Error('discord-sim: no gateway session is ready (has the bot logged in?)');
    return (event, data) => this.#dispatch(session, event, data);
  }

  /** Sends an event to every ready session whose intents include `intent`. */
  broadcast(event: string, data: JsonObject, intent: number): void {
    for (const session of this.#sessions.values()) {
      if (session.ready && (session.intents & intent) !== 0) this.#dispatch(session, event, data);
    }
  }

  #onConnection(socket: WebSocket, url: URL): void {
    const { state } = this;
    const connection: GatewayConnection = { socket, heartbeats: 0 };
    this.#connections.add(connection);
    const version = url.searchParams.get('v');
    const encoding = url.searchParams.get('encoding');
    if (version !== '10' || (encoding !== null && encoding !== 'json')) {
      state.violation('gateway', `unsupported gateway query v=${version} encoding=${encoding}`);
      socket.close(4012, 'Invalid API version');
      return;
    }
    if (url.searchParams.has('compress')) {
      state.violation('gateway', 'transport compression requested; discord-sim speaks plain JSON only');
    }
    socket.on('message', (raw, isBinary) => {
      let packet: { op?: unknown; d?: unknown };
      try {
        packet = JSON.parse(isBinary ? Buffer.from(raw as Buffer).toString('utf8') : String(raw));
      } catch {
        socket.close(4002, 'Decode error');
        return;
      }
      this.#onPacket(connection, packet);
    });
    socket.on('close', () => {
      if (connection.session?.socket === socket) connection.session.socket = undefined;
      state.changed();
    });
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ op: 10, d: { heartbeat_interval: this.heartbeatIntervalMs }, s: null, t: null }));
    state.changed();
  }

  #onPacket(connection: GatewayConnection, packet: { op?: unknown; d?: unknown }): void {
    const { state } = this;
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
        if (data['token'] !== state.botToken) {
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
          user: state.botUser,
          guilds: state.guilds.map((guild) => ({ id: guild.id, unavailable: true })),
          session_id: session.id,
          session_type: 'normal',
          resume_gateway_url: state.gatewayUrl,
          shard: Array.isArray(data['shard']) ? data['shard'] : [0, 1],
          application: { id: state.applicationId, flags: 0 },
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
        for (const guild of state.guilds) this.#dispatch(session, 'GUILD_CREATE', this.#guildCreate(guild.id));
        break;
      }
      case 6: {
        const session = typeof data['session_id'] === 'string' ? this.#sessions.get(data['session_id']) : undefined;
        if (!session || data['token'] !== state.botToken) {
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
        state.violation('gateway', `unexpected gateway opcode ${String(packet.op)}`);
        socket.close(4001, 'Unknown opcode');
    }
    state.changed();
  }

  #guildCreate(guildId: string): JsonObject {
    const { state } = this;
    const guild = state.guilds.find((candidate) => candidate.id === guildId);
    const channels = [...state.channels.values()].filter((channel) => channel.guildId === guildId);
    return guildCreateObject({
      id: guildId,
      name: guild?.name ?? 'guild',
      ownerId: nextSnowflake(),
      channels: channels.filter((channel) => !channel.isThread).map((channel) => channel.data),
      threads: channels
        .filter((channel) => channel.isThread && !isArchived(channel.data))
        .map((channel) => channel.data),
      botMember: memberObject(state.botUser, state.startedAt),
      permissions: defaultBotPermissions,
      joinedAt: state.startedAt,
    });
  }

  #dispatch(session: GatewaySession, event: string, data: JsonObject): void {
    session.seq += 1;
    const payload = JSON.stringify({ op: 0, t: event, s: session.seq, d: data });
    session.sent.push({ s: session.seq, payload });
    if (session.sent.length > 1000) session.sent.shift();
    if (session.socket && session.socket.readyState === session.socket.OPEN) session.socket.send(payload);
  }
}
