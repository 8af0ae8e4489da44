import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** True when `child` is `parent` or inside it (both absolute, already resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export type PathCheck = { ok: true; path: string } | { ok: false; message: string };

/**
 * Resolves `relativePath` against `base` and proves it stays inside `root` on disk: no absolute
 * path, no "..", no symlink that leads out. `kind` says what must be there.
 */
export async function resolveInside(
  root: string,
  base: string,
  relativePath: string,
  kind: 'file' | 'directory',
): Promise<PathCheck> {
  if (isAbsolute(relativePath) || relativePath.startsWith('\\')) {
    return { ok: false, message: 'must be a path relative to the lesson folder, not an absolute path' };
  }
  const lexical = resolve(base, relativePath);
  if (!isInside(root, lexical)) return { ok: false, message: 'leaves the lesson folder' };
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    return { ok: false, message: `names a ${kind} that does not exist` };
  }
  if (!isInside(root, real)) return { ok: false, message: 'is a symlink that leads out of the lesson folder' };
  const info = await stat(real);
  if (kind === 'file' && !info.isFile()) return { ok: false, message: 'must be a file' };
  if (kind === 'directory' && !info.isDirectory()) return { ok: false, message: 'must be a folder' };
  return { ok: true, path: real };
}

/** Bounds of the symlink scan, so a huge or looping folder cannot stall the loader. */
const MAX_ENTRIES = 5000;
const MAX_DEPTH = 16;

/**
 * Finds symlinks under `dir` that lead outside `root` (or nowhere). Returns paths relative to `root`.
 * Reports a problem too when the folder is larger than the scan bound.
 */
export async function findEscapingSymlinks(
  root: string,
  dir: string,
): Promise<{ escaping: string[]; tooLarge: boolean }> {
  const escaping: string[] = [];
  let seen = 0;
  const walk = async (current: string, depth: number): Promise<boolean> => {
    if (depth > MAX_DEPTH) return false;
    for (const entry of await readdir(current, { withFileTypes: true })) {
      if (++seen > MAX_ENTRIES) return false;
      const path = join(current, entry.name);
      if (entry.isSymbolicLink()) {
        let target: string | undefined;
        try {
          target = await realpath(path);
        } catch {
          target = undefined;
        }
        if (target === undefined || !isInside(root, target)) escaping.push(relative(root, path));
      } else if (entry.isDirectory()) {
        if (!(await walk(path, depth + 1))) return false;
      }
    }
    return true;
  };
  const complete = await walk(dir, 0);
  return { escaping, tooLarge: !complete };
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory() || (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
