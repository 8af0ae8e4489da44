export {
  DISCORD_LIMITS,
  type DiscordMessageBody,
  discordMessageText,
  EPHEMERAL_FLAG,
  type RenderOptions,
  renderButtons,
  renderDiscordError,
  renderDiscordMessage,
  TONE_COLOURS,
} from './cards.js';
export {
  createDiscordAdapter,
  DIRECT_MESSAGE_NOTICE,
  type DiscordAdapterOptions,
  DiscordChatAdapter,
  memberRoles,
  THREAD_FALLBACK_NOTICE,
} from './discord-adapter.js';
export { commandText, focusedValue, type InteractionOptionLike, LAB_COMMAND } from './lab-command.js';
