import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

// Import boundaries of ../shared/design.md: apps → adapters/drivers → commands → chat/queue/store → core.
const repo = join(import.meta.dirname, '..', '..', '..');
const chatLibraries = ['discord.js', '@discordjs/', 'discord-api-types', '@slack/'];
const clusterLibraries = ['@kubernetes/client-node', '@labbot/cluster', '@labbot/kube-sim'];
const buildLibraries = ['dockerode', '@labbot/builder'];
const chatAdapters = ['@labbot/chat-discord', '@labbot/chat-slack', '@labbot/chat-terminal'];

const forbidden: Record<string, string[]> = {
  'packages/core': [
    '@labbot/',
    'ioredis',
    'bullmq',
    'node:fs',
    'node:net',
    'node:http',
    ...chatLibraries,
    ...clusterLibraries,
    ...buildLibraries,
  ],
  'packages/config': [
    '@labbot/commands',
    '@labbot/store',
    '@labbot/queue',
    ...chatLibraries,
    ...clusterLibraries,
    ...buildLibraries,
  ],
  'packages/lessons': [...chatLibraries, ...clusterLibraries, ...buildLibraries, '@labbot/store', '@labbot/queue'],
  'packages/store': [...chatLibraries, ...clusterLibraries, ...buildLibraries],
  'packages/queue': [...chatLibraries, ...clusterLibraries, ...buildLibraries],
  'packages/chat': [...chatLibraries, ...clusterLibraries, ...buildLibraries, ...chatAdapters],
  'packages/commands': [...chatLibraries, ...clusterLibraries, ...buildLibraries, ...chatAdapters],
  'packages/builder': [...chatLibraries, ...clusterLibraries, ...chatAdapters],
  'packages/cluster': [...chatLibraries, ...buildLibraries, ...chatAdapters, '@labbot/kube-sim'],
  'packages/chat-discord': ['@slack/', ...clusterLibraries, ...buildLibraries],
  'packages/chat-slack': ['discord.js', '@discordjs/', ...clusterLibraries, ...buildLibraries],
  'packages/chat-terminal': [...chatLibraries, ...clusterLibraries, ...buildLibraries],
  'packages/runner': [...chatLibraries, ...chatAdapters, '@labbot/commands'],
  'apps/runner': [...chatLibraries, ...chatAdapters, '@labbot/commands'],
  'apps/discord': ['@slack/', ...clusterLibraries, ...buildLibraries],
  'apps/slack': ['discord.js', '@discordjs/', ...clusterLibraries, ...buildLibraries],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.tsx?$/.test(name) && !/\.(int\.)?test\.ts$/.test(name)) out.push(path);
  }
  return out;
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/g)].map(
    (m) => m[1] ?? '',
  );
  specifiers.push(...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? ''));
  specifiers.push(...[...text.matchAll(/(?:^|\s)import\s+['"]([^'"]+)['"]/g)].map((m) => m[1] ?? ''));
  return specifiers;
}

/** Whether the banned name covers the specifier: itself, a subpath, and `fs` as well as `node:fs` for built-ins. */
function bans(banned: string, specifier: string): boolean {
  const builtIn = (name: string) => name.replace(/^node:/, '');
  const [b, spec] = banned.startsWith('node:') ? [builtIn(banned), builtIn(specifier)] : [banned, specifier];
  return spec === b || spec.startsWith(b.endsWith('/') ? b : `${b}/`);
}

describe('import boundaries', () => {
  it('a ban on a Node built-in covers both spellings and subpaths, and nothing else', () => {
    expect(['node:fs', 'fs', 'fs/promises', 'node:fs/promises'].map((s) => bans('node:fs', s))).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['fs-extra', 'node:fsx', '@labbot/fs'].some((s) => bans('node:fs', s))).toBe(false);
    expect(bans('@discordjs/', '@discordjs/rest')).toBe(true);
    expect(bans('discord.js', 'discord.js-extra')).toBe(false);
  });

  for (const [pkg, banned] of Object.entries(forbidden)) {
    it(`${pkg} imports nothing it must not`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(join(repo, pkg, 'src'))) {
        for (const specifier of importsOf(file)) {
          const own = `@labbot/${pkg.split('/')[1]}`;
          if (specifier === own) continue;
          const hit = banned.find((b) => bans(b, specifier));
          const coreOk = pkg === 'packages/core' && specifier === 'zod';
          if (hit && !coreOk) violations.push(`${relative(repo, file)} imports ${specifier}`);
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it('no package imports an app', () => {
    const violations: string[] = [];
    for (const pkg of readdirSync(join(repo, 'packages'))) {
      for (const file of sourceFiles(join(repo, 'packages', pkg, 'src'))) {
        for (const specifier of importsOf(file)) {
          if (/^@labbot\/(runner|discord|slack|cli)$/.test(specifier) || specifier.includes('/apps/')) {
            violations.push(`${relative(repo, file)} imports ${specifier}`);
          }
        }
      }
    }
    expect(violations).toEqual([]);
  });
});
