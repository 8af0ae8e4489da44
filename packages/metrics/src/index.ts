export {
  type ProcessMetrics,
  serveProcessMetrics,
} from './health-server.js';
export { createMetrics } from './metrics.js';
