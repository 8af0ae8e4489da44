import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { LAB_LABEL } from './labels.js';
import type { PodSummary } from './types.js';

/** An API timestamp as ISO text: typed client calls give Date objects, watch events give strings. */
export function isoTime(value: unknown): string | undefined {
  const date = value instanceof Date ? value : typeof value === 'string' && value ? new Date(value) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : undefined;
}

/** The STATUS column of `kubectl get pods` (same rules as kubectl's printer, for the fields labbot sees). */
export function podStatusText(pod: V1Pod): string {
  const statuses = pod.status?.containerStatuses ?? [];
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  for (const init of pod.status?.initContainerStatuses ?? []) {
    const terminated = init.state?.terminated;
    if (terminated && terminated.exitCode === 0) continue;
    if (terminated) {
      reason = `Init:${terminated.reason || `ExitCode:${terminated.exitCode}`}`;
    } else if (init.state?.waiting?.reason && init.state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${init.state.waiting.reason}`;
    } else {
      reason = 'Init:0';
    }
    return pod.metadata?.deletionTimestamp ? 'Terminating' : reason;
  }
  let hasRunning = false;
  for (let index = statuses.length - 1; index >= 0; index--) {
    const status = statuses[index] as V1ContainerStatus;
    const waiting = status.state?.waiting;
    const terminated = status.state?.terminated;
    if (waiting?.reason) {
      reason = waiting.reason;
    } else if (terminated) {
      reason =
        terminated.reason ||
        (terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode ?? '?'}`);
    } else if (status.ready && status.state?.running) {
      hasRunning = true;
    }
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  if (pod.metadata?.deletionTimestamp) return 'Terminating';
  return reason;
}

/** The message of the first container that is waiting or ended with one (e.g. an image pull error). */
function containerMessage(pod: V1Pod): string | undefined {
  for (const status of pod.status?.containerStatuses ?? []) {
    const message = status.state?.waiting?.message ?? status.state?.terminated?.message;
    if (message) return message.length > 2000 ? `${message.slice(0, 1999)}…` : message;
  }
  const unscheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (unscheduled?.status === 'False' && unscheduled.message) return unscheduled.message.slice(0, 2000);
  return undefined;
}

/** The `labbot.dev/lab` label of a pod. */
export function labIdOfPod(pod: V1Pod): string | undefined {
  return pod.metadata?.labels?.[LAB_LABEL];
}

/** Whether a pod counts as ready (kubectl's READY n/n, not terminating), and its containers' counts. Pure. */
export function podReadiness(pod: V1Pod): { readyContainers: number; totalContainers: number; ready: boolean } {
  const statuses = pod.status?.containerStatuses ?? [];
  const totalContainers = Math.max(pod.spec?.containers?.length ?? 0, statuses.length);
  const readyContainers = statuses.filter((status) => status.ready).length;
  const terminating = Boolean(pod.metadata?.deletionTimestamp);
  return {
    readyContainers,
    totalContainers,
    ready: !terminating && totalContainers > 0 && readyContainers === totalContainers,
  };
}

/**
 * A pod reduced to what a thread shows (core's PodSummary). `reason` is kubectl's STATUS column whenever it is not
 * plain "Running" (CrashLoopBackOff, ContainerCreating, Completed, Terminating...). Pure.
 */
export function podSummary(pod: V1Pod): PodSummary {
  const { readyContainers, totalContainers, ready } = podReadiness(pod);
  const status = podStatusText(pod);
  const startedAt = isoTime(pod.status?.startTime) ?? isoTime(pod.metadata?.creationTimestamp);
  const message = status === 'Running' ? undefined : containerMessage(pod);
  return {
    name: pod.metadata?.name ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    ready,
    readyContainers,
    totalContainers,
    restarts: (pod.status?.containerStatuses ?? []).reduce((sum, container) => sum + (container.restartCount ?? 0), 0),
    ...(startedAt ? { startedAt } : {}),
    ...(status === 'Running' ? {} : { reason: status.slice(0, 128) }),
    ...(message ? { message } : {}),
    ...(pod.spec?.containers?.[0]?.image ? { image: pod.spec.containers[0].image.slice(0, 512) } : {}),
  };
}
