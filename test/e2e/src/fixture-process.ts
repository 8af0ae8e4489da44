// A process of test/e2e/src/fixtures/ started by an e2e test, the way production runs labbot: a bot or runner in its
// own process, so a busy test process (sims, kube-sim) does not slow what it does.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Runner } from '@labbot/runner';
import { beforeEach } from 'vitest';
import type { LabHarness } from './harness.js';

const repo = join(import.meta.dirname, '..', '..', '..');
/** How many of a child's last output lines are kept for a failing test. */
const KEPT_LINES = 60;

export interface FixtureProcessOptions {
  /** Environment on top of this process's (REDIS_URL, KUBECONFIG, tokens...). */
  env: Record<string, string>;
  /** The stdout line the fixture prints once it serves (`ready`, `port 1234`...). */
  ready: RegExp;
  /** Every stdout line, as it comes (markers such as `step <lab> <mark>`). */
  onLine?: (line: string) => void;
  /** Default 90 s: a loaded machine starts tsx slowly. */
  timeoutMs?: number;
}

export interface FixtureProcess {
  child: ChildProcess;
  /** The fixture's path, to name it in messages. */
  name: string;
  /** The stdout line that matched `ready`. */
  readyLine: string;
  /** The child's last output lines (its logs, warn and above by default), oldest first. */
  lastLines(): string[];
  /** How many lines the child has printed in all (lastLines keeps only the last of them). */
  linesPrinted(): number;
  /** Sends `signal` (SIGTERM by default) and resolves once the child has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The level a child logs at: LABBOT_TEST_LOG when a developer asks for logs (then they are shown as they come),
 * else warn, kept out of the test output and shown only under a failing test (showLastLinesOnFailure).
 */
function childLogLevel(): { level: string; echo: boolean } {
  const asked = process.env.LABBOT_TEST_LOG;
  return asked && asked !== 'silent' ? { level: asked, echo: true } : { level: 'warn', echo: false };
}

/** This process's environment without labbot's settings (LABBOT_TEST_* stay): a child's config is its `env` only. */
function environmentWithoutConfig(): NodeJS.ProcessEnv {
  const isConfig = (key: string) =>
    (key.startsWith('LABBOT_') && !key.startsWith('LABBOT_TEST_')) || ['REDIS_URL', 'KUBECONFIG'].includes(key);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !isConfig(key)));
}

/** Spawns `fixture` (a path under the repository) under tsx and resolves once it printed its ready line. */
export function startFixtureProcess(fixture: string, options: FixtureProcessOptions): Promise<FixtureProcess> {
  const { level, echo } = childLogLevel();
  const child = spawn(process.execPath, ['--conditions', 'labbot-source', '--import', 'tsx', fixture], {
    cwd: repo,
    env: { ...environmentWithoutConfig(), ...options.env, LOG_LEVEL: level, LABBOT_TEST_LOG: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const kept: string[] = [];
  let printed = 0;
  const keep = (line: string) => {
    printed += 1;
    kept.push(line);
    if (kept.length > KEPT_LINES) kept.shift();
    if (echo) process.stderr.write(`[${fixture}] ${line}\n`);
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const failed = (why: string) => {
      void stop('SIGKILL');
      reject(new Error(`${fixture} ${why}; its last lines:\n${kept.join('\n')}`));
    };
    const timer = setTimeout(() => failed('did not start'), options.timeoutMs ?? 90_000);
    const early = (code: number | null) => {
      clearTimeout(timer);
      failed(`exited with ${code} before it was ready`);
    };
    child.once('exit', early);
    lines.on('line', (line) => {
      keep(line);
      options.onLine?.(line);
      if (!options.ready.test(line)) return;
      clearTimeout(timer);
      child.off('exit', early);
      resolve({
        child,
        name: fixture,
        readyLine: line,
        lastLines: () => [...kept],
        linesPrinted: () => printed,
        stop,
      });
    });
  });
}

/** How much of one output line a failing test shows (a log line with an error's stack runs to kilobytes). */
const SHOWN_LINE_CHARS = 600;

/**
 * Registers, for every test of the calling file, a print of the children's last lines when the test fails: their
 * logs stay out of a passing run's output, yet a failure shows what the bot or runner said before it. Each line is
 * shown once: a later failing test of the file shows only what came since.
 */
export function showLastLinesOnFailure(children: () => (FixtureProcess | undefined)[]): void {
  const shownUpTo = new Map<FixtureProcess, number>();
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      for (const child of children()) {
        if (!child) continue;
        const unseen = child.linesPrinted() - (shownUpTo.get(child) ?? 0);
        shownUpTo.set(child, child.linesPrinted());
        if (unseen === 0) continue;
        const text = child
          .lastLines()
          .slice(-unseen)
          .map((line) => (line.length > SHOWN_LINE_CHARS ? `${line.slice(0, SHOWN_LINE_CHARS)}…` : line));
        process.stderr.write(`--- last ${text.length} lines of ${child.name} ---\n${text.join('\n')}\n`);
      }
    });
  });
}

export interface RunnerProcess extends FixtureProcess {
  /** The runner's builder counters now (builds, cache hits, pushes...). */
  builderStats(): Promise<ReturnType<Runner['builder']['stats']>>;
}

/** A runner (test/e2e/src/fixtures/runner-process.ts, the tests' fast timings) in its own process on the harness's config. */
export async function startRunnerProcess(harness: LabHarness): Promise<RunnerProcess> {
  const waiting: ((stats: string) => void)[] = [];
  const runner = await startFixtureProcess('test/e2e/src/fixtures/runner-process.ts', {
    env: harness.env,
    ready: /^ready$/,
    onLine: (line) => {
      if (line.startsWith('stats ')) waiting.shift()?.(line.slice('stats '.length));
    },
  });
  return {
    ...runner,
    builderStats: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the runner process did not print its stats')), 10_000);
        waiting.push((stats) => {
          clearTimeout(timer);
          resolve(JSON.parse(stats));
        });
        runner.child.kill('SIGUSR2');
      }),
  };
}
