export { type SlackBot, type SlackBotOptions, startSlackBot } from './slack-bot.js';
