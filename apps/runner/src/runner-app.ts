import { createLogger, type LabbotConfig, type Logger } from '@labbot/config';
import { createMetrics, type ProcessMetrics, serveProcessMetrics } from '@labbot/metrics';
import { closeOnSignals, KUBECTL_QUEUE, RECONCILE_QUEUE, snapshotQueue } from '@labbot/queue';
import { countLabsByPhase, type Runner, type StartRunnerOptions, startRunner } from '@labbot/runner';

export interface RunnerAppOptions extends Pick<StartRunnerOptions, 'lessons' | 'tuning' | 'handleSignals'> {
  logger?: Logger;
  /** Port of /metrics, /healthz, /readyz instead of LABBOT_METRICS_PORT (tests pass 0 for a free one). */
  metricsPort?: number;
}

export interface RunnerApp {
  runner: Runner;
  /** The metrics and health server, when LABBOT_METRICS_PORT (or metricsPort) is set. */
  metrics: ProcessMetrics | undefined;
  stop(): Promise<void>;
}

/** The runner process: config → @labbot/runner, with its metrics and health endpoints. */
export async function startRunnerApp(config: LabbotConfig, options: RunnerAppOptions = {}): Promise<RunnerApp> {
  const logger = options.logger ?? createLogger({ name: 'labbot-runner', level: config.logLevel });
  const metrics = createMetrics({ process: 'runner' });
  const { handleSignals, metricsPort: _port, ...runnerOptions } = options;
  const runner = await startRunner(config, { ...runnerOptions, logger, observer: metrics });
  let started = false;
  void runner.ready.then(() => {
    started = true;
  });
  const monitored = {
    readinessChecks: [
      {
        name: 'pod-watch',
        check: async () => {
          if (!started) throw new Error('the pod watch has not listed the cluster yet');
        },
      },
      ...runner.readinessChecks,
    ],
    queueProbes: [RECONCILE_QUEUE, KUBECTL_QUEUE].map((name) => ({
      name,
      snapshot: () => snapshotQueue(runner.queues.queue(name)),
    })),
    close: () => runner.stop(),
  };
  const served = await serveProcessMetrics(monitored, {
    metrics,
    port: options.metricsPort ?? config.metrics.port,
    host: config.metrics.host,
    collect: async (target) => target.setLabsByPhase(await countLabsByPhase(runner.store)),
    logger,
  });
  const stop = async () => {
    await served?.close();
    await runner.stop();
  };
  if (handleSignals) closeOnSignals([{ close: stop }]);
  return { runner, metrics: served, stop };
}
