import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks in every log line, so tokens and secrets never reach a log. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'botToken',
  '*.botToken',
  'appToken',
  '*.appToken',
  'signingSecret',
  '*.signingSecret',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'config.discord.token',
  'config.slack.botToken',
  'config.slack.signingSecret',
  'config.slack.appToken',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; stdout when absent. */
  destination?: NodeJS.WritableStream;
}

/** A structured JSON logger (pino) with secrets redacted. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    name: options.name,
    level: options.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
