export { createLabNotices, type LabEventSink, type LabNotices } from './events.js';
export { createJanitor, type Janitor, type JanitorOptions, type SweepReport } from './janitor.js';
export { createJanitorLease, JANITOR_LEASE_KEY, type JanitorLease, type JanitorLeaseOptions } from './janitor-lease.js';
export { countLabsByPhase, observeBuilder, observeLabEvents, type RunnerObserver } from './observer.js';
export { createReconciler, type Reconciler, type ReconcilerOptions } from './reconciler.js';
export {
  type ReadinessProbe,
  type Runner,
  type RunnerTuning,
  type StartRunnerOptions,
  startRunner,
} from './runner.js';
export { startStatusWatcher } from './status-watcher.js';
