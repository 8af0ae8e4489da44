export {
  type ClusterMode,
  ConfigError,
  type ConfigRequirement,
  type LabbotConfig,
  type LoadConfigOptions,
  loadConfig,
  loadConfigOrExit,
} from './config.js';
export { createLogger, type Logger, type LoggerOptions, REDACTED_PATHS } from './logger.js';
export { type Environment, EnvironmentSchema, SECRET_VARIABLES } from './schema.js';
