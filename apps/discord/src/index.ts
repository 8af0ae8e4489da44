export { type DiscordBot, type DiscordBotOptions, startDiscordBot } from './discord-bot.js';
