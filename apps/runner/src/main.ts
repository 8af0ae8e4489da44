import { loadConfigOrExit } from '@labbot/config';
import { startRunner } from '@labbot/runner';

await startRunner(loadConfigOrExit(), { handleSignals: true });
