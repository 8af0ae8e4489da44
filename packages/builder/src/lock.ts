import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

/** Gives a held lock back; safe to call more than once. */
export type ReleaseBuildLock = () => Promise<void>;

/** A lock shared by every builder that may build the same image (one build per hash across workers). */
export interface BuildLock {
  /** Takes the lock on `key` for ttlMs, renewed while held; null when another holder has it. */
  acquire(key: string, ttlMs: number): Promise<ReleaseBuildLock | null>;
  /**
   * Resolves true once nobody holds `key`, or false when timeoutMs passes first. While waiting, passes
   * the holder's shared output lines to onLog (when the lock shares logs).
   */
  waitForRelease(key: string, timeoutMs: number, onLog?: (line: string) => void): Promise<boolean>;
  /** Shares one output line of the holder's build with waiters in other processes (optional). */
  shareLog?(key: string, line: string): void;
  /** Records why the holder's build failed, for the waiters of this attempt (optional). */
  shareFailure?(key: string, failure: SharedBuildFailure): Promise<void>;
  /** The failure recorded by the last holder of `key`, if it failed within the last minute. */
  sharedFailure?(key: string): Promise<SharedBuildFailure | null>;
}

/** A build failure that waiters in other processes report instead of building again. */
export interface SharedBuildFailure {
  code: string;
  message: string;
  userMessage?: string;
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
  /** How often a waiter looks at the key (and the shared log) again. */
  pollIntervalMs?: number;
  /** Shared log lines kept per key for waiters (default 200); they expire an hour after the last line. */
  sharedLogLines?: number;
}

const RENEW_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** The Redis client id a holder's token ends with (`<uuid>@<id>`), when it has one. */
const holderClientId = (token: string): string | undefined => /@(\d+)$/.exec(token)?.[1];

/**
 * A lock across processes in Redis: SET NX PX with a random token, renewed every ttl/3 while held, released
 * only by its holder (compare-and-delete). The token carries the holder's Redis client id, so a waiter frees
 * at once the lock of a holder whose connection is gone (a killed process); otherwise it expires after ttlMs.
 */
export function createRedisBuildLock(redis: Redis, options: RedisBuildLockOptions = {}): BuildLock {
  const prefix = options.keyPrefix ?? 'labbot:build-lock:';
  const pollIntervalMs = options.pollIntervalMs ?? 200;
  const sharedLogLines = options.sharedLogLines ?? 200;
  const holderCheckMs = Math.max(pollIntervalMs, 1000);

  /** Deletes the lock when its holder's Redis connection is gone; true when it did. */
  async function freeIfHolderGone(redisKey: string): Promise<boolean> {
    const token = await redis.get(redisKey);
    const clientId = token === null ? undefined : holderClientId(token);
    if (token === null || clientId === undefined) return false;
    const clients = String(await redis.call('CLIENT', 'LIST', 'ID', clientId));
    if (clients.trim() !== '') return false;
    return (await redis.eval(RELEASE_SCRIPT, 1, redisKey, token)) === 1;
  }

  return {
    async acquire(key, ttlMs) {
      const redisKey = prefix + key;
      // Where CLIENT is not allowed (some managed Redis), the token has no id and the lock just expires.
      const clientId = await redis.client('ID').catch(() => undefined);
      const token = clientId === undefined ? randomUUID() : `${randomUUID()}@${clientId}`;
      const ttl = Math.max(1000, Math.round(ttlMs));
      const taken = await redis.set(redisKey, token, 'PX', ttl, 'NX');
      if (taken !== 'OK') return null;
      // A new holder starts a new attempt: waiters must not see lines or a failure of an earlier one.
      await redis.del(`${redisKey}:log`, `${redisKey}:log:count`, `${redisKey}:failure`);
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
        // Waiters read the last lines right after the release; after a minute nobody needs them.
        await redis.multi().pexpire(`${redisKey}:log`, 60_000).pexpire(`${redisKey}:log:count`, 60_000).exec();
      };
    },
    shareLog(key, line) {
      const logKey = `${prefix}${key}:log`;
      // Fire and forget: a lost line only costs a waiter one line of output.
      redis
        .multi()
        .rpush(logKey, line)
        .ltrim(logKey, -sharedLogLines, -1)
        .incr(`${logKey}:count`)
        .pexpire(logKey, 3_600_000)
        .pexpire(`${logKey}:count`, 3_600_000)
        .exec()
        .catch(() => {});
    },
    async shareFailure(key, failure) {
      await redis.set(`${prefix}${key}:failure`, JSON.stringify(failure), 'PX', 60_000);
    },
    async sharedFailure(key) {
      const text = await redis.get(`${prefix}${key}:failure`);
      if (text === null) return null;
      try {
        const parsed: unknown = JSON.parse(text);
        const { code, message, userMessage } = (parsed ?? {}) as Record<string, unknown>;
        if (typeof code !== 'string' || typeof message !== 'string') return null;
        return typeof userMessage === 'string' ? { code, message, userMessage } : { code, message };
      } catch {
        return null;
      }
    },
    async waitForRelease(key, timeoutMs, onLog) {
      const redisKey = prefix + key;
      const logKey = `${redisKey}:log`;
      let seen = 0;
      // Passes on the lines added since the last look (count and lines read in one transaction).
      const readLog = async () => {
        if (!onLog) return;
        const replies = await redis.multi().get(`${logKey}:count`).lrange(logKey, 0, -1).exec();
        const total = Number(replies?.[0]?.[1] ?? 0);
        const lines = replies?.[1]?.[1];
        if (!Array.isArray(lines)) return;
        // A smaller count means a new holder restarted the log.
        const fresh = total < seen ? total : total - seen;
        for (const line of lines.slice(Math.max(0, lines.length - fresh))) onLog(String(line));
        seen = total;
      };
      const deadline = Date.now() + timeoutMs;
      const maxPolls = Math.ceil(timeoutMs / pollIntervalMs) + 1;
      let holderCheckedAt = 0;
      for (let poll = 0; poll < maxPolls; poll += 1) {
        let free = (await redis.exists(redisKey)) === 0;
        if (!free && Date.now() - holderCheckedAt >= holderCheckMs) {
          holderCheckedAt = Date.now();
          free = await freeIfHolderGone(redisKey).catch(() => false);
        }
        await readLog().catch(() => {});
        if (free) return true;
        const left = deadline - Date.now();
        if (left <= 0) return false;
        await sleep(Math.min(pollIntervalMs, left));
      }
      return (await redis.exists(redisKey)) === 0;
    },
  };
}
