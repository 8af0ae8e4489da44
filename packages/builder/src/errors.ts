import { LabbotError } from '@labbot/core';

/** Error codes thrown by the builder. */
export const BuilderErrorCode = {
  buildFailed: 'BUILD_FAILED',
  baseImageMissing: 'BASE_IMAGE_MISSING',
  dockerUnavailable: 'DOCKER_UNAVAILABLE',
  buildTimeout: 'BUILD_TIMEOUT',
  buildLockTimeout: 'BUILD_LOCK_TIMEOUT',
  buildLockUnavailable: 'BUILD_LOCK_UNAVAILABLE',
  buildContextInvalid: 'BUILD_CONTEXT_INVALID',
  invalidLessonId: 'INVALID_LESSON_ID',
  invalidImageHash: 'INVALID_IMAGE_HASH',
  pushFailed: 'PUSH_FAILED',
  registryAuthFailed: 'REGISTRY_AUTH_FAILED',
  imageMissing: 'IMAGE_MISSING',
  runFailed: 'RUN_FAILED',
  dockerError: 'DOCKER_ERROR',
} as const;

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'ECONNRESET',
  'EPIPE',
  'EACCES',
  'ETIMEDOUT',
  'EHOSTUNREACH',
]);

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether an error from dockerode means the daemon could not be reached at all. */
export function isDaemonUnreachable(error: unknown): boolean {
  const code = errnoCode(error);
  return code !== undefined && UNREACHABLE_CODES.has(code);
}

/** The HTTP status of a dockerode error (404 for a missing image or container), if any. */
export function dockerStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The daemon is down or its socket is missing: retrying later can help. */
export function dockerUnavailableError(error: unknown, context: LabbotError['context'] = {}): LabbotError {
  return new LabbotError(BuilderErrorCode.dockerUnavailable, `Docker daemon unreachable: ${messageOf(error)}`, {
    cause: error,
    retryable: true,
    userMessage: 'The Docker engine is not reachable right now, so the lab image cannot be built. Try again shortly.',
    context,
  });
}

/** Wraps any dockerode failure: unreachable daemon → DOCKER_UNAVAILABLE, others → the given code. */
export function wrapDockerError(
  error: unknown,
  code: string,
  message: string,
  userMessage: string,
  context: LabbotError['context'] = {},
): LabbotError {
  if (error instanceof LabbotError) return error;
  if (isDaemonUnreachable(error)) return dockerUnavailableError(error, context);
  return new LabbotError(code, `${message}: ${messageOf(error)}`, { cause: error, userMessage, context });
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
