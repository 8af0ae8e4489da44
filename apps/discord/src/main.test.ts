import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');

describe('the Discord bot process', () => {
  // Starting a TypeScript process (tsx) takes over 10 s on a loaded 2-core machine: not what this test measures.
  it('refuses to start without its Discord settings, naming each one, exit code 78', () => {
    const result = spawnSync(process.execPath, ['--conditions=labbot-source', '--import', 'tsx', main], {
      env: { PATH: process.env.PATH ?? '', REDIS_URL: 'redis://127.0.0.1:6390/6' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('LABBOT_DISCORD_TOKEN: missing');
    expect(result.stderr).toContain('LABBOT_DISCORD_APPLICATION_ID: missing');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 70_000);
});
