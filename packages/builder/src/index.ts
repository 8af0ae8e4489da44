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
export { createDockerClient, type DockerEngineSettings } from './docker-engine.js';
export { BuilderErrorCode, isDaemonUnreachable } from './errors.js';
export {
  createLearnerBuilder,
  DEFAULT_LEARNER_BUILD_LIMITS,
  hashLearnerBuild,
  LEARNER_BUILD_LABEL,
  type LearnerBuilder,
  type LearnerBuilderOptions,
  type LearnerBuildLimits,
  type LearnerBuildRequest,
  type LearnerBuildResult,
  type LearnerRunResult,
  learnerRepositoryFor,
} from './learner-build.js';
export {
  type CheckLearnerBuildOptions,
  checkLearnerBuild,
  checkLearnerPath,
  DEFAULT_MAX_CONTEXT_BYTES,
  formatBytes,
  LearnerBuildErrorCode,
  type LearnerDockerfile,
  type LearnerFile,
  type LearnerInstruction,
} from './learner-dockerfile.js';
export {
  type BuildLock,
  createMemoryBuildLock,
  createRedisBuildLock,
  type RedisBuildLockOptions,
  type ReleaseBuildLock,
  type SharedBuildFailure,
} from './lock.js';
export type { RunOnceOptions, RunOnceResult } from './run-once.js';
