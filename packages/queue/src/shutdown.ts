/** Anything with an async close: workers, queues, servers. */
export interface Closable {
  close(): Promise<void>;
}

export interface CloseOnSignalsOptions {
  signals?: NodeJS.Signals[];
  /** After this long the process exits even if a job has not finished (default 30 000 ms). */
  timeoutMs?: number;
  /** How the process ends (default `process.exit`): 0 after a clean close, 1 after a timeout or error. */
  exit?: (code: number) => void;
  /** Told which signal arrived, before closing (for a log line). */
  onSignal?: (signal: NodeJS.Signals) => void;
}

/**
 * Graceful shutdown: on SIGTERM or SIGINT, closes every closable (a worker finishes its current
 * jobs and takes no new ones), then exits. A second signal exits at once. Returns a function that
 * removes the handlers.
 */
export function closeOnSignals(closables: readonly Closable[], options: CloseOnSignalsOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      exit(1);
      return;
    }
    closing = true;
    options.onSignal?.(signal);
    const timer = setTimeout(() => exit(1), options.timeoutMs ?? 30_000);
    timer.unref();
    Promise.allSettled(closables.map((closable) => closable.close())).then((results) => {
      clearTimeout(timer);
      exit(results.every((result) => result.status === 'fulfilled') ? 0 : 1);
    });
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
