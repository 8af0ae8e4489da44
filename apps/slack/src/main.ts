import { loadConfigOrExit } from '@labbot/config';
import { closeOnSignals } from '@labbot/queue';
import { startSlackBot } from './slack-bot.js';

const bot = await startSlackBot(loadConfigOrExit({ require: ['slack'] }));
closeOnSignals([bot]);
