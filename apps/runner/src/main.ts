import { loadConfigOrExit } from '@labbot/config';
import { startRunner } from './runner.js';

await startRunner(loadConfigOrExit(), { handleSignals: true });
