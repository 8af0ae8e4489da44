export { type DiscordBot, startDiscordBot } from './discord-bot.js';
