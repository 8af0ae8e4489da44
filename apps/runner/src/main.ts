import { loadConfigOrExit } from '@labbot/config';
import { startRunnerApp } from './runner-app.js';

await startRunnerApp(loadConfigOrExit(), { handleSignals: true });
