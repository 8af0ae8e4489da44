import type { ChatButton, ChatMessage, MessageBlock, Tone } from '@labbot/chat';
import {
  awaitsContainerOutput,
  isPodPhase,
  isTearingDown,
  type LabPhase,
  type LabRecord,
  type PodSummary,
  progressOf,
} from '@labbot/core';
import type { Lesson } from '@labbot/lessons';

/** Human age like kubectl's: 45s, 3m, 2h, 4d. */
export function age(startedAt: string | undefined, now: Date): string {
  if (!startedAt) return '-';
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(startedAt)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

/** The STATUS column of `kubectl get pods`: the waiting/terminated reason when there is one. */
export function podStatus(pod: PodSummary): string {
  return pod.reason ?? pod.phase;
}

export function podRows(pods: PodSummary[], now: Date): string[][] {
  return [...pods]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((pod) => [
      pod.name,
      `${pod.readyContainers}/${pod.totalContainers}`,
      podStatus(pod),
      String(pod.restarts),
      age(pod.startedAt, now),
    ]);
}

type StepState = 'done' | 'active' | 'todo' | 'failed';
const MARK: Record<StepState, string> = { done: '✅', active: '⏳', todo: '▫️', failed: '❌' };

const TONE: Record<LabPhase, Tone> = {
  pending: 'progress',
  provisioning: 'progress',
  building: 'progress',
  'running-once': 'progress',
  deploying: 'progress',
  'waiting-for-pods': 'progress',
  ready: 'success',
  degraded: 'warning',
  failed: 'error',
  stopping: 'progress',
  stopped: 'info',
};

const HEADLINE: Record<LabPhase, string> = {
  pending: 'queued',
  provisioning: 'preparing your namespace',
  building: 'building the image',
  'running-once': 'running one container with Docker',
  deploying: 'applying the Deployment',
  'waiting-for-pods': 'waiting for the pods',
  ready: 'ready',
  degraded: 'needs attention',
  failed: 'failed',
  stopping: 'stopping',
  stopped: 'stopped',
};

/** Which lesson step text belongs to the lab's progress (the step shown at the latest moment reached). */
function lessonStep(lesson: Lesson | undefined, record: LabRecord): { title: string; text: string } | undefined {
  if (!lesson) return undefined;
  const { phase, containerOutput, diagnosis } = record.observed;
  const reached = new Set<string>(['start']);
  if (record.observed.imageTag) reached.add('image-ready');
  if (containerOutput !== undefined) reached.add('container-output');
  if (isPodPhase(phase)) reached.add('deployment-applied');
  if (phase === 'ready') reached.add('ready');
  if (diagnosis) reached.add('diagnosis');
  const shown = lesson.spec.steps.filter((step) => reached.has(step.shownAt ?? 'start'));
  return shown.at(-1);
}

export interface StatusViewOptions {
  now: Date;
  lesson?: Lesson;
}

/**
 * The Docker step's line. The Kubernetes step does not wait for it: while the container's output is not in, the line
 * is in progress whatever the pods do (a lab can be ready with it still running), and the output comes in the same
 * message when it ends.
 */
function containerLine(state: StepState): string {
  return `${MARK[state]} One container run with Docker${state === 'active' ? ': running…' : ''}`;
}

/** The one status message of a lab's thread, edited as the lab moves on. Rendered from the lab record only. */
export function renderStatus(record: LabRecord, options: StatusViewOptions): ChatMessage {
  const { observed } = record;
  const phase = observed.phase;
  const failedStep = phase === 'failed' ? observed.error?.step : undefined;
  const position = progressOf(phase);
  const stateOf = (stepPhase: LabPhase, stepName: string, done: boolean): StepState => {
    if (failedStep === stepName) return 'failed';
    if (done) return 'done';
    if (phase === stepPhase) return 'active';
    return 'todo';
  };
  const desired = observed.desiredReplicas ?? options.lesson?.spec.deployment.replicas ?? 0;
  const ready = observed.pods.filter((pod) => pod.ready).length;
  const lines = [
    `${MARK[stateOf('provisioning', 'namespace', position > progressOf('provisioning'))]} Namespace \`${record.namespace}\` (sandboxed: quota, network policy, restricted pods)`,
    `${MARK[stateOf('building', 'build', observed.imageTag !== undefined)]} Image ${observed.imageTag ? `\`${observed.imageTag}\`${observed.imageCached ? ' (already built, reused)' : ' built'}` : 'build'}`,
    // A failed or torn-down lab awaits nothing: its line says what stateOf says.
    containerLine(
      awaitsContainerOutput(observed)
        ? 'active'
        : stateOf('running-once', 'run-once', observed.containerOutput !== undefined),
    ),
    `${MARK[stateOf('deploying', 'deploy', position > progressOf('deploying'))]} Deployment with ${desired || 'N'} replicas applied`,
    `${MARK[phase === 'ready' ? 'done' : phase === 'degraded' ? 'failed' : stateOf('waiting-for-pods', 'pods', false)]} Pods ready: ${ready}/${desired || '?'}`,
  ];
  const stopping = isTearingDown(phase);
  const blocks: MessageBlock[] = [{ kind: 'text', text: stopping ? `Lab ${HEADLINE[phase]}.` : lines.join('\n') }];
  if (!stopping) {
    if (observed.buildLog?.length && (phase === 'building' || failedStep === 'build')) {
      blocks.push({ kind: 'code', title: 'Build log (last lines)', text: observed.buildLog.join('\n') });
    }
    if (observed.containerOutput !== undefined) {
      blocks.push({
        kind: 'code',
        title: 'Output of the container',
        text: observed.containerOutput.trimEnd() || '(no output)',
      });
    }
    if (observed.pods.length > 0) {
      blocks.push({
        kind: 'table',
        columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
        rows: podRows(observed.pods, options.now),
      });
    }
    if (observed.diagnosis) {
      blocks.push({
        kind: 'text',
        text: `⚠️ ${observed.diagnosis.reason}: ${observed.diagnosis.summary}\n💡 ${observed.diagnosis.hint}`,
      });
    }
    if (observed.error)
      blocks.push({ kind: 'text', text: `❌ ${observed.error.message}\nFix what it says, then \`/lab reset\`.` });
    const step = lessonStep(options.lesson, record);
    if (step) blocks.push({ kind: 'text', text: `📘 ${step.title}\n${step.text.trim()}` });
  }
  const minutesLeft = Math.round((Date.parse(record.expiresAt) - options.now.getTime()) / 60_000);
  if (!stopping) {
    blocks.push({
      kind: 'context',
      text: `Lab ${record.labId} · expires in ${Math.max(0, minutesLeft)} min · /lab check · /lab kubectl get pods`,
    });
  }
  const buttons: ChatButton[] = stopping
    ? []
    : [
        { action: 'check', target: record.labId, label: 'Check', style: 'primary' },
        { action: 'status', target: record.labId, label: 'Status', style: 'secondary' },
        { action: 'reset', target: record.labId, label: 'Reset', style: 'secondary' },
        { action: 'stop', target: record.labId, label: 'Stop', style: 'danger' },
        // In a class: raise a hand (the instructor is told and comes to this thread).
        ...(record.classId
          ? [{ action: 'help' as const, target: record.labId, label: 'Need help', style: 'secondary' as const }]
          : []),
      ];
  const lessonName = options.lesson?.spec.title ?? record.lessonId;
  return {
    title: `${lessonName}${record.variant ? ` (${record.variant})` : ''} · ${HEADLINE[phase]}`,
    tone: TONE[phase],
    blocks,
    ...(buttons.length ? { buttons } : {}),
  };
}
