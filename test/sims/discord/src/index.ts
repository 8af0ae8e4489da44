/**
 * @labbot/discord-sim: a local Discord (REST v10 + gateway) for tests, spoken to by the real discord.js.
 *
 * - startDiscordSim(options): starts the sim on 127.0.0.1 and resolves with a DiscordSim.
 * - DiscordSim: state (calls, violations, messages, channels, interactions, commands(), threads(), channelMessages(),
 *   ephemeralsFor()), drivers (sendSlashCommand, sendAutocomplete, clickButton), fault injection (rateLimit,
 *   failRequests, expireInteractionTokens, archiveThread, disconnectGateway), waitFor and stop.
 * - discordMessageText(message): what a user reads in a message (content, then embed texts).
 * - defaultBotPermissions: the permission bits the sim grants the bot (app_permissions in interactions).
 * - nextSnowflake(), randomToken(): fresh ids and interaction-style tokens.
 * - *Schema: the zod schemas of the request bodies the sim checks (message, thread, channel patch, callback, commands).
 */
export { DiscordSim, discordMessageText, startDiscordSim } from './discord-sim.js';

export type {
  RecordedCall,
  SimMessage,
} from './types.js';
export {
  applicationCommandSchema,
  bulkCommandsSchema,
  interactionCallbackSchema,
  messageBodySchema,
} from './validation.js';
