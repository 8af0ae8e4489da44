import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** How long to keep polling before failing (default 10 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 25 ms). */
  intervalMs?: number;
  /** Treat an error thrown by the check as "not yet" and keep polling (default: the error fails at once). */
  retryErrors?: boolean;
}

/** What a check returns while the condition does not hold yet. */
export type NotYet = undefined | null | false;

type Reading<T> = { done: true; value: T } | { done: false; seen: unknown };

/**
 * Polls `check` until it returns a value other than undefined, null or false, and resolves with it.
 * On timeout it rejects naming `what`, with the last value or error seen, so a failure says what was missing.
 */
export function waitFor<T>(
  what: string,
  check: () => T | NotYet | Promise<T | NotYet>,
  options: WaitForOptions | number = {},
): Promise<T> {
  return poll(
    what,
    async () => {
      const value = await check();
      return value !== undefined && value !== null && value !== false
        ? { done: true, value: value as T }
        : { done: false, seen: value };
    },
    options,
  );
}

/** Polls `read` until `accept(value)` holds and resolves with that value; a timeout shows the last reading. */
export function waitForValue<T>(
  what: string,
  read: () => T | Promise<T>,
  accept: (value: T) => boolean,
  options: WaitForOptions | number = {},
): Promise<T> {
  return poll(
    what,
    async () => {
      const value = await read();
      return accept(value) ? { done: true, value } : { done: false, seen: value };
    },
    options,
  );
}

async function poll<T>(what: string, step: () => Promise<Reading<T>>, options: WaitForOptions | number): Promise<T> {
  const {
    timeoutMs = 10_000,
    intervalMs = 25,
    retryErrors = false,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let seen: unknown;
  let lastError: unknown;
  for (;;) {
    try {
      const reading = await step();
      if (reading.done) return reading.value;
      seen = reading.seen;
    } catch (error) {
      if (!retryErrors) throw error;
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(intervalMs);
  }
  const detail = lastError === undefined ? `last value: ${describe(seen)}` : `last error: ${String(lastError)}`;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${detail}`);
}

function describe(value: unknown): string {
  try {
    return (JSON.stringify(value) ?? String(value)).slice(0, 2000);
  } catch {
    return String(value);
  }
}
