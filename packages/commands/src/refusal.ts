import { LabbotError } from '@labbot/core';

/** A refusal a user may read: shown as an ephemeral error, not logged as a failure. */
export class Refusal extends LabbotError {
  constructor(message: string) {
    super('REFUSED', message, { userMessage: message });
  }
}
