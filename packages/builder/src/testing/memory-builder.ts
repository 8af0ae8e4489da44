import { createHash } from 'node:crypto';
import { LabbotError } from '@labbot/core';
import type { BuilderStats, EnsureImageOptions, EnsureImageResult, ImageBuilder } from '../builder.js';
import { BuilderErrorCode } from '../errors.js';
import type { RunOnceOptions, RunOnceResult } from '../run-once.js';

/** A working image builder in memory: content-addressed tags, one build per content, scripted output. */
export interface MemoryBuilder extends ImageBuilder {
  /** Makes the next call of `method` throw `error` (once). */
  failNext(method: 'ensureImage' | 'runOnce', error: Error): void;
  /** What a container prints when its command is not `echo ...` (default "Hello from the container!\n"). */
  setOutput(output: string, exitCode?: number): void;
  /** Every runOnce call, in order. */
  readonly runs: RunOnceOptions[];
}

/**
 * The in-memory builder for unit tests of the runner. It passes the same contract suite
 * (`describeBuilderContract`) as the Docker builder.
 */
export function createMemoryBuilder(): MemoryBuilder {
  const images = new Set<string>();
  const stats: BuilderStats = { builds: 0, cacheHits: 0, waits: 0, pushes: 0, failures: 0 };
  const failures = new Map<'ensureImage' | 'runOnce', Error>();
  const runs: RunOnceOptions[] = [];
  let output = 'Hello from the container!\n';
  let exitCode = 0;
  const failing = (method: 'ensureImage' | 'runOnce') => {
    const error = failures.get(method);
    if (error) {
      failures.delete(method);
      stats.failures++;
      throw error;
    }
  };

  return {
    runs,
    failNext: (method, error) => {
      failures.set(method, error);
    },
    setOutput: (text, code = 0) => {
      output = text;
      exitCode = code;
    },
    stats: () => ({ ...stats }),
    ensureImage: async (options: EnsureImageOptions): Promise<EnsureImageResult> => {
      failing('ensureImage');
      const hash = createHash('sha256')
        .update(JSON.stringify([options.contextDir, options.dockerfile ?? 'Dockerfile', options.buildArgs ?? {}]))
        .digest('hex')
        .slice(0, 12);
      const tag = `labbot/${options.lessonId}:${hash}`;
      if (images.has(tag)) {
        stats.cacheHits++;
        return { tag, hash, cached: true, logTail: [] };
      }
      stats.builds++;
      const logTail = [`Step 1/2 : FROM ${options.buildArgs?.['BASE_IMAGE'] ?? 'base'}`, `Successfully tagged ${tag}`];
      for (const line of logTail) options.onLog?.(line);
      images.add(tag);
      return { tag, hash, cached: false, logTail };
    },
    runOnce: async (options: RunOnceOptions): Promise<RunOnceResult> => {
      failing('runOnce');
      runs.push(options);
      if (!images.has(options.image)) {
        throw new LabbotError(BuilderErrorCode.imageMissing, `No such image: ${options.image}`, {
          context: { image: options.image },
        });
      }
      const [program, ...args] = options.command ?? [];
      const printed = program === 'echo' ? `${args.join(' ')}\n` : output;
      return {
        output: printed,
        exitCode: program === 'echo' ? 0 : exitCode,
        truncated: false,
        timedOut: false,
        oomKilled: false,
      };
    },
  };
}
