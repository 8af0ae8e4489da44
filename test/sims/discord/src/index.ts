/** The simulator class (REST + gateway state, drivers, fault injection); create one with startDiscordSim. */
/** What a user reads in a stored message (content and embed texts), for "what does the learner see" assertions. */
export { DiscordSim, discordMessageText, startDiscordSim } from './discord-sim.js';
/** Permissions the sim grants the bot and puts in interaction payloads (app_permissions). */
export { defaultBotPermissions } from './payloads.js';
/** Fresh snowflake ids and interaction-style tokens. */
export { nextSnowflake, randomToken } from './snowflake.js';
export type {
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
  SimChannelOptions,
  SimGuildOptions,
  SimMessage,
  SlashCommandInput,
  Violation,
} from './types.js';
/** zod schemas of the request bodies the sim checks (message, thread, interaction callback, commands). */
export {
  applicationCommandSchema,
  bulkCommandsSchema,
  channelPatchSchema,
  interactionCallbackSchema,
  messageBodySchema,
  threadBodySchema,
} from './validation.js';
