import { DiscordApiError, validate } from './api-error.js';
import {
  channelOf,
  createMessage,
  deleteMessage,
  editMessage,
  messageBodyOf,
  unarchiveForMessage,
} from './channels.js';
import type { RestReply } from './faults.js';
import type { Gateway } from './gateway.js';
import { defaultBotPermissions, memberObject } from './payloads.js';
import type { RestRequest, RestServer } from './rest-server.js';
import { nextSnowflake, randomToken } from './snowflake.js';
import { flagEphemeral, flagLoading, type SimState, type StoredCommand } from './state.js';
import type {
  AutocompleteInput,
  ButtonClickInput,
  InteractionCallback,
  InteractionHandle,
  InteractionRecord,
  JsonObject,
  SimMessage,
  SlashCommandInput,
} from './types.js';
import { interactionCallbackSchema } from './validation.js';

interface InteractionInput {
  guildId?: string;
  channelId?: string;
  userId: string;
  username?: string;
  memberPermissions?: string;
  roles?: string[];
  deliveredLateByMs?: number;
}

/** Interactions: slash commands, autocomplete and buttons sent to the bot, and their callback and webhook routes. */
export class Interactions {
  readonly #ackWaiters = new Map<string, Set<(callback: InteractionCallback) => void>>();

  constructor(
    private readonly state: SimState,
    private readonly gateway: Gateway,
  ) {}

  sendSlashCommand(input: SlashCommandInput): InteractionHandle {
    const command = this.#findCommand(input.name, input.guildId);
    const options = commandOptions(input, command);
    return this.#dispatch(2, input, (base) => ({
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

  sendAutocomplete(input: AutocompleteInput): InteractionHandle {
    const command = this.#findCommand(input.name, input.guildId);
    const options = commandOptions(input, command, input.focused);
    return this.#dispatch(4, input, (base) => ({
      ...base,
      data: { id: command?.data['id'] ?? nextSnowflake(), name: input.name, type: 1, options },
    }));
  }

  clickButton(input: ButtonClickInput): InteractionHandle {
    const { state } = this;
    const message = state.messages.get(input.messageId);
    if (!message || message.deletedAt !== undefined) throw new Error(`discord-sim: no message ${input.messageId}`);
    const button = findButton(message.data['components'], input.customId);
    if (!button) throw new Error(`discord-sim: message ${input.messageId} has no button '${input.customId}'`);
    if (button['disabled'] === true) throw new Error(`discord-sim: button '${input.customId}' is disabled`);
    const channel = state.channels.get(message.channelId);
    const handle = this.#dispatch(
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

  /** Expires every interaction token issued so far. */
  expireTokens(): void {
    for (const token of this.state.interactionsByToken.keys()) this.state.expiredTokens.add(token);
  }

  /** The callback and the interaction webhooks: no bot token, the interaction token is the credential. */
  defineRoutes(rest: RestServer): void {
    const ok = (body: unknown): RestReply => ({ status: 200, body });
    rest.on('POST', '/interactions/:interactionId/:token/callback', (request) => this.#callback(request), false);
    rest.on('POST', '/webhooks/:applicationId/:token', (request) => this.#followUp(request), false);
    rest.on(
      'GET',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params }) => ok(this.#webhookMessage(params).data),
      false,
    );
    rest.on(
      'PATCH',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params, body, fileCount }) => {
        const message = this.#webhookMessage(params);
        editMessage(this.state, message, messageBodyOf(body, fileCount, false), 'webhook');
        return ok(message.data);
      },
      false,
    );
    rest.on(
      'DELETE',
      '/webhooks/:applicationId/:token/messages/:messageId',
      ({ params }) => {
        deleteMessage(this.#webhookMessage(params));
        return { status: 204 };
      },
      false,
    );
  }

  #findCommand(name: string, guildId: string | undefined): StoredCommand | undefined {
    const { state } = this;
    const guildCommand =
      guildId === undefined
        ? undefined
        : [...(state.guildCommands.get(guildId)?.values() ?? [])].find((command) => command.name === name);
    return guildCommand ?? [...state.globalCommands.values()].find((command) => command.name === name);
  }

  #dispatch(type: number, input: InteractionInput, finish: (base: JsonObject) => JsonObject): InteractionHandle {
    const { state } = this;
    const send = this.gateway.botSender();
    const user = state.user(input.userId, input.username);
    const createdAt = Date.now() - (input.deliveredLateByMs ?? 0);
    const id = nextSnowflake(createdAt);
    const token = randomToken();
    const base: JsonObject = {
      id,
      application_id: state.applicationId,
      type,
      token,
      version: 1,
      app_permissions: defaultBotPermissions,
      locale: 'en-US',
      entitlements: [],
      attachment_size_limit: 10_485_760,
    };
    if (input.guildId !== undefined) {
      const guild = state.guilds.find((candidate) => candidate.id === input.guildId);
      if (!guild) throw new Error(`discord-sim: unknown guild ${input.guildId}`);
      const channelId = input.channelId ?? guild.channelIds[0];
      const channel = channelId === undefined ? undefined : state.channels.get(channelId);
      if (!channel || channel.guildId !== guild.id) throw new Error(`discord-sim: unknown channel ${channelId}`);
      Object.assign(base, {
        guild_id: guild.id,
        guild: { id: guild.id, locale: 'en-US', features: [] },
        guild_locale: 'en-US',
        channel_id: channel.id,
        channel: { ...channel.data, permissions: defaultBotPermissions },
        member: memberObject(user, state.startedAt, input.memberPermissions ?? defaultBotPermissions, input.roles),
        authorizing_integration_owners: { '0': guild.id },
        context: 0,
      });
    } else {
      const channel = input.channelId ? state.channels.get(input.channelId) : state.dmChannelFor(input.userId);
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
    const record: InteractionRecord = { id, token, type, payload, sentAt: createdAt, followUpIds: [] };
    state.interactions.set(id, record);
    state.interactionsByToken.set(token, record);
    send('INTERACTION_CREATE', payload);
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
    const { state } = this;
    return {
      id: record.id,
      token: record.token,
      record,
      acknowledged: (timeoutMs = 3_000) => this.#acknowledged(record, timeoutMs),
      original: () => (record.originalMessageId ? state.messages.get(record.originalMessageId) : undefined),
      followUps: () => record.followUpIds.flatMap((messageId) => state.messages.get(messageId) ?? []),
      waitForOriginal: (predicate, timeoutMs = 5_000) =>
        state.waitUntil(() => {
          const message = record.originalMessageId ? state.messages.get(record.originalMessageId) : undefined;
          return message && predicate(message) ? message : undefined;
        }, timeoutMs),
    };
  }

  #interactionByToken(params: Record<string, string>): InteractionRecord {
    const { state } = this;
    const token = params['token'] ?? '';
    const record = state.interactionsByToken.get(token);
    if (!record || params['applicationId'] !== state.applicationId) {
      throw new DiscordApiError(404, 10015, 'Unknown Webhook');
    }
    if (state.expiredTokens.has(token) || Date.now() - record.sentAt > state.tokenTtlMs) {
      state.violation('expired-token', `interaction token of ${record.id} used after it expired`);
      throw new DiscordApiError(401, 50027, 'Invalid Webhook Token');
    }
    if (!record.callback) {
      state.violation('webhook-before-ack', `interaction webhook of ${record.id} used before the callback`);
      throw new DiscordApiError(404, 10015, 'Unknown Webhook');
    }
    return record;
  }

  #webhookMessage(params: Record<string, string>): SimMessage {
    const record = this.#interactionByToken(params);
    const messageId = params['messageId'] === '@original' ? record.originalMessageId : params['messageId'];
    const message = messageId === undefined ? undefined : this.state.messages.get(messageId);
    const belongs = message && (message.id === record.originalMessageId || record.followUpIds.includes(message.id));
    if (!message || !belongs || message.deletedAt !== undefined)
      throw new DiscordApiError(404, 10008, 'Unknown Message');
    return message;
  }

  #followUp({ params, body, fileCount }: RestRequest): RestReply {
    const { state } = this;
    const record = this.#interactionByToken(params);
    const channel = channelOf(state, String(record.payload['channel_id']));
    const parsed = messageBodyOf(body, fileCount, true);
    unarchiveForMessage(state, channel);
    const message = createMessage(state, channel, parsed, {
      via: 'webhook',
      type: 19,
      interaction: record,
      ...(record.originalMessageId ? { reference: record.originalMessageId } : {}),
    });
    record.followUpIds.push(message.id);
    return { status: 200, body: message.data };
  }

  #callback({ params, body, query }: RestRequest): RestReply {
    const { state } = this;
    const record = state.interactions.get(params['interactionId'] ?? '');
    if (!record || record.token !== params['token']) throw new DiscordApiError(404, 10062, 'Unknown interaction');
    const route = '/interactions/:interactionId/:token/callback';
    if (record.callback) {
      throw new DiscordApiError(400, 40060, 'Interaction has already been acknowledged.');
    }
    const now = Date.now();
    if (now - record.sentAt > state.ackDeadlineMs) {
      state.violation('late-ack', `interaction ${record.id} acknowledged after ${now - record.sentAt} ms`, {
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
    const channel = channelOf(state, String(record.payload['channel_id']));
    let message: SimMessage | undefined;
    if (parsed.type === 4) {
      const messageBody = messageBodyOf(data, 0, true);
      message = createMessage(state, channel, messageBody, {
        via: 'interaction',
        type: record.type === 2 ? 20 : 19,
        interaction: record,
      });
      record.originalMessageId = message.id;
    } else if (parsed.type === 5) {
      const flags = Number(data?.['flags'] ?? 0) & flagEphemeral;
      message = createMessage(
        state,
        channel,
        { content: '', flags },
        { via: 'interaction', type: record.type === 2 ? 20 : 19, interaction: record, extraFlags: flagLoading },
      );
      record.originalMessageId = message.id;
    } else if (parsed.type === 7) {
      message = record.originalMessageId ? state.messages.get(record.originalMessageId) : undefined;
      if (message && data) editMessage(state, message, messageBodyOf(data, 0, false), 'interaction');
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

function commandOptions(input: SlashCommandInput, command: StoredCommand | undefined, focused?: string): JsonObject[] {
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
