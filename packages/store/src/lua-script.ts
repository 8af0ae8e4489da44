import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const shaOf = new Map<string, string>();

/**
 * Runs a Lua script by its SHA1 (EVALSHA), sending its text (EVAL) only when Redis does not know it yet (after a
 * start or SCRIPT FLUSH): the class burst's hot scripts no longer send their whole text with every call.
 */
export async function runScript(
  redis: Redis,
  script: string,
  numberOfKeys: number,
  ...args: (string | number)[]
): Promise<unknown> {
  let sha = shaOf.get(script);
  if (!sha) {
    sha = createHash('sha1').update(script).digest('hex');
    shaOf.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, numberOfKeys, ...args);
  } catch (error) {
    // NOSCRIPT: the script did not run, so sending its text now runs it exactly once.
    if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
    return redis.eval(script, numberOfKeys, ...args);
  }
}
