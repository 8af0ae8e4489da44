export {
  type LabbotConfig,
  loadConfig,
  loadConfigOrExit,
} from './config.js';
export { createLogger, type Logger } from './logger.js';
