import { isObject, type JsonObject, type KubeObject, nowIso } from './types.js';

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | {
      kind: 'terminated';
      exitCode: number;
      reason: string;
      startedAt?: string;
      finishedAt: string;
      containerID?: string;
      signal?: number;
    };

export interface ContainerRuntimeStatus {
  name: string;
  image: string;
  imageID?: string;
  containerID?: string;
  state: ContainerState;
  lastState?: ContainerState;
  restartCount: number;
}

function renderState(state: ContainerState | undefined): JsonObject {
  if (!state) return {};
  if (state.kind === 'waiting')
    return { waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } };
  if (state.kind === 'running') return { running: { startedAt: state.startedAt } };
  const { kind: _kind, ...terminated } = state;
  return { terminated };
}

function condition(type: string, status: boolean, reason?: string): JsonObject {
  return {
    type,
    status: status ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: nowIso(),
    ...(reason ? { reason } : {}),
  };
}

/** The pod status the kubelet reports for a set of container states, with phase and conditions. */
export function buildPodStatus(
  pod: KubeObject,
  containers: ContainerRuntimeStatus[],
  options: { podIP?: string; restartPolicy: string },
): JsonObject {
  const previous = isObject(pod.status) ? pod.status : {};
  const allRunning = containers.length > 0 && containers.every((c) => c.state.kind === 'running');
  const allTerminated = containers.length > 0 && containers.every((c) => c.state.kind === 'terminated');
  const anyFailed = containers.some((c) => c.state.kind === 'terminated' && c.state.exitCode !== 0);
  let phase = 'Pending';
  if (allTerminated && options.restartPolicy !== 'Always') phase = anyFailed ? 'Failed' : 'Succeeded';
  else if (containers.some((c) => c.state.kind === 'running' || c.restartCount > 0 || c.lastState)) phase = 'Running';
  const ready = allRunning;
  const keepTransition = (next: JsonObject): JsonObject => {
    const old = Array.isArray(previous.conditions)
      ? previous.conditions.filter(isObject).find((c) => c.type === next.type)
      : undefined;
    return old && old.status === next.status ? { ...next, lastTransitionTime: old.lastTransitionTime } : next;
  };
  const notReadyReason = ready
    ? undefined
    : phase === 'Succeeded' || phase === 'Failed'
      ? 'PodCompleted'
      : 'ContainersNotReady';
  return {
    phase,
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', true),
      condition('Ready', ready, notReadyReason),
      condition('ContainersReady', ready, notReadyReason),
      condition('PodScheduled', true),
    ].map(keepTransition),
    hostIP: '127.0.0.1',
    hostIPs: [{ ip: '127.0.0.1' }],
    ...(options.podIP ? { podIP: options.podIP, podIPs: [{ ip: options.podIP }] } : {}),
    startTime: previous.startTime ?? nowIso(),
    containerStatuses: containers.map((c) => ({
      name: c.name,
      state: renderState(c.state),
      lastState: renderState(c.lastState),
      ready: c.state.kind === 'running',
      restartCount: c.restartCount,
      image: c.image,
      imageID: c.imageID ?? '',
      ...(c.containerID ? { containerID: c.containerID } : {}),
      started: c.state.kind === 'running',
    })),
    qosClass: previous.qosClass ?? 'BestEffort',
  };
}

export function podContainers(pod: KubeObject): JsonObject[] {
  return isObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers.filter(isObject) : [];
}

export function podRef(pod: KubeObject): string {
  return `${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
}
