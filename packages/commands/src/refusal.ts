import { LabbotError } from '@labbot/core';

/**
 * A refusal a user may read: shown as an ephemeral error, not logged as a failure. It is an answer, not a fault, so
 * it captures no stack trace: "You have no lab yet" is the answer to every `/lab status` of a learner without a lab,
 * and the trace was the bot's largest own cost per such command in a burst (profiled, BENCHMARKS.md).
 */
export class Refusal extends LabbotError {
  constructor(message: string) {
    const traceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super('REFUSED', message, { userMessage: message });
    } finally {
      Error.stackTraceLimit = traceLimit;
    }
  }
}
