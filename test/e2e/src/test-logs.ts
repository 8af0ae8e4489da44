// What the bots and runners of an e2e test log: kept out of a passing run's output, shown under a failing test.
// LABBOT_TEST_LOG=<level> (debug, info...) shows them as they come instead.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@labbot/config';
import { beforeEach } from 'vitest';

/** How many of the last lines are kept for a failing test. */
const KEPT_LINES = 60;
/** How much of one line a failing test shows (a log line with an error's stack runs to kilobytes). */
const SHOWN_LINE_CHARS = 600;

/** The last lines something (a child process, an in-process bot's logger) printed. */
export interface LogTail {
  /** Whose lines, to name them in the output. */
  name: string;
  /** The last lines, oldest first (warn and above by default). */
  lastLines(): string[];
  /** How many lines were printed in all (lastLines keeps only the last of them). */
  linesPrinted(): number;
}

/**
 * The level a bot or runner of a test logs at: LABBOT_TEST_LOG when a developer asks for logs (then they are shown as
 * they come), else warn, kept out of the output and shown only under a failing test (showLastLinesOnFailure).
 */
export function testLogLevel(): { level: string; echo: boolean } {
  const asked = process.env.LABBOT_TEST_LOG;
  return asked && asked !== 'silent' ? { level: asked, echo: true } : { level: 'warn', echo: false };
}

/** A LogTail and the function that feeds it one line. */
export function createLogTail(name: string): { tail: LogTail; add(line: string): void } {
  const { echo } = testLogLevel();
  const kept: string[] = [];
  let printed = 0;
  return {
    tail: { name, lastLines: () => [...kept], linesPrinted: () => printed },
    add(line) {
      printed += 1;
      kept.push(line);
      if (kept.length > KEPT_LINES) kept.shift();
      if (echo) process.stderr.write(`[${name}] ${line}\n`);
    },
  };
}

/** A logger for a bot or runner started in the test's process, its lines in a LogTail (see testLogLevel). */
export function createTestLogger(name: string): { logger: Logger; logs: LogTail } {
  const { tail, add } = createLogTail(name);
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) add(line);
      done();
    },
  });
  return { logger: createLogger({ name, level: testLogLevel().level, destination }), logs: tail };
}

/**
 * Registers, for every test of the calling file, a print of the last lines of `tails` when the test fails: the logs
 * stay out of a passing run's output, yet a failure shows what the bot or runner said before it. Each line is shown
 * once: a later failing test of the file shows only what came since.
 */
export function showLastLinesOnFailure(tails: () => (LogTail | undefined)[]): void {
  const shownUpTo = new Map<LogTail, number>();
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const tail of tails()) {
        if (!tail) continue;
        const unseen = tail.linesPrinted() - (shownUpTo.get(tail) ?? 0);
        shownUpTo.set(tail, tail.linesPrinted());
        if (unseen === 0) continue;
        const text = tail
          .lastLines()
          .slice(-unseen)
          .map((line) => (line.length > SHOWN_LINE_CHARS ? `${line.slice(0, SHOWN_LINE_CHARS)}…` : line));
        process.stderr.write(`--- last ${text.length} lines of ${tail.name} ---\n${text.join('\n')}\n`);
      }
    });
  });
}
