import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@labbot/test-support';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';

export function uniquePrefix(name: string): string {
  return `labbot-test-${name}-${randomBytes(4).toString('hex')}`;
}

export function randomLabId(): string {
  return randomBytes(6).toString('hex');
}

/** Waits until the queue has nothing waiting, delayed or running, twice in a row 100 ms apart. */
export async function waitForIdle(queue: Queue, timeoutMs = 15_000): Promise<void> {
  let quietRounds = 0;
  await waitFor(
    `queue ${queue.name} to be idle`,
    async () => {
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      quietRounds = Object.values(counts).every((count) => count === 0) ? quietRounds + 1 : 0;
      if (quietRounds < 2) await sleep(75);
      return quietRounds >= 2;
    },
    timeoutMs,
  );
}

/** Deletes every key under a test prefix (SCAN, bounded). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 10_000; round++) {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}
