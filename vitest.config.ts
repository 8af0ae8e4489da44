import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './scripts/test-sequencer.mjs';

// Workspace packages resolve to their TypeScript sources in tests (the "labbot-source" export
// condition), so a test never runs against a stale dist/.
const sourceConditions = ['labbot-source', 'import', 'module', 'node', 'default'];
const roots = ['packages/*/src', 'apps/*/src', 'test/**/src', 'bench'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ['labbot-source'] } },
  test: {
    // Each project's files longest first, by the times of earlier runs (hooks and imports included).
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: roots.map((root) => `${root}/**/*.test.ts`),
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 10_000,
          // Unit tests use in-memory fakes and leave no state behind (fake timers and process.env are restored
          // after each test), so one worker runs file after file without a fresh process and module graph
          // each: a fresh one cost about a second per file (63 s of imports for 78 files, against 55 s of tests).
          isolate: false,
          // vitest's default is one worker less than the cores: a single worker on a 2-core machine, idle while it
          // waits on its own child processes and servers (the sims' tests).
          maxWorkers: Math.max(2, availableParallelism() - 1),
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          // Needs the services of scripts/services.sh (Redis, Docker, registry) on loopback.
          include: roots.map((root) => `${root}/**/*.int.test.ts`),
          exclude: ['**/node_modules/**', '**/dist/**'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Two cores: integration files share one Docker engine and one Redis.
          maxWorkers: 2,
        },
      },
    ],
  },
});
