export { countLabsByPhase } from './observer.js';
export type { LabStepMark } from './reconciler.js';

export {
  type Runner,
  type RunnerTuning,
  type StartRunnerOptions,
  startRunner,
} from './runner.js';
