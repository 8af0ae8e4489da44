import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { dmChannelObject, guildChannelObject, userObject } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import type {
  DiscordSimOptions,
  InteractionRecord,
  JsonObject,
  RecordedCall,
  SimChannel,
  SimMessage,
  Violation,
} from './types.js';

export const flagEphemeral = 1 << 6;
export const flagLoading = 1 << 7;
export const flagHasThread = 1 << 5;
export const intentGuilds = 1 << 0;
export const intentGuildMessages = 1 << 9;
export const intentDirectMessages = 1 << 12;

export interface StoredCommand {
  data: JsonObject;
  name: string;
}

/** What the sim knows (guilds, channels, messages, interactions, commands) and what it saw, shared by every concern. */
export class SimState {
  readonly port: number;
  readonly apiUrl: string;
  readonly gatewayUrl: string;
  readonly applicationId: string;
  readonly botToken: string;
  readonly botUser: JsonObject;
  readonly guilds: { id: string; name: string; channelIds: string[] }[] = [];
  readonly calls: RecordedCall[] = [];
  readonly violations: Violation[] = [];
  readonly messages = new Map<string, SimMessage>();
  readonly channels = new Map<string, SimChannel>();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly interactionsByToken = new Map<string, InteractionRecord>();
  readonly expiredTokens = new Set<string>();
  readonly globalCommands = new Map<string, StoredCommand>();
  readonly guildCommands = new Map<string, Map<string, StoredCommand>>();
  readonly startedAt = new Date().toISOString();
  readonly ackDeadlineMs: number;
  readonly tokenTtlMs: number;
  readonly #users = new Map<string, JsonObject>();
  readonly #events = new EventEmitter();
  /** Sends a gateway event to every ready session whose intents include `intent` (set by the gateway). */
  broadcast: (event: string, data: JsonObject, intent: number) => void = () => undefined;

  constructor(port: number, options: DiscordSimOptions) {
    this.port = port;
    this.apiUrl = `http://127.0.0.1:${port}/api`;
    this.gatewayUrl = `ws://127.0.0.1:${port}/gateway`;
    this.applicationId = options.applicationId ?? nextSnowflake();
    this.botToken = options.botToken ?? `sim.${randomBytes(24).toString('base64url')}`;
    this.botUser = userObject(this.applicationId, options.botUsername ?? 'labbot', true);
    this.#users.set(this.applicationId, this.botUser);
    this.ackDeadlineMs = options.interactionAckDeadlineMs ?? 3_000;
    this.tokenTtlMs = options.interactionTokenTtlMs ?? 15 * 60_000;
    this.#events.setMaxListeners(1000);
    this.#setUpGuilds(options);
  }

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

  /** The user object of `id`, made on first sight (a new username replaces the old one). */
  user(id: string, username?: string): JsonObject {
    const existing = this.#users.get(id);
    if (existing && (username === undefined || existing['username'] === username)) return existing;
    const user = userObject(id, username ?? `user${id.slice(-4)}`);
    this.#users.set(id, user);
    return user;
  }

  /** The bot's DM channel with a user, opened on first use. */
  dmChannelFor(userId: string): SimChannel {
    for (const channel of this.channels.values()) {
      const recipients = channel.data['recipients'];
      if (channel.guildId === undefined && Array.isArray(recipients) && recipients[0]?.id === userId) return channel;
    }
    const id = nextSnowflake();
    const channel: SimChannel = { id, data: dmChannelObject(id, this.user(userId)), isThread: false };
    this.channels.set(id, channel);
    return channel;
  }

  /** Messages visible in a channel or thread (not deleted, not ephemeral), oldest first. */
  channelMessages(channelId: string): SimMessage[] {
    return [...this.messages.values()].filter(
      (message) => message.channelId === channelId && !message.ephemeral && message.deletedAt === undefined,
    );
  }

  /** Notes a rule of Discord's that the client broke (tests assert there are none). */
  violation(kind: string, message: string, call?: { method: string; route: string }): void {
    this.violations.push({
      kind,
      message,
      ...(call ? { method: call.method, route: call.route } : {}),
      at: Date.now(),
    });
  }

  /** Tells waiters that something changed. */
  changed(): void {
    this.#events.emit('change');
  }

  /** Resolves with predicate() once it is truthy (re-checked on every change); rejects after timeoutMs. */
  waitUntil<T>(predicate: () => T | undefined | null | false, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = () => {
        let value: T | undefined | null | false;
        try {
          value = predicate();
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
}
