import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

/** The Redis server of the integration tests (scripts/services.sh). */
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';

/**
 * A Redis client for this test file and a key prefix of its own (`labbot-test-<name>-<random>`): opened before the
 * file's tests, and after them every key under the prefix is deleted and the client closed.
 */
export function useRedisKeys(name: string): { readonly redis: Redis; readonly prefix: string } {
  const prefix = `labbot-test-${name}-${randomBytes(4).toString('hex')}`;
  let client: Redis | undefined;
  beforeAll(() => {
    client = new Redis(redisUrl);
  });
  afterAll(async () => {
    if (!client) return;
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });
  return {
    prefix,
    get redis() {
      if (!client) throw new Error('useRedisKeys: the client exists only while the tests run');
      return client;
    },
  };
}
