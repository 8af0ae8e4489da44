export { type SlackBot, startSlackBot } from './slack-bot.js';
