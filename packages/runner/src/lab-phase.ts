import type { Diagnosis, LabPhase, PodSummary } from '@labbot/core';

/** Phases in which the Deployment may already have pods, but the runner has not finished the lab's steps. */
export const PRE_POD_PHASES: readonly LabPhase[] = ['running-once', 'deploying'];

/** Phases the pod watcher owns: it moves the lab between them as pods change. */
export const POD_PHASES: readonly LabPhase[] = ['waiting-for-pods', 'ready', 'degraded'];

/** The phase a lab's pods put it in: ready when every desired replica is ready, degraded on a diagnosis. */
export function phaseFromPods(pods: PodSummary[], desired: number, diagnosis: Diagnosis | undefined): LabPhase {
  const ready = pods.filter((pod) => pod.ready).length;
  if (desired > 0 && ready >= desired) return 'ready';
  if (diagnosis) return 'degraded';
  return 'waiting-for-pods';
}
