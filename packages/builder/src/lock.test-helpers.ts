import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { BuildLock } from './lock.js';

/** The contract every BuildLock keeps: one holder at a time, waiters woken by a release. */
export async function expectExclusiveWithWakeUp(lock: BuildLock): Promise<void> {
  const key = `k-${randomBytes(4).toString('hex')}`;
  const release = await lock.acquire(key, 5_000);
  expect(release).not.toBeNull();
  expect(await lock.acquire(key, 5_000)).toBeNull();
  expect(await lock.waitForRelease(key, 100)).toBe(false);
  const waiting = lock.waitForRelease(key, 5_000);
  await release?.();
  expect(await waiting).toBe(true);
  const again = await lock.acquire(key, 5_000);
  expect(again).not.toBeNull();
  await again?.();
  // A second release of an old holder changes nothing.
  const third = await lock.acquire(key, 5_000);
  await release?.();
  expect(await lock.acquire(key, 5_000)).toBeNull();
  await third?.();
}
