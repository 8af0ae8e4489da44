import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deleteThread } from './channels.js';
import { Faults } from './faults.js';
import { Gateway } from './gateway.js';
import { Interactions } from './interactions.js';
import { defineRestRoutes } from './rest-routes.js';
import { RestServer } from './rest-server.js';
import { intentGuilds, SimState } from './state.js';
import type {
  AutocompleteInput,
  ButtonClickInput,
  DiscordSimOptions,
  FailureRule,
  GatewayConnectionInfo,
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

export { discordMessageText } from './message-text.js';

/**
 * A local Discord (REST API v10 + gateway) that the real discord.js connects to unchanged. One object for tests,
 * made of one part per concern: the shared state (state.ts), the gateway (gateway.ts), the REST plumbing and routes
 * (rest-server.ts, rest-routes.ts, channels.ts), interactions (interactions.ts) and injected faults (faults.ts).
 */
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
  readonly guilds: { id: string; name: string; channelIds: string[] }[];
  /** Every REST call, in arrival order. */
  readonly calls: RecordedCall[];
  /** Payload and protocol rules the client broke (tests assert this stays empty). */
  readonly violations: Violation[];
  /** Every message by id (channel messages, interaction responses, follow-ups, ephemerals). */
  readonly messages: Map<string, SimMessage>;
  /** Every channel, DM channel and thread by id. */
  readonly channels: Map<string, SimChannel>;
  /** Every interaction the sim dispatched, by id. */
  readonly interactions: Map<string, InteractionRecord>;

  readonly #server: Server;
  readonly #state: SimState;
  readonly #gateway: Gateway;
  readonly #faults: Faults;
  readonly #interactions: Interactions;
  #connectionsAccepted = 0;

  /** @internal use startDiscordSim. */
  constructor(server: Server, port: number, options: DiscordSimOptions) {
    this.#server = server;
    const state = new SimState(port, options);
    this.#state = state;
    this.port = port;
    this.apiUrl = state.apiUrl;
    this.gatewayUrl = state.gatewayUrl;
    this.applicationId = state.applicationId;
    this.botToken = state.botToken;
    this.botUser = state.botUser;
    this.guilds = state.guilds;
    this.calls = state.calls;
    this.violations = state.violations;
    this.messages = state.messages;
    this.channels = state.channels;
    this.interactions = state.interactions;
    this.#gateway = new Gateway(state, options.heartbeatIntervalMs ?? 41_250);
    this.#faults = new Faults(state);
    this.#interactions = new Interactions(state, this.#gateway);
    const rest = new RestServer(state, this.#faults);
    defineRestRoutes(rest, state);
    this.#interactions.defineRoutes(rest);
    server.on('connection', () => {
      this.#connectionsAccepted += 1;
    });
    server.on('request', (request, response) => void rest.handle(request, response));
    server.on('upgrade', (request, socket, head) => this.#gateway.upgrade(request, socket, head));
  }

  /** Registered commands: global when guildId is omitted, else that guild's. */
  commands(guildId?: string): JsonObject[] {
    const store = guildId === undefined ? this.#state.globalCommands : this.#state.guildCommands.get(guildId);
    return [...(store?.values() ?? [])].map((command) => command.data);
  }

  /** Messages visible in a channel or thread (not deleted, not ephemeral), oldest first. */
  channelMessages(channelId: string): SimMessage[] {
    return this.#state.channelMessages(channelId);
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

  /** TCP connections the sim has accepted so far, REST and gateway alike (how many a client opened, e.g. in a burst). */
  connectionsAccepted(): number {
    return this.#connectionsAccepted;
  }

  /** State of every gateway connection the sim has seen (open or closed). */
  gatewayConnections(): GatewayConnectionInfo[] {
    return this.#gateway.connections();
  }

  /** Sends INTERACTION_CREATE type 2 (chat input command) to the ready bot; returns a handle on it. */
  sendSlashCommand(input: SlashCommandInput): InteractionHandle {
    return this.#interactions.sendSlashCommand(input);
  }

  /** Sends INTERACTION_CREATE type 4 (autocomplete) with the `focused` option marked. */
  sendAutocomplete(input: AutocompleteInput): InteractionHandle {
    return this.#interactions.sendAutocomplete(input);
  }

  /** Sends INTERACTION_CREATE type 3 (button) for a button present on a stored message. */
  clickButton(input: ButtonClickInput): InteractionHandle {
    return this.#interactions.clickButton(input);
  }

  /** Makes the next `count` matching REST calls answer 429 with Discord's headers and JSON body. */
  rateLimit(rule: RateLimitRule): void {
    this.#faults.rateLimit(rule);
  }

  /** Makes the next matching REST calls fail with a Discord JSON error (default 403 Missing Permissions). */
  failRequests(rule: FailureRule): void {
    this.#faults.failRequests(rule);
  }

  /** Expires every interaction token issued so far (their webhooks then answer 401 Invalid Webhook Token). */
  expireInteractionTokens(): void {
    this.#interactions.expireTokens();
  }

  /** Archives a thread (as Discord does after auto_archive_duration of inactivity); `locked` keeps it closed. */
  archiveThread(threadId: string, options: { locked?: boolean } = {}): void {
    const thread = this.channels.get(threadId);
    if (!thread?.isThread) throw new Error(`discord-sim: no thread ${threadId}`);
    const metadata = thread.data['thread_metadata'] as JsonObject;
    metadata['archived'] = true;
    metadata['locked'] = options.locked ?? false;
    metadata['archive_timestamp'] = new Date().toISOString();
    this.#gateway.broadcast('THREAD_UPDATE', thread.data, intentGuilds);
  }

  /** Deletes a thread as a moderator would (its messages go with it): later REST calls on it answer 10003 Unknown Channel. */
  deleteThread(threadId: string): void {
    const thread = this.channels.get(threadId);
    if (!thread?.isThread) throw new Error(`discord-sim: no thread ${threadId}`);
    deleteThread(this.#state, thread);
  }

  /** Closes every gateway socket with `code` (default 4000, which discord.js answers with RESUME). */
  disconnectGateway(code = 4000): void {
    this.#gateway.disconnect(code);
  }

  /** Resolves with predicate(sim) once it is truthy (re-checked on every change); rejects after timeoutMs. */
  waitFor<T>(predicate: (sim: DiscordSim) => T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
    return this.#state.waitUntil(() => predicate(this), timeoutMs);
  }

  /** Closes every socket and the HTTP server. */
  async stop(): Promise<void> {
    await this.#gateway.stop();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Starts a Discord simulator on 127.0.0.1 (REST under /api/v10, gateway at /gateway). */
export async function startDiscordSim(options: DiscordSimOptions = {}): Promise<DiscordSim> {
  const server = createServer({ keepAliveTimeout: options.keepAliveTimeoutMs ?? 1_000 });
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
