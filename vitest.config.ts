import { defineConfig } from 'vitest/config';

// Workspace packages resolve to their TypeScript sources in tests (the "labbot-source" export
// condition), so a test never runs against a stale dist/.
const sourceConditions = ['labbot-source', 'import', 'module', 'node', 'default'];
const roots = ['packages/*/src', 'apps/*/src', 'test/**/src', 'bench'];

export default defineConfig({
  resolve: { conditions: sourceConditions },
  ssr: { resolve: { conditions: sourceConditions, externalConditions: ['labbot-source'] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: roots.map((root) => `${root}/**/*.test.ts`),
          exclude: ['**/*.int.test.ts', '**/node_modules/**', '**/dist/**'],
          testTimeout: 10_000,
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
