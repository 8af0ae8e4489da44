export {
  type Builder,
  type BuilderOptions,
  type BuilderStats,
  type BuildLimits,
  createBuilder,
  type EnsureImageOptions,
  type EnsureImageResult,
  type ImageBuilder,
} from './builder.js';
export {
  type BuildContextOptions,
  baseImagesOf,
  type ContextEntry,
  HASH_LENGTH,
  hashBuildContext,
  type ImageTagOptions,
  imageRepositoryFor,
  imageTagFor,
  listContextEntries,
  packEntries,
} from './context.js';
export { BuilderErrorCode, isDaemonUnreachable } from './errors.js';
export {
  type BuildLock,
  createMemoryBuildLock,
  createRedisBuildLock,
  type RedisBuildLockOptions,
  type ReleaseBuildLock,
  type SharedBuildFailure,
} from './lock.js';
export type { RunOnceOptions, RunOnceResult } from './run-once.js';
