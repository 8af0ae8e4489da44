/** Options of a LabbotError: the cause is kept, and the error says who may see it and whether to retry. */
export interface LabbotErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
  /** One plain sentence a learner may see in chat; when absent the learner sees a generic sentence. */
  userMessage?: string;
  /** Whether trying the same thing again later can help (decides a queue job's fate). */
  retryable?: boolean;
  /** Where it happened: lab id, step, lesson, job id... (logged, never shown to a learner). */
  context?: Record<string, string | number | boolean | undefined>;
}

/** Base error of labbot: a stable `code`, the `cause`, a learner-safe message and a retry verdict. */
export class LabbotError extends Error {
  readonly code: string;
  readonly userMessage: string | undefined;
  readonly retryable: boolean;
  readonly context: Record<string, string | number | boolean | undefined>;

  constructor(code: string, message: string, options: LabbotErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LabbotError';
    this.code = code;
    this.userMessage = options.userMessage;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }
}

export const GENERIC_USER_MESSAGE = 'Something went wrong on our side. Please try again in a minute.';

/** The sentence a learner may see for any thrown value: never a stack trace or an internal detail. */
export function userMessageOf(error: unknown): string {
  return error instanceof LabbotError && error.userMessage ? error.userMessage : GENERIC_USER_MESSAGE;
}

export function isRetryable(error: unknown): boolean {
  return error instanceof LabbotError ? error.retryable : true;
}
