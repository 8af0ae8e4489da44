import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import dockerignoreModule from '@balena/dockerignore';
import { LabbotError } from '@labbot/core';
import { type PackOptions, pack } from 'tar-fs';
import { BuilderErrorCode } from './errors.js';

// A CommonJS module whose types declare an ES default export: the factory sits on `.default` under NodeNext.
const dockerignore = dockerignoreModule.default;

/** What a build is made of: a folder, the Dockerfile inside it, and build args. */
export interface BuildContextOptions {
  /** The folder sent to the Docker daemon. */
  contextDir: string;
  /** Path of the Dockerfile, relative to contextDir (an absolute path inside contextDir is accepted). */
  dockerfile?: string;
  /** Build arguments (`--build-arg`); they change the image, so they change the hash. */
  buildArgs?: Record<string, string>;
}

/** One file, folder or symlink that is sent in the build context. */
export interface ContextEntry {
  /** Path relative to the context folder, with forward slashes. */
  relativePath: string;
  type: 'file' | 'directory' | 'symlink';
  /** Permission bits (mode & 0o7777). */
  mode: number;
  size: number;
  /** Target of a symlink. */
  linkTarget?: string;
}

/** Number of hex characters of the content hash used in image tags. */
export const HASH_LENGTH = 16;

const LESSON_ID_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** The Dockerfile path relative to the context, refusing paths that leave it. */
export function dockerfilePathIn(contextDir: string, dockerfile = 'Dockerfile'): string {
  const root = path.resolve(contextDir);
  const absolute = path.resolve(root, dockerfile);
  const relative = path.relative(root, absolute);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new LabbotError(
      BuilderErrorCode.buildContextInvalid,
      `Dockerfile ${dockerfile} is outside the build context ${root}`,
      {
        userMessage: 'The lesson Dockerfile must be inside the lesson folder.',
        context: { contextDir: root, dockerfile },
      },
    );
  }
  return relative.split(path.sep).join('/');
}

async function readDockerignore(root: string): Promise<string[]> {
  try {
    const text = await readFile(path.join(root, '.dockerignore'), 'utf8');
    return text
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

async function ensureDirectory(root: string): Promise<void> {
  try {
    const stat = await lstat(root);
    if (stat.isDirectory()) return;
  } catch (error) {
    throw new LabbotError(BuilderErrorCode.buildContextInvalid, `Build context ${root} cannot be read`, {
      cause: error,
      userMessage: 'The lesson build folder is missing.',
      context: { contextDir: root },
    });
  }
  throw new LabbotError(BuilderErrorCode.buildContextInvalid, `Build context ${root} is not a folder`, {
    userMessage: 'The lesson build folder is missing.',
    context: { contextDir: root },
  });
}

/**
 * The entries Docker would receive, sorted by path: .dockerignore applied the way the Docker CLI does
 * (the Dockerfile and .dockerignore are always sent; a folder is kept when something inside it is kept).
 */
export async function listContextEntries(options: BuildContextOptions): Promise<ContextEntry[]> {
  const root = path.resolve(options.contextDir);
  await ensureDirectory(root);
  const dockerfile = dockerfilePathIn(root, options.dockerfile);
  const rules = dockerignore().add(await readDockerignore(root));
  const alwaysSent = new Set([dockerfile, '.dockerignore']);
  const entries: ContextEntry[] = [];

  // Returns whether anything under `relativeDir` was kept, so ignored folders with kept children stay.
  async function walk(relativeDir: string): Promise<boolean> {
    const names = (await readdir(path.join(root, relativeDir))).sort();
    let keptAny = false;
    for (const name of names) {
      const relativePath = relativeDir === '' ? name : `${relativeDir}/${name}`;
      const stat = await lstat(path.join(root, relativePath));
      const ignored = !alwaysSent.has(relativePath) && rules.ignores(relativePath);
      if (stat.isDirectory()) {
        const index = entries.length;
        const childrenKept = await walk(relativePath);
        if (!ignored || childrenKept) {
          entries.splice(index, 0, { relativePath, type: 'directory', mode: stat.mode & 0o7777, size: 0 });
          keptAny = true;
        }
      } else if (!ignored && (stat.isFile() || stat.isSymbolicLink())) {
        const entry: ContextEntry = {
          relativePath,
          type: stat.isFile() ? 'file' : 'symlink',
          mode: stat.mode & 0o7777,
          size: stat.isFile() ? stat.size : 0,
        };
        if (stat.isSymbolicLink()) entry.linkTarget = await readlink(path.join(root, relativePath));
        entries.push(entry);
        keptAny = true;
      }
    }
    return keptAny;
  }

  await walk('');
  if (!entries.some((entry) => entry.relativePath === dockerfile && entry.type === 'file')) {
    throw new LabbotError(BuilderErrorCode.buildContextInvalid, `No Dockerfile at ${dockerfile} in ${root}`, {
      userMessage: 'The lesson has no Dockerfile.',
      context: { contextDir: root, dockerfile },
    });
  }
  return entries;
}

async function hashFile(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * A sha256 over what the daemon would receive: each kept path, its type, mode and content (or link
 * target), plus the Dockerfile path and the build args. Returns the first HASH_LENGTH hex characters.
 */
export async function hashBuildContext(options: BuildContextOptions): Promise<string> {
  const root = path.resolve(options.contextDir);
  const entries = await listContextEntries(options);
  const hash = createHash('sha256');
  hash.update('labbot-build-context-v1\0');
  hash.update(`dockerfile\0${dockerfilePathIn(root, options.dockerfile)}\0`);
  const args = Object.entries(options.buildArgs ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of args) hash.update(`arg\0${name}\0${value}\0`);
  for (const entry of entries) {
    hash.update(`${entry.type}\0${entry.relativePath}\0${entry.mode.toString(8)}\0`);
    if (entry.type === 'file') hash.update(`${await hashFile(path.join(root, entry.relativePath))}\0`);
    if (entry.type === 'symlink') hash.update(`${entry.linkTarget ?? ''}\0`);
  }
  return hash.digest('hex').slice(0, HASH_LENGTH);
}

/** A tar stream of exactly the entries of listContextEntries (owner root, modes kept as they are). */
export function packEntries(contextDir: string, entries: readonly ContextEntry[]): NodeJS.ReadableStream {
  const root = path.resolve(contextDir);
  const kept = new Set(entries.map((entry) => entry.relativePath));
  // umask 0: send modes as they are on disk (tar-fs masks with the process umask otherwise; @types lacks it).
  const options: PackOptions & { umask: number } = {
    umask: 0,
    ignore: (name: string) => {
      const relative = path.relative(root, name).split(path.sep).join('/');
      return relative !== '' && !kept.has(relative);
    },
    map: (header) => ({ ...header, uid: 0, gid: 0, uname: 'root', gname: 'root' }),
  };
  return pack(root, options) as unknown as NodeJS.ReadableStream;
}

/** Options of imageTagFor. */
export interface ImageTagOptions {
  lessonId: string;
  hash: string;
  /** Registry host[:port]; when set the tag is `<registry>/labbot/<lesson>:<hash>`. */
  registry?: string | undefined;
}

/** The repository part of a lesson image: `labbot/<lesson>` or `<registry>/labbot/<lesson>`. */
export function imageRepositoryFor(lessonId: string, registry?: string): string {
  if (!LESSON_ID_PATTERN.test(lessonId) || lessonId.length > 100) {
    throw new LabbotError(
      BuilderErrorCode.invalidLessonId,
      `Lesson id ${JSON.stringify(lessonId)} cannot name an image`,
      {
        userMessage: 'That lesson id is not valid: use lowercase letters, digits and dashes.',
        context: { lessonId },
      },
    );
  }
  const repository = `labbot/${lessonId}`;
  return registry ? `${registry.replace(/\/+$/, '')}/${repository}` : repository;
}

/** The image tag of a lesson build: `labbot/<lesson>:<hash>`, prefixed with the registry when configured. */
export function imageTagFor(options: ImageTagOptions): string {
  if (!/^[a-f0-9]{12,64}$/.test(options.hash)) {
    throw new LabbotError(
      BuilderErrorCode.invalidImageHash,
      `Image hash ${JSON.stringify(options.hash)} is not 12-64 hex chars`,
    );
  }
  return `${imageRepositoryFor(options.lessonId, options.registry)}:${options.hash}`;
}

/**
 * The external images named by FROM lines, skipping `scratch` and earlier stage names. `$NAME` and
 * `${NAME}` are replaced by global ARG defaults (before the first FROM) or build args; names that stay
 * unresolved are left to the daemon.
 */
export function baseImagesOf(dockerfileText: string, buildArgs: Record<string, string> = {}): string[] {
  const joined = dockerfileText.replace(/\\\r?\n/g, ' ');
  const globalArgs = new Map<string, string>();
  const stages = new Set<string>();
  const images: string[] = [];
  let seenFrom = false;
  for (const rawLine of joined.split(/\r?\n/)) {
    const line = rawLine.trim();
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(line);
    if (arg?.[1] && !seenFrom) {
      const value = buildArgs[arg[1]] ?? arg[2]?.replace(/^["']|["']$/g, '');
      if (value !== undefined) globalArgs.set(arg[1], value);
      continue;
    }
    const match = /^FROM\s+(.*)$/i.exec(line);
    if (!match?.[1]) continue;
    seenFrom = true;
    const words = match[1].split(/\s+/).filter((word) => !word.startsWith('--'));
    if (words.length >= 3 && words[1]?.toLowerCase() === 'as' && words[2]) stages.add(words[2].toLowerCase());
    const image = words[0]?.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
      (whole, braced, bare) => {
        return globalArgs.get(String(braced ?? bare)) ?? whole;
      },
    );
    if (!image || image.includes('$') || image.toLowerCase() === 'scratch' || stages.has(image.toLowerCase())) {
      continue;
    }
    if (!images.includes(image)) images.push(image);
  }
  return images;
}
