import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LabbotError } from '@labbot/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { baseImagesOf, hashBuildContext, imageTagFor, listContextEntries } from './context.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'labbot-builder-ctx-'));
  await writeFile(path.join(dir, 'Dockerfile'), 'FROM labbot/busybox:1\nCOPY app.sh /app.sh\n');
  await writeFile(path.join(dir, 'app.sh'), 'echo hi\n');
  await writeFile(path.join(dir, '.dockerignore'), 'notes/\n*.log\n!keep.log\n');
  await mkdir(path.join(dir, 'notes'));
  await writeFile(path.join(dir, 'notes', 'todo.txt'), 'secret plans\n');
  await writeFile(path.join(dir, 'debug.log'), 'noise\n');
  await writeFile(path.join(dir, 'keep.log'), 'kept\n');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hashOf = (extra: { buildArgs?: Record<string, string>; dockerfile?: string } = {}) =>
  hashBuildContext({ contextDir: dir, dockerfile: 'Dockerfile', ...extra });

describe('listContextEntries', () => {
  it('sends what .dockerignore keeps, sorted, with the Dockerfile and .dockerignore always included', async () => {
    await writeFile(path.join(dir, '.dockerignore'), 'notes/\n*.log\n!keep.log\nDockerfile\n.dockerignore\n');
    const entries = await listContextEntries({ contextDir: dir, dockerfile: 'Dockerfile' });
    expect(entries.map((entry) => entry.relativePath)).toEqual(['.dockerignore', 'Dockerfile', 'app.sh', 'keep.log']);
  });

  it('keeps an ignored folder when an exception re-includes a file inside it', async () => {
    await writeFile(path.join(dir, '.dockerignore'), 'notes\n!notes/todo.txt\n');
    const entries = await listContextEntries({ contextDir: dir, dockerfile: 'Dockerfile' });
    expect(entries.map((entry) => entry.relativePath)).toContain('notes/todo.txt');
    expect(entries.find((entry) => entry.relativePath === 'notes')?.type).toBe('directory');
  });

  it('refuses a Dockerfile outside the context and a missing Dockerfile', async () => {
    await expect(listContextEntries({ contextDir: dir, dockerfile: '../Dockerfile' })).rejects.toMatchObject({
      code: 'BUILD_CONTEXT_INVALID',
    });
    await expect(listContextEntries({ contextDir: dir, dockerfile: 'Nope.dockerfile' })).rejects.toBeInstanceOf(
      LabbotError,
    );
  });
});

describe('hashBuildContext', () => {
  it('is stable and at least 12 hex characters', async () => {
    const first = await hashOf();
    expect(first).toMatch(/^[a-f0-9]{12,}$/);
    expect(await hashOf()).toBe(first);
  });

  it('ignores changes to ignored files and sees changes to sent files', async () => {
    const before = await hashOf();
    await writeFile(path.join(dir, 'notes', 'todo.txt'), 'other plans\n');
    await writeFile(path.join(dir, 'debug.log'), 'more noise\n');
    await writeFile(path.join(dir, 'notes', 'new.txt'), 'new\n');
    expect(await hashOf()).toBe(before);
    await writeFile(path.join(dir, 'keep.log'), 'changed\n');
    expect(await hashOf()).not.toBe(before);
  });

  it('changes with the Dockerfile, a file mode, a new file and the build args', async () => {
    const base = await hashOf();
    const seen = new Set([base]);
    await chmod(path.join(dir, 'app.sh'), 0o755);
    const afterMode = await hashOf();
    seen.add(afterMode);
    await writeFile(path.join(dir, 'extra.txt'), 'x');
    const afterFile = await hashOf();
    seen.add(afterFile);
    seen.add(await hashOf({ buildArgs: { GREETING: 'hello' } }));
    seen.add(await hashOf({ buildArgs: { GREETING: 'bye' } }));
    await writeFile(path.join(dir, 'Dockerfile'), 'FROM labbot/busybox:1\nCMD ["echo", "changed"]\n');
    seen.add(await hashOf());
    expect(seen.size).toBe(6);
  });

  it('does not depend on the order build args are given in', async () => {
    expect(await hashOf({ buildArgs: { A: '1', B: '2' } })).toBe(await hashOf({ buildArgs: { B: '2', A: '1' } }));
  });
});

describe('imageTagFor', () => {
  it('names lesson images with and without a registry', () => {
    expect(imageTagFor({ lessonId: 'docker-vs-kubernetes', hash: 'abcdef012345' })).toBe(
      'labbot/docker-vs-kubernetes:abcdef012345',
    );
    expect(imageTagFor({ lessonId: 'intro', hash: 'abcdef0123456789', registry: '127.0.0.1:5050' })).toBe(
      '127.0.0.1:5050/labbot/intro:abcdef0123456789',
    );
  });

  it('refuses lesson ids that cannot name an image', () => {
    for (const lessonId of ['Upper', '../etc', 'a b', '', '-x']) {
      expect(() => imageTagFor({ lessonId, hash: 'abcdef012345' })).toThrow(LabbotError);
    }
  });
});

describe('baseImagesOf', () => {
  it('lists external FROM images with global ARGs resolved, not stages, scratch or unresolved names', () => {
    const dockerfile = [
      'ARG BASE=labbot/busybox:1',
      'FROM --platform=linux/amd64 golang:1.22 AS build',
      'FROM $BASE',
      'FROM $UNSET:1',
      'FROM build AS again',
      'FROM scratch',
      'from labbot/busybox:1',
    ].join('\n');
    expect(baseImagesOf(dockerfile)).toEqual(['golang:1.22', 'labbot/busybox:1']);
    expect(baseImagesOf(dockerfile, { BASE: 'labbot/other:2' })).toEqual([
      'golang:1.22',
      'labbot/other:2',
      'labbot/busybox:1',
    ]);
  });
});
