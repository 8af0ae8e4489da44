export {
  checkReadiness,
  type HealthServer,
  type HealthServerLogger,
  type HealthServerOptions,
  type ProcessMetrics,
  type ProcessMetricsOptions,
  type QueueProbe,
  type ReadinessCheck,
  type ReadinessReport,
  serveProcessMetrics,
  startHealthServer,
} from './health-server.js';
export {
  type BuildResult,
  createMetrics,
  type LabbotMetrics,
  type MetricsOptions,
  type QueueSnapshot,
} from './metrics.js';
