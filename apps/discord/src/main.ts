import { loadConfigOrExit } from '@labbot/config';
import { closeOnSignals } from '@labbot/queue';
import { startDiscordBot } from './discord-bot.js';

const bot = await startDiscordBot(loadConfigOrExit({ require: ['discord'] }));
closeOnSignals([bot]);
