import { LabbotError } from '@labbot/core';
import { Redis } from 'ioredis';

/**
 * Where the queues live: a Redis URL (the queue package opens and closes its own client), or an
 * ioredis client the caller owns. A client used by workers needs `maxRetriesPerRequest: null`.
 */
export type QueueConnection = Redis | string;

/** The Redis client type the queues, workers and the store share (so callers need not import ioredis). */
export type RedisClient = Redis;

/**
 * Gives a client an 'error' listener: without one, ioredis prints "Unhandled error event" for every failed
 * reconnect while Redis is down. It reconnects on its own; the commands that fail meanwhile carry the error.
 */
export function handleRedisErrors<T extends Redis>(client: T, onError: (error: Error) => void = () => {}): T {
  client.on('error', onError);
  return client;
}

interface OpenRedisOptions {
  /**
   * ioredis `enableAutoPipelining`: commands issued in one tick go out as one pipeline. Only for a client of plain
   * reads (the store's `reads`): never for a client BullMQ uses (users report job errors with it there).
   */
  autoPipelining?: boolean;
  /** Shown by Redis' CLIENT LIST (e.g. `labbot-store-reads`). */
  connectionName?: string;
}

/** A Redis client fit for queue workers and the store (`maxRetriesPerRequest: null`); the caller closes it. */
export function openRedis(url: string, onError?: (error: Error) => void, options: OpenRedisOptions = {}): RedisClient {
  return handleRedisErrors(
    new Redis(url, {
      maxRetriesPerRequest: null,
      ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
      ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    }),
    onError,
  );
}

export interface OpenedConnection {
  client: Redis;
  /** Closes the client when this package opened it; leaves a caller's client alone. */
  release(): Promise<void>;
}

export function openConnection(connection: QueueConnection, purpose: 'producer' | 'worker'): OpenedConnection {
  if (typeof connection === 'string') {
    const client = handleRedisErrors(new Redis(connection, { maxRetriesPerRequest: null }));
    return {
      client,
      release: async () => {
        if (client.status !== 'end') await client.quit().catch(() => client.disconnect());
      },
    };
  }
  if (purpose === 'worker' && connection.options.maxRetriesPerRequest !== null) {
    throw new LabbotError(
      'QUEUE_CONNECTION',
      'A Redis client given to a queue worker needs maxRetriesPerRequest: null.',
      {
        context: { maxRetriesPerRequest: String(connection.options.maxRetriesPerRequest) },
      },
    );
  }
  return { client: connection, release: async () => {} };
}
