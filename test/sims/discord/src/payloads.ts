import type { JsonObject } from './types.js';

// Builders of the API objects the sim sends, shaped like Discord's (API v10) so discord.js parses them.

/** Permissions a bot with a sensible role has: view, send, embed, attach, history, threads, app commands. */
export const defaultBotPermissions = (
  (1n << 6n) | // ADD_REACTIONS
  (1n << 10n) | // VIEW_CHANNEL
  (1n << 11n) | // SEND_MESSAGES
  (1n << 14n) | // EMBED_LINKS
  (1n << 15n) | // ATTACH_FILES
  (1n << 16n) | // READ_MESSAGE_HISTORY
  (1n << 31n) | // USE_APPLICATION_COMMANDS
  (1n << 34n) | // MANAGE_THREADS
  (1n << 35n) | // CREATE_PUBLIC_THREADS
  (1n << 38n)
) // SEND_MESSAGES_IN_THREADS
  .toString();

/** A user object. */
export function userObject(id: string, username: string, bot = false): JsonObject {
  return {
    id,
    username,
    discriminator: '0',
    global_name: bot ? null : username,
    avatar: null,
    bot,
    system: false,
    public_flags: 0,
    flags: 0,
  };
}

/** A guild text channel object. */
export function guildChannelObject(input: {
  id: string;
  guildId: string;
  name: string;
  type: number;
  position: number;
}): JsonObject {
  return {
    id: input.id,
    type: input.type,
    guild_id: input.guildId,
    name: input.name,
    position: input.position,
    permission_overwrites: [],
    parent_id: null,
    nsfw: false,
    topic: null,
    rate_limit_per_user: 0,
    last_message_id: null,
    flags: 0,
  };
}

/** A DM channel object. */
export function dmChannelObject(id: string, recipient: JsonObject): JsonObject {
  return { id, type: 1, last_message_id: null, flags: 0, recipients: [recipient] };
}

/** A thread channel object (type 11 public, 12 private, 10 announcement thread). */
export function threadObject(input: {
  id: string;
  guildId: string;
  parentId: string;
  ownerId: string;
  name: string;
  type: number;
  autoArchiveDuration: number;
  rateLimitPerUser: number;
  now: number;
}): JsonObject {
  const iso = new Date(input.now).toISOString();
  return {
    id: input.id,
    type: input.type,
    guild_id: input.guildId,
    parent_id: input.parentId,
    owner_id: input.ownerId,
    name: input.name,
    last_message_id: null,
    rate_limit_per_user: input.rateLimitPerUser,
    message_count: 0,
    member_count: 1,
    total_message_sent: 0,
    flags: 0,
    thread_metadata: {
      archived: false,
      auto_archive_duration: input.autoArchiveDuration,
      archive_timestamp: iso,
      locked: false,
      create_timestamp: iso,
      ...(input.type === 12 ? { invitable: true } : {}),
    },
    member: { id: input.id, user_id: input.ownerId, join_timestamp: iso, flags: 0 },
  };
}

/** The @everyone role of a guild (its id is the guild id). */
export function everyoneRole(guildId: string, permissions: string): JsonObject {
  return {
    id: guildId,
    name: '@everyone',
    color: 0,
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: 0,
    permissions,
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

/** A guild member object. */
export function memberObject(
  user: JsonObject,
  joinedAt: string,
  permissions?: string,
  roles: string[] = [],
): JsonObject {
  return {
    user,
    nick: null,
    avatar: null,
    roles,
    joined_at: joinedAt,
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
    ...(permissions === undefined ? {} : { permissions }),
  };
}

/** A full GUILD_CREATE payload. */
export function guildCreateObject(input: {
  id: string;
  name: string;
  ownerId: string;
  channels: JsonObject[];
  threads: JsonObject[];
  botMember: JsonObject;
  permissions: string;
  joinedAt: string;
}): JsonObject {
  return {
    id: input.id,
    name: input.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: input.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [everyoneRole(input.id, input.permissions)],
    emojis: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    stickers: [],
    premium_progress_bar_enabled: false,
    joined_at: input.joinedAt,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [input.botMember],
    channels: input.channels,
    threads: input.threads,
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
    lazy: true,
  };
}
