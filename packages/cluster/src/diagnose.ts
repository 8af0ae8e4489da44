import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { isoTime } from './pod-summary.js';
import type { Diagnosis } from './types.js';

/** What the driver diagnoses (core's Diagnosis.reason values; ContainerError is the driver's own). */
export type DiagnosisReason =
  | 'CrashLoopBackOff'
  | 'ImagePullBackOff'
  | 'PendingQuota'
  | 'PendingResources'
  | 'ClusterFull'
  | 'OOMKilled'
  | 'PodSecurity'
  | 'ContainerError';

interface Finding {
  reason: DiagnosisReason;
  /** What is happening. */
  summary: string;
  /** Why, in plain language. */
  explanation: string;
  hint: string;
  pods: string[];
}

/** core's Diagnosis: the summary says what happens and why, the hint what to do; `pod` names the first pod. */
function toDiagnosis(finding: Finding): Diagnosis {
  const summary = `${finding.summary} ${finding.explanation}`.trim();
  return {
    reason: finding.reason,
    summary: summary.length > 1000 ? `${summary.slice(0, 999)}…` : summary,
    hint: finding.hint.slice(0, 1000),
    ...(finding.pods[0] ? { pod: finding.pods[0] } : {}),
  };
}

export interface DiagnoseOptions {
  /** Events older than this (relative to `now`) no longer explain the present. Default 2 minutes. */
  recentMs?: number;
  now?: Date;
}

const imagePullReasons = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const startFailureReasons = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'ContainerCannotRun',
  'StartError',
]);

interface ContainerFinding {
  pod: string;
  container: V1ContainerStatus;
  image: string;
}

function containersOf(pods: readonly V1Pod[]): ContainerFinding[] {
  return pods.flatMap((pod) =>
    (pod.status?.containerStatuses ?? []).map((container) => ({
      pod: pod.metadata?.name ?? '',
      container,
      image: pod.spec?.containers?.find((spec) => spec.name === container.name)?.image ?? container.image ?? '',
    })),
  );
}

function lastExit(container: V1ContainerStatus) {
  return container.state?.terminated ?? container.lastState?.terminated;
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}

function eventTime(event: CoreV1Event): number | undefined {
  const text = isoTime(event.lastTimestamp) ?? isoTime(event.eventTime) ?? isoTime(event.firstTimestamp);
  const time = text ? Date.parse(text) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

function oneLine(text: string | undefined, max = 240): string {
  const line = (text ?? '').replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Why a lab's pods are not healthy, in plain language; undefined when nothing is wrong that a learner should hear
 * about. Pure: reads pod and event objects shaped like the Kubernetes API's.
 */
export function diagnose(
  pods: readonly V1Pod[],
  events: readonly CoreV1Event[] = [],
  options: DiagnoseOptions = {},
): Diagnosis | undefined {
  const live = pods.filter((pod) => !pod.metadata?.deletionTimestamp);
  const containers = containersOf(live);

  const oomKilled = containers.filter((finding) => lastExit(finding.container)?.reason === 'OOMKilled');
  if (oomKilled.length > 0) {
    return toDiagnosis({
      reason: 'OOMKilled',
      summary: 'The container used more memory than its limit and was stopped (OOMKilled).',
      explanation:
        'Every lab container has a memory limit. When the process inside goes above it, the kernel kills it ' +
        'and Kubernetes restarts the container, again and again.',
      hint: 'Make the program use less memory, or ask your instructor whether the lesson can allow more.',
      pods: unique(oomKilled.map((finding) => finding.pod)),
    });
  }

  const crashing = containers.filter(
    (finding) =>
      finding.container.state?.waiting?.reason === 'CrashLoopBackOff' ||
      // Exited and already restarted: CrashLoopBackOff is the next state the API reports.
      ((finding.container.restartCount ?? 0) >= 1 &&
        !finding.container.state?.running &&
        lastExit(finding.container) !== undefined),
  );
  if (crashing.length > 0) {
    const exits = crashing.map((finding) => lastExit(finding.container)?.exitCode);
    const exitCode = exits.find((code) => code !== undefined);
    const podNames = unique(crashing.map((finding) => finding.pod));
    if (exitCode === 0) {
      return toDiagnosis({
        reason: 'CrashLoopBackOff',
        summary:
          'The pods keep restarting (CrashLoopBackOff): the container does its work, exits, and Kubernetes starts it again.',
        explanation:
          'A Deployment keeps a number of copies of a process *running*. Your container printed its output and ended ' +
          '(exit code 0). That is fine with `docker run`, but the Deployment sees a stopped container, restarts it, ' +
          'and waits a little longer before each new restart.',
        hint:
          'Use a long-running process (a server, or a loop such as `while true; do echo hello; sleep 5; done`); ' +
          'for a task that should run once and finish, a Job is the right object.',
        pods: podNames,
      });
    }
    return toDiagnosis({
      reason: 'CrashLoopBackOff',
      summary: `The pods keep restarting (CrashLoopBackOff): the container fails with exit code ${exitCode ?? 'unknown'}.`,
      explanation:
        'The process in the container stops with an error, and the Deployment keeps restarting it, waiting a little ' +
        'longer before each restart.',
      hint: `Read what it printed before failing: \`/lab kubectl logs ${podNames[0] ?? '<pod>'}\`.`,
      pods: podNames,
    });
  }

  const pulling = containers.filter((finding) => imagePullReasons.has(finding.container.state?.waiting?.reason ?? ''));
  if (pulling.length > 0) {
    const images = unique(pulling.map((finding) => finding.image)).join(', ');
    const reason = pulling[0]?.container.state?.waiting?.reason ?? 'ImagePullBackOff';
    return toDiagnosis({
      reason: 'ImagePullBackOff',
      summary: `Kubernetes cannot get the image ${images} (${reason}).`,
      explanation:
        'Before a container can start, its node must have the image. This one is neither on the node nor in a ' +
        'registry the cluster can reach: the name or tag may be wrong, or the image was never built or pushed.',
      hint: 'Check the image name and tag in the Deployment, and that the build step finished.',
      pods: unique(pulling.map((finding) => finding.pod)),
    });
  }

  const notStarting = containers.filter((finding) => {
    const waiting = finding.container.state?.waiting?.reason ?? '';
    const terminated = finding.container.state?.terminated;
    return startFailureReasons.has(waiting) || (terminated !== undefined && terminated.exitCode !== 0);
  });
  if (notStarting.length > 0) {
    const container = notStarting[0]?.container;
    const message =
      container?.state?.waiting?.message ??
      container?.state?.terminated?.message ??
      (container?.state?.terminated ? `exit code ${container.state.terminated.exitCode}` : '');
    return toDiagnosis({
      reason: 'ContainerError',
      summary: `The container could not run: ${oneLine(message) || (container?.state?.waiting?.reason ?? 'it stopped with an error')}.`,
      explanation: 'Kubernetes created the pod, but its container failed to start or stopped with an error.',
      hint: `Look at the details with \`/lab kubectl describe pod ${notStarting[0]?.pod ?? '<pod>'}\` and its logs.`,
      pods: unique(notStarting.map((finding) => finding.pod)),
    });
  }

  const now = (options.now ?? new Date()).getTime();
  const recentMs = options.recentMs ?? 120_000;
  const recent = events.filter((event) => {
    const time = eventTime(event);
    return time === undefined || now - time <= recentMs;
  });
  const podSecurity = recent.find((event) => /violates PodSecurity/i.test(event.message ?? ''));
  if (podSecurity) {
    return toDiagnosis({
      reason: 'PodSecurity',
      summary: 'Kubernetes refused to create the pods: they break the namespace\'s Pod Security rules ("restricted").',
      explanation:
        `Lab namespaces only accept pods that run as a non-root user, cannot gain privileges and drop all Linux ` +
        `capabilities. The refusal said: ${oneLine(podSecurity.message)}`,
      hint: 'Remove privileged settings (root user, privileged, host paths or host ports) from the pod template.',
      pods: [],
    });
  }
  const quota = recent.find((event) => /exceeded quota/i.test(event.message ?? ''));
  if (quota) {
    const pending = live.filter((pod) => pod.status?.phase === 'Pending').map((pod) => pod.metadata?.name ?? '');
    return toDiagnosis({
      reason: 'PendingQuota',
      summary: 'Some pods could not be created: the lab has used up its resource quota.',
      explanation:
        'Each lab namespace has a quota (how many pods, how much CPU and memory). Kubernetes refuses new pods ' +
        `above it, so the Deployment stays short of its replicas. Kubernetes said: ${oneLine(quota.message)}`,
      hint: 'Ask for fewer replicas (for example `/lab kubectl scale deployment/<name> --replicas=3`).',
      pods: unique(pending),
    });
  }

  const unschedulable = live.filter((pod) =>
    (pod.status?.conditions ?? []).some(
      (condition) =>
        condition.type === 'PodScheduled' && condition.status === 'False' && condition.reason === 'Unschedulable',
    ),
  );
  const schedulingEvent = recent.find((event) => event.reason === 'FailedScheduling');
  if (unschedulable.length > 0 || (schedulingEvent && live.some((pod) => pod.status?.phase === 'Pending'))) {
    const message =
      unschedulable[0]?.status?.conditions?.find((condition) => condition.type === 'PodScheduled')?.message ??
      schedulingEvent?.message;
    const waiting = unique(unschedulable.map((pod) => pod.metadata?.name ?? ''));
    // Every node runs as many pods as it may (its max-pods): the scheduler's "Too many pods".
    if (/Too many pods/i.test(message ?? '')) {
      return toDiagnosis({
        reason: 'ClusterFull',
        summary: 'The cluster is full: no node has room for your pods, so they wait (Pending).',
        explanation:
          'Each node runs at most a set number of pods, and every node has that many now. Your pods start by ' +
          `themselves as soon as other labs end and free some room. Kubernetes said: ${oneLine(message)}`,
        hint: 'Nothing to fix in your lab: wait a little, or ask your instructor (the cluster needs more nodes).',
        pods: waiting,
      });
    }
    return toDiagnosis({
      reason: 'PendingResources',
      summary: 'The pods are Pending: no node has room for them.',
      explanation:
        'The scheduler looks for a node with enough free CPU and memory for what each pod requests. None has ' +
        `enough right now. ${oneLine(message)}`.trim(),
      hint: 'Wait a minute for other labs to finish, or run fewer replicas.',
      pods: unique(unschedulable.map((pod) => pod.metadata?.name ?? '')),
    });
  }
  return undefined;
}
