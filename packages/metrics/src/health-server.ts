import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LabbotMetrics, QueueSnapshot } from './metrics.js';

/** One dependency `/readyz` asks: resolves when reachable, rejects (or times out) when not. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<unknown>;
}

/** A pino-style logger; the server logs nothing when absent. */
export interface HealthServerLogger {
  info(context: Record<string, unknown>, message: string): void;
  warn(context: Record<string, unknown>, message: string): void;
}

export interface HealthServerOptions {
  metrics: LabbotMetrics;
  checks: ReadinessCheck[];
  /** LABBOT_METRICS_PORT; 0 picks a free port (tests). */
  port: number;
  /** Bind address (default all interfaces: probes and scrapers come from outside the container). */
  host?: string;
  /** A check slower than this counts as failed (default 2000 ms). */
  checkTimeoutMs?: number;
  logger?: HealthServerLogger;
}

export interface HealthServer {
  port(): number;
  close(): Promise<void>;
}

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs every check at once; a check's failure text is its error message (never a stack). */
export async function checkReadiness(checks: ReadinessCheck[], timeoutMs = 2000): Promise<ReadinessReport> {
  const results = await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(Promise.resolve().then(check), timeoutMs);
        return [name, 'ok'] as const;
      } catch (error) {
        return [name, error instanceof Error ? error.message : String(error)] as const;
      }
    }),
  );
  return { ready: results.every(([, result]) => result === 'ok'), checks: Object.fromEntries(results) };
}

/** `/metrics` (Prometheus text), `/healthz` (the process answers), `/readyz` (every dependency reachable). */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { metrics, checks, logger } = options;
  let lastReady: boolean | undefined;
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      response.end(body);
    };
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n');
    if (path === '/readyz') {
      void checkReadiness(checks, options.checkTimeoutMs).then((report) => {
        if (report.ready !== lastReady) {
          // Logged on change only: probes ask every few seconds.
          if (report.ready) logger?.info({ checks: report.checks }, 'ready');
          else logger?.warn({ checks: report.checks }, 'not ready');
          lastReady = report.ready;
        }
        send(
          report.ready ? 200 : 503,
          'application/json',
          `${JSON.stringify({ status: report.ready ? 'ok' : 'unavailable', checks: report.checks })}\n`,
        );
      });
      return;
    }
    if (path === '/metrics') {
      void metrics.scrape().then(
        (text) => send(200, metrics.registry.contentType, text),
        (error: unknown) => send(500, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`),
      );
      return;
    }
    send(404, 'text/plain', 'not found: /metrics, /healthz, /readyz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  logger?.info({ port }, 'metrics and health endpoints: /metrics /healthz /readyz');
  return {
    port: () => port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A queue whose depth is read at each scrape. */
export interface QueueProbe {
  name: string;
  snapshot(): Promise<QueueSnapshot>;
}

export interface ProcessMetricsOptions extends HealthServerOptions {
  queues?: QueueProbe[];
  /** Extra reads before each scrape (labs by phase). */
  collect?: (metrics: LabbotMetrics) => Promise<void>;
}

export interface ProcessMetrics {
  metrics: LabbotMetrics;
  server: HealthServer;
  close(): Promise<void>;
}

/** What each labbot process runs beside its registry (createMetrics): the queue depths it reads and the health server. */
export async function startProcessMetrics(options: ProcessMetricsOptions): Promise<ProcessMetrics> {
  const { queues = [], collect, metrics, ...serverOptions } = options;
  metrics.onScrape(async () => {
    await Promise.all(queues.map(async (queue) => metrics.setQueue(queue.name, await queue.snapshot())));
  });
  if (collect) metrics.onScrape(() => collect(metrics));
  const server = await startHealthServer({ ...serverOptions, metrics });
  return { metrics, server, close: () => server.close() };
}

/** What a process serves metrics beside: the dependencies /readyz asks, the queues it reads, how to close it. */
export interface MonitoredProcess {
  readinessChecks: ReadinessCheck[];
  queueProbes?: QueueProbe[];
  close(): Promise<void>;
}

export interface ServeProcessMetricsOptions extends Omit<ProcessMetricsOptions, 'port' | 'checks' | 'queues'> {
  /** LABBOT_METRICS_PORT (0 picks a free one); no server when undefined. */
  port: number | undefined;
}

/**
 * The process's /metrics, /healthz and /readyz when a port is set (undefined otherwise). When the server
 * cannot start (a port in use), the process is closed before the error is thrown, so nothing stays open.
 */
export async function serveProcessMetrics(
  monitored: MonitoredProcess,
  options: ServeProcessMetricsOptions,
): Promise<ProcessMetrics | undefined> {
  const { port, ...rest } = options;
  if (port === undefined) return undefined;
  try {
    return await startProcessMetrics({
      ...rest,
      port,
      checks: monitored.readinessChecks,
      queues: monitored.queueProbes ?? [],
    });
  } catch (error) {
    await monitored.close();
    throw error;
  }
}
