import { DiscordApiError, formError, validate } from './api-error.js';
import {
  channelMessageOf,
  channelOf,
  createMessage,
  createThread,
  deleteMessage,
  deleteThread,
  editMessage,
  messageBodyOf,
  unarchiveForMessage,
} from './channels.js';
import type { RestReply } from './faults.js';
import { userObject } from './payloads.js';
import type { RestServer } from './rest-server.js';
import { nextSnowflake } from './snowflake.js';
import { flagHasThread, intentGuilds, type SimState, type StoredCommand } from './state.js';
import type { JsonObject, SimMessage } from './types.js';
import { applicationCommandSchema, bulkCommandsSchema, channelPatchSchema, threadBodySchema } from './validation.js';

/** The REST routes a bot token uses: gateway info, users, the application and its commands, channels, messages, threads. */
export function defineRestRoutes(rest: RestServer, state: SimState): void {
  const ok = (body: unknown, status = 200): RestReply => ({ status, body });
  const gatewayInfo = {
    url: state.gatewayUrl,
    shards: 1,
    session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 },
  };
  rest.on('GET', '/gateway/bot', () => ok(gatewayInfo));
  rest.on('GET', '/gateway', () => ok({ url: state.gatewayUrl }), false);
  rest.on('GET', '/users/@me', () => ok(state.botUser));
  rest.on('GET', '/users/:userId', ({ params }) => ok(state.user(params['userId'] ?? '')));
  rest.on('POST', '/users/@me/channels', ({ body }) => {
    const recipient = (body as JsonObject | undefined)?.['recipient_id'];
    if (typeof recipient !== 'string') throw formError([{ path: ['recipient_id'], message: 'required' }]);
    return ok(state.dmChannelFor(recipient).data);
  });
  const application = () => ({
    id: state.applicationId,
    name: state.botUser['username'],
    icon: null,
    description: '',
    bot_public: true,
    bot_require_code_grant: false,
    flags: 0,
    bot: state.botUser,
    verify_key: 'sim',
    team: null,
    owner: userObject(nextSnowflake(), 'owner'),
  });
  rest.on('GET', '/applications/@me', () => ok(application()));
  rest.on('GET', '/oauth2/applications/@me', () => ok(application()));

  // Application commands, global and per guild.
  const commandStore = (params: Record<string, string>): Map<string, StoredCommand> => {
    checkApplication(state, params['applicationId']);
    const guildId = params['guildId'];
    if (guildId === undefined) return state.globalCommands;
    if (!state.guilds.some((guild) => guild.id === guildId)) throw new DiscordApiError(403, 50001, 'Missing Access');
    let store = state.guildCommands.get(guildId);
    if (!store) {
      store = new Map();
      state.guildCommands.set(guildId, store);
    }
    return store;
  };
  for (const prefix of ['/applications/:applicationId', '/applications/:applicationId/guilds/:guildId']) {
    rest.on('GET', `${prefix}/commands`, ({ params }) => ok([...commandStore(params).values()].map((c) => c.data)));
    rest.on('PUT', `${prefix}/commands`, ({ params, body }) => {
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
        store.set(id, { name: command.name, data: commandObject(state, id, command, params['guildId']) });
      }
      return ok([...store.values()].map((command) => command.data));
    });
    rest.on('POST', `${prefix}/commands`, ({ params, body }) => {
      const store = commandStore(params);
      const command = validate(applicationCommandSchema, body);
      const existing = [...store.entries()].find(([, stored]) => stored.name === command.name);
      const id = existing?.[0] ?? nextSnowflake();
      store.set(id, { name: command.name, data: commandObject(state, id, command, params['guildId']) });
      return ok(store.get(id)?.data, existing ? 200 : 201);
    });
    rest.on('GET', `${prefix}/commands/:commandId`, ({ params }) => {
      const command = commandStore(params).get(params['commandId'] ?? '');
      if (!command) throw new DiscordApiError(404, 10063, 'Unknown application command');
      return ok(command.data);
    });
    rest.on('DELETE', `${prefix}/commands/:commandId`, ({ params }) => {
      if (!commandStore(params).delete(params['commandId'] ?? '')) {
        throw new DiscordApiError(404, 10063, 'Unknown application command');
      }
      return { status: 204 };
    });
  }

  // Channels, messages and threads with the bot token.
  rest.on('GET', '/channels/:channelId', ({ params }) => ok(channelOf(state, params['channelId']).data));
  rest.on('GET', '/guilds/:guildId/channels', ({ params }) => {
    const guildId = params['guildId'];
    if (!state.guilds.some((guild) => guild.id === guildId)) throw new DiscordApiError(404, 10004, 'Unknown Guild');
    return ok([...state.channels.values()].filter((c) => c.guildId === guildId && !c.isThread).map((c) => c.data));
  });
  rest.on('GET', '/channels/:channelId/messages', ({ params, query }) => {
    const channel = channelOf(state, params['channelId']);
    const limit = Math.min(Math.max(Number(query['limit'] ?? 50) || 50, 1), 100);
    const newestFirst = state.channelMessages(channel.id).reverse();
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
  rest.on('PATCH', '/channels/:channelId', ({ params, body }) => {
    const channel = channelOf(state, params['channelId']);
    const parsed = validate(channelPatchSchema, body ?? {});
    if (parsed.name !== undefined) channel.data['name'] = parsed.name;
    if (channel.isThread) {
      const metadata = channel.data['thread_metadata'] as JsonObject;
      if (parsed.archived !== undefined) {
        metadata['archived'] = parsed.archived;
        metadata['archive_timestamp'] = new Date().toISOString();
      }
      if (parsed.locked !== undefined) metadata['locked'] = parsed.locked;
      if (parsed.auto_archive_duration !== undefined) metadata['auto_archive_duration'] = parsed.auto_archive_duration;
      state.broadcast('THREAD_UPDATE', channel.data, intentGuilds);
    } else if (parsed.archived !== undefined || parsed.locked !== undefined) {
      throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
    } else {
      if (parsed.topic !== undefined) channel.data['topic'] = parsed.topic;
      state.broadcast('CHANNEL_UPDATE', channel.data, intentGuilds);
    }
    return ok(channel.data);
  });
  rest.on('DELETE', '/channels/:channelId', ({ params }) => {
    const channel = channelOf(state, params['channelId']);
    if (!channel.isThread) throw new DiscordApiError(403, 50013, 'Missing Permissions');
    deleteThread(state, channel);
    return ok(channel.data);
  });
  rest.on('GET', '/channels/:channelId/messages/:messageId', ({ params }) => {
    return ok(channelMessageOf(state, params).data);
  });
  rest.on('POST', '/channels/:channelId/messages', ({ params, body, fileCount }) => {
    const channel = channelOf(state, params['channelId']);
    const parsed = messageBodyOf(body, fileCount, true);
    unarchiveForMessage(state, channel);
    const message = createMessage(state, channel, parsed, { via: 'bot', type: 0 });
    return ok(message.data);
  });
  rest.on('PATCH', '/channels/:channelId/messages/:messageId', ({ params, body, fileCount }) => {
    const message = channelMessageOf(state, params);
    const author = message.data['author'] as JsonObject | undefined;
    if (author?.['id'] !== state.applicationId) {
      throw new DiscordApiError(403, 50005, 'Cannot edit a message authored by another user');
    }
    editMessage(state, message, messageBodyOf(body, fileCount, false), 'bot');
    return ok(message.data);
  });
  rest.on('DELETE', '/channels/:channelId/messages/:messageId', ({ params }) => {
    deleteMessage(channelMessageOf(state, params));
    return { status: 204 };
  });
  rest.on('POST', '/channels/:channelId/messages/:messageId/threads', ({ params, body }) => {
    const channel = channelOf(state, params['channelId']);
    const message = channelMessageOf(state, params);
    if (message.data['thread'])
      throw new DiscordApiError(400, 160004, 'A thread has already been created for this message');
    const thread = createThread(state, channel, validate(threadBodySchema, body), message.id, 11);
    message.data['thread'] = thread.data;
    message.data['flags'] = Number(message.data['flags'] ?? 0) | flagHasThread;
    return ok(thread.data, 201);
  });
  rest.on('POST', '/channels/:channelId/threads', ({ params, body }) => {
    const channel = channelOf(state, params['channelId']);
    const parsed = validate(threadBodySchema, body);
    return ok(createThread(state, channel, parsed, nextSnowflake(), parsed.type ?? 12).data, 201);
  });
  rest.on('PUT', '/channels/:channelId/thread-members/@me', ({ params }) => {
    const channel = channelOf(state, params['channelId']);
    if (!channel.isThread) throw new DiscordApiError(400, 50024, 'Cannot execute action on this channel type');
    return { status: 204 };
  });
}

function checkApplication(state: SimState, applicationId: string | undefined): void {
  if (applicationId !== state.applicationId) throw new DiscordApiError(403, 50001, 'Missing Access');
}

function commandObject(state: SimState, id: string, command: JsonObject, guildId: string | undefined): JsonObject {
  return {
    id,
    application_id: state.applicationId,
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
