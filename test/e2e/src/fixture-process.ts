// A process of test/e2e/src/fixtures/ started by an e2e test, the way production runs labbot: a bot or runner in its
// own process, so a busy test process (sims, kube-sim) does not slow what it does.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Runner } from '@labbot/runner';
import type { LabHarness } from './harness.js';
import { createLogTail, type LogTail, testLogLevel } from './test-logs.js';

const repo = join(import.meta.dirname, '..', '..', '..');

export interface FixtureProcessOptions {
  /** The child's config (REDIS_URL, KUBECONFIG, tokens...), on top of this process's environment minus its config. */
  env: Record<string, string>;
  /** The stdout line the fixture prints once it serves (`ready`, `port 1234`...). */
  ready: RegExp;
  /** Every stdout line, as it comes (markers such as `step <lab> <mark>`). */
  onLine?: (line: string) => void;
  /** Default 90 s: a loaded machine starts tsx slowly. */
  timeoutMs?: number;
}

/** A running fixture; as a LogTail, its output (stdout and stderr: its logs at warn and above by default). */
export interface FixtureProcess extends LogTail {
  child: ChildProcess;
  /** The stdout line that matched `ready`. */
  readyLine: string;
  /** Sends `signal` (SIGTERM by default) and resolves once the child has exited and its output is read. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** This process's environment without labbot's settings (LABBOT_TEST_* stay): a child's config is its `env` only. */
function environmentWithoutConfig(): NodeJS.ProcessEnv {
  const isConfig = (key: string) =>
    (key.startsWith('LABBOT_') && !key.startsWith('LABBOT_TEST_')) || ['REDIS_URL', 'KUBECONFIG'].includes(key);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !isConfig(key)));
}

/** Spawns `fixture` (a path under the repository) under tsx and resolves once it printed its ready line. */
export function startFixtureProcess(fixture: string, options: FixtureProcessOptions): Promise<FixtureProcess> {
  const { level } = testLogLevel();
  const child = spawn(process.execPath, ['--conditions', 'labbot-source', '--import', 'tsx', fixture], {
    cwd: repo,
    env: { ...environmentWithoutConfig(), ...options.env, LOG_LEVEL: level, LABBOT_TEST_LOG: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { tail, add: keep } = createLogTail(fixture);
  // 'close', not 'exit': by then the child's last output (a `stats` line printed on SIGTERM) has been read too.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    const failed = (why: string) => {
      void stop('SIGKILL');
      reject(new Error(`${fixture} ${why}; its last lines:\n${tail.lastLines().join('\n')}`));
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
      resolve({ ...tail, child, readyLine: line, stop });
    });
  });
}

export interface RunnerProcess extends FixtureProcess {
  /** The runner's builder counters now (builds, cache hits, pushes...). */
  builderStats(): Promise<ReturnType<Runner['builder']['stats']>>;
}

/**
 * A runner (test/e2e/src/fixtures/runner-process.ts, the tests' fast timings) in its own process on the harness's
 * config, with `env` on top (LABBOT_TEST_RUNNER_LOCKS, another KUBECONFIG...).
 */
export async function startRunnerProcess(
  harness: LabHarness,
  env: Record<string, string> = {},
): Promise<RunnerProcess> {
  const waiting: ((stats: string) => void)[] = [];
  const runner = await startFixtureProcess('test/e2e/src/fixtures/runner-process.ts', {
    env: { ...harness.env, ...env },
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
