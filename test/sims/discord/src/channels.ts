import { DiscordApiError, validate } from './api-error.js';
import { threadObject } from './payloads.js';
import { nextSnowflake } from './snowflake.js';
import {
  flagEphemeral,
  flagLoading,
  intentDirectMessages,
  intentGuildMessages,
  intentGuilds,
  type SimState,
} from './state.js';
import type { InteractionRecord, JsonObject, SimChannel, SimMessage } from './types.js';
import { isEmptyMessage, type MessageBody, messageBodySchema } from './validation.js';

// Channels, messages and threads as Discord keeps them: shared by the REST routes and the interaction webhooks.

export function channelOf(state: SimState, channelId: string | undefined): SimChannel {
  const channel = channelId === undefined ? undefined : state.channels.get(channelId);
  if (!channel) throw new DiscordApiError(404, 10003, 'Unknown Channel');
  return channel;
}

export function channelMessageOf(state: SimState, params: Record<string, string>): SimMessage {
  const channel = channelOf(state, params['channelId']);
  const message = state.messages.get(params['messageId'] ?? '');
  if (!message || message.channelId !== channel.id || message.ephemeral || message.deletedAt !== undefined) {
    throw new DiscordApiError(404, 10008, 'Unknown Message');
  }
  return message;
}

export function messageBodyOf(body: unknown, fileCount: number, creating: boolean): MessageBody {
  const parsed = validate(messageBodySchema, body ?? {});
  if (creating && isEmptyMessage(parsed, fileCount))
    throw new DiscordApiError(400, 50006, 'Cannot send an empty message');
  return parsed;
}

export function isArchived(thread: JsonObject): boolean {
  const metadata = thread['thread_metadata'] as JsonObject | undefined;
  return metadata?.['archived'] === true;
}

export function createMessage(
  state: SimState,
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
    author: state.botUser,
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
      webhook_id: state.applicationId,
      application_id: state.applicationId,
      interaction_metadata: {
        id: options.interaction.id,
        type: options.interaction.type,
        user: interactionUser,
        authorizing_integration_owners: options.interaction.payload['authorizing_integration_owners'],
      },
    });
  }
  if (options.reference) data['message_reference'] = { type: 0, message_id: options.reference, channel_id: channel.id };
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
  state.messages.set(id, message);
  if (!message.ephemeral) {
    channel.data['last_message_id'] = id;
    const intent = channel.guildId === undefined ? intentDirectMessages : intentGuildMessages;
    const guildPart = channel.guildId === undefined ? {} : { guild_id: channel.guildId };
    state.broadcast('MESSAGE_CREATE', { ...data, ...guildPart }, intent);
  }
  return message;
}

export function editMessage(state: SimState, message: SimMessage, body: MessageBody, via: SimMessage['via']): void {
  if (message.deletedAt !== undefined) throw new DiscordApiError(404, 10008, 'Unknown Message');
  const channel = state.channels.get(message.channelId);
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
    const intent = channel?.guildId === undefined ? intentDirectMessages : intentGuildMessages;
    const guildPart = channel?.guildId === undefined ? {} : { guild_id: channel.guildId };
    state.broadcast('MESSAGE_UPDATE', { ...data, ...guildPart }, intent);
  }
}

/** Sending into an archived thread reopens it unless it is locked (then 50083), as on Discord. */
export function unarchiveForMessage(state: SimState, channel: SimChannel): void {
  if (!channel.isThread || !isArchived(channel.data)) return;
  const metadata = channel.data['thread_metadata'] as JsonObject;
  if (metadata['locked'] === true) throw new DiscordApiError(400, 50083, 'Thread is archived');
  metadata['archived'] = false;
  metadata['archive_timestamp'] = new Date().toISOString();
  state.broadcast('THREAD_UPDATE', channel.data, intentGuilds);
}

export function deleteMessage(message: SimMessage): void {
  if (message.deletedAt !== undefined) throw new DiscordApiError(404, 10008, 'Unknown Message');
  message.deletedAt = Date.now();
}

export function createThread(
  state: SimState,
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
    ownerId: state.applicationId,
    name: body.name,
    type: channel.data['type'] === 5 ? 10 : type,
    autoArchiveDuration: body.auto_archive_duration ?? 4320,
    rateLimitPerUser: body.rate_limit_per_user ?? 0,
    now: Date.now(),
  });
  const thread: SimChannel = { id, data, guildId: channel.guildId, parentId: channel.id, isThread: true };
  state.channels.set(id, thread);
  state.broadcast('THREAD_CREATE', { ...data, newly_created: true }, intentGuilds);
  return thread;
}

/** Deletes a thread with its messages (THREAD_DELETE): later calls on it answer 404 10003 Unknown Channel. */
export function deleteThread(state: SimState, thread: SimChannel): void {
  state.channels.delete(thread.id);
  for (const message of state.messages.values()) {
    if (message.channelId === thread.id && message.deletedAt === undefined) message.deletedAt = Date.now();
  }
  state.broadcast(
    'THREAD_DELETE',
    { id: thread.id, guild_id: thread.guildId, parent_id: thread.parentId, type: thread.data['type'] },
    intentGuilds,
  );
}
