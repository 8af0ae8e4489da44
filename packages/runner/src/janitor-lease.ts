import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** The Redis key every runner competes for before a janitor sweep. */
export const JANITOR_LEASE_KEY = 'labbot:janitor:lease';

// Deletes or extends the lease only while this holder still owns it (another runner may have taken it since).
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

export interface JanitorLeaseOptions {
  redis: Redis;
  /** How long the lease lives unless renewed (renewed every third of it while held; default 60 s). */
  ttlMs?: number;
  key?: string;
}

/** A lease in Redis: among several runners, one sweep at a time; a crashed holder's lease expires. */
export interface JanitorLease {
  /** Runs `work` while holding the lease; resolves `{ ran: false }` at once when another runner holds it. */
  runExclusive<T>(work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

export function createJanitorLease(options: JanitorLeaseOptions): JanitorLease {
  const { redis } = options;
  const key = options.key ?? JANITOR_LEASE_KEY;
  const ttlMs = options.ttlMs ?? 60_000;
  return {
    async runExclusive(work) {
      const token = `${process.pid}:${randomUUID()}`;
      const taken = await redis.set(key, token, 'PX', ttlMs, 'NX');
      if (taken !== 'OK') return { ran: false };
      const renewal = setInterval(() => {
        redis.eval(RENEW, 1, key, token, String(ttlMs)).catch(() => undefined);
      }, ttlMs / 3);
      renewal.unref();
      try {
        return { ran: true, value: await work() };
      } finally {
        clearInterval(renewal);
        await redis.eval(RELEASE, 1, key, token).catch(() => undefined);
      }
    },
  };
}
