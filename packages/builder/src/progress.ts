import type Dockerode from 'dockerode';

/** What matters in one JSON message of a build, push or pull stream. */
export interface ProgressEvent {
  /** Output lines (`stream` of a build, `status` of a push/pull), without trailing newlines. */
  lines: string[];
  /** Set when the daemon reports a failure: a failed build ends the stream without an error. */
  error?: string;
}

function stringField(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Reads one message of the daemon's JSON progress stream. */
export function parseProgressEvent(message: unknown): ProgressEvent {
  const lines: string[] = [];
  const stream = stringField(message, 'stream');
  if (stream !== undefined) {
    for (const line of stream.split(/\r?\n/)) if (line.trim() !== '') lines.push(line.trimEnd());
  }
  const status = stringField(message, 'status');
  if (status !== undefined && stream === undefined) {
    const id = stringField(message, 'id');
    const progress = stringField(message, 'progress');
    // Layer progress bars are noise in a chat thread; keep the status lines only.
    if (progress === undefined) lines.push(id ? `${id}: ${status}` : status);
  }
  const detail = (message as { errorDetail?: unknown } | null)?.errorDetail;
  const error = stringField(detail, 'message') ?? stringField(message, 'error');
  return error === undefined ? { lines } : { lines, error };
}

/** Follows a progress stream to its end; resolves with the first reported error (if any) instead of rejecting. */
export function followProgress(
  docker: Dockerode,
  stream: NodeJS.ReadableStream,
  onEvent: (event: ProgressEvent) => void,
): Promise<{ error?: string }> {
  return new Promise((resolve, reject) => {
    let firstError: string | undefined;
    docker.modem.followProgress(
      stream,
      (error) => {
        if (error) reject(error);
        else resolve(firstError === undefined ? {} : { error: firstError });
      },
      (message: unknown) => {
        const event = parseProgressEvent(message);
        if (event.error !== undefined && firstError === undefined) firstError = event.error;
        onEvent(event);
      },
    );
  });
}
