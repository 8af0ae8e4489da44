import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** Gives a held lock back; safe to call more than once. */
export type ReleaseBuildLock = () => Promise<void>;

/** A lock shared by every builder that may build the same image (one build per hash across workers). */
export interface BuildLock {
  /** Takes the lock on `key` for ttlMs, renewed while held; null when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<ReleaseBuildLock | null>;
  /** Resolves true once nobody holds `key`, or false when timeoutMs passes first. */
  waitForRelease(key: string, timeoutMs: number): Promise<boolean>;
}

/** A lock within one process (the default when no shared lock is given). */
export function createMemoryBuildLock(): BuildLock {
  const held = new Map<string, { token: string; expiresAt: number; onRelease: Set<() => void> }>();

  function current(key: string) {
    const entry = held.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      held.delete(key);
      for (const notify of entry.onRelease) notify();
      return undefined;
    }
    return entry;
  }

  return {
    // ttl matters only across processes: in one process the holder always releases in a finally.
    async acquire(key, _ttlMs) {
      if (current(key)) return null;
      const token = randomUUID();
      const entry = { token, expiresAt: Number.POSITIVE_INFINITY, onRelease: new Set<() => void>() };
      held.set(key, entry);
      return async () => {
        if (held.get(key)?.token !== token) return;
        held.delete(key);
        for (const notify of entry.onRelease) notify();
      };
    },
    async waitForRelease(key, timeoutMs) {
      const entry = current(key);
      if (!entry) return true;
      return new Promise<boolean>((resolve) => {
        const done = (free: boolean) => {
          clearTimeout(timer);
          entry.onRelease.delete(onRelease);
          resolve(free);
        };
        const onRelease = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        entry.onRelease.add(onRelease);
      });
    },
  };
}

/** Options of createRedisBuildLock. */
export interface RedisBuildLockOptions {
  /** Prefix of the lock keys. */
  keyPrefix?: string;
  /** How often a waiter looks at the key again. */
  pollIntervalMs?: number;
}

const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * A lock across processes in Redis: SET NX PX with a random token, renewed every ttl/3 while held, released
 * only by its holder (compare-and-delete). A crashed holder's lock expires after ttlMs.
 */
export function createRedisBuildLock(redis: Redis, options: RedisBuildLockOptions = {}): BuildLock {
  const prefix = options.keyPrefix ?? 'labbot:build-lock:';
  const pollIntervalMs = options.pollIntervalMs ?? 200;

  return {
    async acquire(key, ttlMs) {
      const redisKey = prefix + key;
      const token = randomUUID();
      const ttl = Math.max(1000, Math.round(ttlMs));
      const taken = await redis.set(redisKey, token, 'PX', ttl, 'NX');
      if (taken !== 'OK') return null;
      let released = false;
      const renewal = setInterval(
        () => {
          redis.eval(RENEW_SCRIPT, 1, redisKey, token, String(ttl)).catch(() => {
            // A failed renewal is retried on the next tick; if the key expires another builder may start.
          });
        },
        Math.max(200, Math.floor(ttl / 3)),
      );
      renewal.unref();
      return async () => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        await redis.eval(RELEASE_SCRIPT, 1, redisKey, token);
      };
    },
    async waitForRelease(key, timeoutMs) {
      const redisKey = prefix + key;
      const deadline = Date.now() + timeoutMs;
      const maxPolls = Math.ceil(timeoutMs / pollIntervalMs) + 1;
      for (let poll = 0; poll < maxPolls; poll += 1) {
        if ((await redis.exists(redisKey)) === 0) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await sleep(Math.min(pollIntervalMs, left));
      }
      return (await redis.exists(redisKey)) === 0;
    },
  };
}
