export { discordMessageText } from './cards.js';
export { createDiscordAdapter } from './discord-adapter.js';
