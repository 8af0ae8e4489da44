import { z } from 'zod';
import { LabbotError } from './errors.js';

/**
 * The lab state machine: phases, who may move a lab between them, what "settled" and "active" mean,
 * the order the status message shows them in, and what the runner must do next. Everything else asks
 * this module; no other file lists phases.
 */

/** Where a lab is, as last observed by the runner. */
export const LAB_PHASES = [
  'pending',
  'provisioning',
  'building',
  'running-once',
  'deploying',
  'waiting-for-pods',
  'ready',
  'degraded',
  'failed',
  'stopping',
  'stopped',
] as const;
export const LabPhaseSchema = z.enum(LAB_PHASES);
export type LabPhase = z.infer<typeof LabPhaseSchema>;
export const LabPhase = LabPhaseSchema;

/** The bring-up of a lab in the order a learner sees it (degraded is shown where ready would be). */
export const PROGRESS_ORDER: readonly LabPhase[] = [
  'pending',
  'provisioning',
  'building',
  'running-once',
  'deploying',
  'waiting-for-pods',
  'ready',
];

/** How far a lab got in PROGRESS_ORDER; -1 for failed, stopping and stopped. */
export function progressOf(phase: LabPhase): number {
  return PROGRESS_ORDER.indexOf(phase === 'degraded' ? 'ready' : phase);
}

/** Phases whose Deployment is applied: the pods decide between them (see phaseFromPods). */
export const POD_PHASES: readonly LabPhase[] = ['waiting-for-pods', 'ready', 'degraded'];

/** Phases in which the Deployment is being applied while the runner's steps still run: pods are recorded, the phase stays. */
export const PRE_POD_PHASES: readonly LabPhase[] = ['running-once', 'deploying'];

/** The pods decide the phase (ready, degraded or waiting-for-pods). */
export function isPodPhase(phase: LabPhase): boolean {
  return POD_PHASES.includes(phase);
}

/** Pods may exist (the Deployment is applied or being applied): kubectl has something to act on. */
export function mayHavePods(phase: LabPhase): boolean {
  return PRE_POD_PHASES.includes(phase) || POD_PHASES.includes(phase);
}

/** Phases in which nothing more happens without a new command (degraded: pods running but unhealthy). */
export const SETTLED_PHASES: readonly LabPhase[] = ['ready', 'degraded', 'failed', 'stopped'];

export function isSettled(phase: LabPhase): boolean {
  return SETTLED_PHASES.includes(phase);
}

/** The teardown: the lab's resources are going or gone. */
const TEARDOWN_PHASES: readonly LabPhase[] = ['stopping', 'stopped'];

/** The lab is being torn down, or was: its status shows one line and nothing more is built in it. */
export function isTearingDown(phase: LabPhase): boolean {
  return TEARDOWN_PHASES.includes(phase);
}

/** The parts of a lab record the state machine reads. */
export interface LabStateView {
  desired: { state: 'running' | 'stopped'; generation: number };
  observed: {
    phase: LabPhase;
    generation?: number | undefined;
    handedOver?: boolean | undefined;
    imageTag?: string | undefined;
    containerOutput?: string | undefined;
  };
}

/**
 * The Docker step's one-off container is still owed its output: the lab's image is built (the runner records the
 * tag before it runs the container), the lab is past building and not failed or torn down, and no output is
 * recorded. The Kubernetes step does not wait for it, so a lab can be ready meanwhile. Labs whose learner builds and
 * deploys their own image have no tag before their first build, whose output comes with it: they never owe one.
 */
export function awaitsContainerOutput(observed: LabStateView['observed']): boolean {
  return (
    observed.imageTag !== undefined &&
    observed.containerOutput === undefined &&
    progressOf(observed.phase) > progressOf('building')
  );
}

/** A lab that holds, or is about to hold, cluster resources: counted against the learner's and the cluster's limits. */
export function isLabActive(lab: LabStateView): boolean {
  return lab.desired.state === 'running' && lab.observed.phase !== 'failed';
}

/** The learner may still work in the lab (build their own image into it): asked to run, and not torn down. */
export function acceptsLearnerWork(lab: LabStateView): boolean {
  return lab.desired.state === 'running' && !isTearingDown(lab.observed.phase);
}

/**
 * The lab reached what was last asked (running: settled in this generation, its container's output in; stopped:
 * stopped), or failed.
 */
export function hasLabSettled(lab: LabStateView): boolean {
  if (lab.desired.state === 'stopped') return lab.observed.phase === 'stopped';
  return (
    isSettled(lab.observed.phase) &&
    lab.observed.phase !== 'stopped' &&
    lab.observed.generation === lab.desired.generation &&
    !awaitsContainerOutput(lab.observed)
  );
}

/** The phase a lab's pods put it in: ready when every desired replica is ready, degraded on a diagnosis. */
export function phaseFromPods(
  pods: readonly { ready: boolean }[],
  desiredReplicas: number,
  diagnosis: unknown | undefined,
): LabPhase {
  const ready = pods.filter((pod) => pod.ready).length;
  if (desiredReplicas > 0 && ready >= desiredReplicas) return 'ready';
  if (diagnosis) return 'degraded';
  return 'waiting-for-pods';
}

/**
 * Who may write `observed.phase`, and where to (enforced by movePhase with the table below):
 * the reconciler walks the bring-up and the teardown and is the only one that fails, resets or stops
 * a lab; once the Deployment is applied the pods own the phase (the pod watcher, and kubectl scale,
 * move only among waiting-for-pods, ready and degraded); the janitor only sends a lab whose
 * namespace vanished from a pod phase back to pending, so the reconciler builds it again.
 */
export type PhaseWriter = 'reconciler' | 'pods' | 'janitor';

/** The reconciler's steps before the Deployment is applied. */
const BRING_UP_PHASES: readonly LabPhase[] = ['pending', 'provisioning', 'building', 'running-once', 'deploying'];

const TRANSITIONS: Record<PhaseWriter, (from: LabPhase) => readonly LabPhase[]> = {
  reconciler: (from) => [
    // A reset starts over from any phase.
    'pending',
    // A retried or taken-over job walks the idempotent steps again from the first one (running-once: a record of
    // an older runner, which held a lab there until its container's output was in).
    ...(BRING_UP_PHASES.includes(from) ? BRING_UP_PHASES : []),
    // Once the Deployment is applied, the pods (recorded meanwhile) pick the phase.
    ...(PRE_POD_PHASES.includes(from) ? POD_PHASES : []),
    ...(from === 'stopped' ? [] : (['failed', 'stopping'] as const)),
    ...(from === 'stopping' ? (['stopped'] as const) : []),
  ],
  pods: (from) => (POD_PHASES.includes(from) ? POD_PHASES : []),
  janitor: (from) => (POD_PHASES.includes(from) ? ['pending'] : []),
};

/** Whether `writer` may move a lab from `from` to `to` (staying in place is always allowed). */
export function canMovePhase(writer: PhaseWriter, from: LabPhase, to: LabPhase): boolean {
  return from === to || TRANSITIONS[writer](from).includes(to);
}

/** Every move the table allows, for documentation and tests. */
export function allowedMoves(writer: PhaseWriter): [LabPhase, LabPhase][] {
  return LAB_PHASES.flatMap((from) => TRANSITIONS[writer](from).map((to): [LabPhase, LabPhase] => [from, to]));
}

/**
 * The observed state with its phase moved, after checking the move against the table.
 * Throws LabbotError LAB_PHASE_TRANSITION (not retryable: a programming error) when `writer` may not.
 */
export function movePhase<T extends { phase: LabPhase }>(writer: PhaseWriter, observed: T, to: LabPhase): T {
  if (!canMovePhase(writer, observed.phase, to)) {
    throw new LabbotError('LAB_PHASE_TRANSITION', `the ${writer} may not move a lab from ${observed.phase} to ${to}`, {
      retryable: false,
      context: { writer, from: observed.phase, to },
    });
  }
  return { ...observed, phase: to };
}

/** What the runner must do next for a lab, decided from desired and observed state alone. */
export type ReconcileDecision =
  /** Tear everything down (desired stopped, not yet stopped). */
  | { action: 'teardown' }
  /** Start over: a reset bumped the desired generation past the observed one. */
  | { action: 'restart'; generation: number }
  /** A warm lab's namespace was handed to this lab (pods kept): relabel it to this lab, nothing else to bring up. */
  | { action: 'handover' }
  /** Carry on with the next missing step (every step is idempotent); `adopt` records the generation first. */
  | { action: 'continue'; adoptGeneration?: number }
  /** Nothing to do until something changes (settled, or a failure that needs a reset). */
  | { action: 'none'; why: 'stopped' | 'failed' | 'settled' | 'pods' };

/**
 * The reconcile rule: level-triggered, so the same record always gives the same decision however
 * often reconcile runs.
 */
export function decideReconcile(lab: LabStateView): ReconcileDecision {
  const { desired, observed } = lab;
  if (desired.state === 'stopped') {
    return observed.phase === 'stopped' ? { action: 'none', why: 'stopped' } : { action: 'teardown' };
  }
  if (observed.generation === undefined) return { action: 'continue', adoptGeneration: desired.generation };
  if (observed.generation !== desired.generation) return { action: 'restart', generation: desired.generation };
  // Asked to run again without a new generation (never done by the bot): start over from a fresh namespace.
  if (observed.phase === 'stopping' || observed.phase === 'stopped') {
    return { action: 'restart', generation: desired.generation };
  }
  // A failed lab stays failed until the learner resets or starts it again (a new generation).
  if (observed.phase === 'failed') return { action: 'none', why: 'failed' };
  if (observed.handedOver) return { action: 'handover' };
  // Applied, maybe ready, but the one-off container's output never came (its runner died while it ran): run it.
  if (isPodPhase(observed.phase) && awaitsContainerOutput(observed)) return { action: 'continue' };
  if (observed.phase === 'ready' || observed.phase === 'degraded') return { action: 'none', why: 'settled' };
  // The Deployment is applied: the pod watch moves the lab on from here.
  if (observed.phase === 'waiting-for-pods') return { action: 'none', why: 'pods' };
  return { action: 'continue' };
}
