import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LabbotError } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageBuilder } from '../builder.js';
import { BuilderErrorCode } from '../errors.js';

export interface BuilderContractHarness {
  create(): ImageBuilder | Promise<ImageBuilder>;
  /** The base image a lesson Dockerfile may start FROM. */
  baseImage: string;
  /** Removes the images the contract built (given their tags). */
  cleanup?(tags: string[]): Promise<void>;
}

/**
 * What every image builder must do for the runner, run against the Docker builder
 * (`builder-contract.int.test.ts`) and the in-memory one (`memory-builder.test.ts`).
 */
export function describeBuilderContract(name: string, harness: BuilderContractHarness): void {
  describe(`Builder contract: ${name}`, () => {
    let builder: ImageBuilder;
    let contextDir = '';
    const tags: string[] = [];
    const lessonId = `contract-${randomBytes(3).toString('hex')}`;

    beforeAll(async () => {
      builder = await harness.create();
      contextDir = await mkdtemp(path.join(tmpdir(), 'labbot-builder-contract-'));
      // A nonce in the Dockerfile: this run's image is new, whatever earlier runs left behind.
      await writeFile(
        path.join(contextDir, 'Dockerfile'),
        `FROM ${harness.baseImage}\nLABEL labbot.contract="${randomBytes(6).toString('hex')}"\n`,
      );
    });

    afterAll(async () => {
      await harness.cleanup?.(tags);
      if (contextDir) await rm(contextDir, { recursive: true, force: true });
    });

    it('builds an image once per content and answers the same tag from the cache after', async () => {
      const before = builder.stats();
      const lines: string[] = [];
      const first = await builder.ensureImage({ lessonId, contextDir, onLog: (line) => lines.push(line) });
      tags.push(first.tag);
      const second = await builder.ensureImage({ lessonId, contextDir });
      expect(first.cached).toBe(false);
      expect(lines.length).toBeGreaterThan(0);
      expect(second).toMatchObject({ tag: first.tag, hash: first.hash, cached: true });
      const after = builder.stats();
      expect(after.builds - before.builds).toBe(1);
      expect(after.cacheHits - before.cacheHits).toBe(1);
    });

    it('runs a container of the image once and returns what it printed', async () => {
      const image = await builder.ensureImage({ lessonId, contextDir });
      const result = await builder.runOnce({
        image: image.tag,
        command: ['echo', 'hello from the contract'],
        timeoutMs: 30_000,
        maxOutputBytes: 4096,
      });
      expect(result).toMatchObject({ output: 'hello from the contract\n', exitCode: 0, timedOut: false });
    });

    it('refuses to run an image that does not exist with IMAGE_MISSING', async () => {
      await expect(
        builder.runOnce({ image: `labbot/${lessonId}:000000000000`, timeoutMs: 10_000, maxOutputBytes: 1024 }),
      ).rejects.toSatisfy(
        (error: unknown) => error instanceof LabbotError && error.code === BuilderErrorCode.imageMissing,
      );
    });
  });
}
