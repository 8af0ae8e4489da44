export type { LabEventSink } from './events.js';
export { createJanitor, type Janitor, type JanitorOptions, type SweepReport } from './janitor.js';
export { createReconciler, type Reconciler, type ReconcilerOptions } from './reconciler.js';
export { dockerFor, type Runner, type RunnerTuning, type StartRunnerOptions, startRunner } from './runner.js';
export { phaseFromPods, startStatusWatcher } from './status-watcher.js';
