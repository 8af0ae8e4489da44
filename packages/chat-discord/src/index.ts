export { discordMessageText } from './cards.js';
export { createDiscordAdapter, discordClientOptions } from './discord-adapter.js';
