export {
  type Builder,
  createBuilder,
  type ImageBuilder,
} from './builder.js';
export { hashBuildContext } from './context.js';
export { createDockerClient } from './docker-engine.js';

export {
  createLearnerBuilder,
  type LearnerBuilder,
  type LearnerBuilderOptions,
} from './learner-build.js';
export {
  LearnerBuildErrorCode,
  type LearnerFile,
} from './learner-dockerfile.js';
export { createRedisBuildLock } from './lock.js';
