import type { z } from 'zod';
import { toDiscordFormErrors } from './validation.js';

/** A Discord JSON error (`{ message, code, errors? }`) with its HTTP status, thrown by route handlers. */
export class DiscordApiError {
  constructor(
    readonly status: number,
    readonly code: number,
    readonly message: string,
    readonly errors?: Record<string, unknown>,
  ) {}
}

/** The body parsed by `schema`, or Discord's 50035 Invalid Form Body naming each bad field. */
export function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw new DiscordApiError(400, 50035, 'Invalid Form Body', toDiscordFormErrors(result.error.issues));
}

export function formError(issues: { path: string[]; message: string }[]): DiscordApiError {
  const errors: Record<string, unknown> = {};
  for (const issue of issues)
    errors[issue.path.join('.') || '_root'] = { _errors: [{ code: 'BASE_TYPE_BAD_VALUE', message: issue.message }] };
  return new DiscordApiError(400, 50035, 'Invalid Form Body', errors);
}
