import type { CoreV1Event, V1Deployment, V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { isoTime, podStatusText, podSummary } from './pod-summary.js';

/** kubectl's age column: 45s, 5m3s, 45m, 3h5m, 26h, 3d4h, 12d. */
export function humanAge(milliseconds: number): string {
  const seconds = Math.max(0, Math.floor(milliseconds / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  const days = Math.floor(hours / 24);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (hours < 3) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return `${days}d`;
}

/** Columns padded like kubectl's: each as wide as its widest cell, three spaces between. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function ageOf(value: unknown, now: Date): string {
  const iso = isoTime(value);
  return iso ? humanAge(now.getTime() - Date.parse(iso)) : '<unknown>';
}

export function formatPodTable(pods: readonly V1Pod[], now: Date, namePrefix = ''): string {
  if (pods.length === 0) return 'No resources found.';
  const rows = pods.map((pod) => {
    const summary = podSummary(pod);
    return [
      `${namePrefix}${summary.name}`,
      `${summary.readyContainers}/${summary.totalContainers}`,
      podStatusText(pod),
      String(summary.restarts),
      ageOf(pod.metadata?.creationTimestamp, now),
    ];
  });
  return formatTable(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'], rows);
}

export function formatDeploymentTable(deployments: readonly V1Deployment[], now: Date, namePrefix = ''): string {
  if (deployments.length === 0) return 'No resources found.';
  const rows = deployments.map((deployment) => [
    `${namePrefix}${deployment.metadata?.name ?? ''}`,
    `${deployment.status?.readyReplicas ?? 0}/${deployment.spec?.replicas ?? 1}`,
    String(deployment.status?.updatedReplicas ?? 0),
    String(deployment.status?.availableReplicas ?? 0),
    ageOf(deployment.metadata?.creationTimestamp, now),
  ]);
  return formatTable(['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE'], rows);
}

export function formatReplicaSetTable(replicaSets: readonly V1ReplicaSet[], now: Date, namePrefix = ''): string {
  if (replicaSets.length === 0) return 'No resources found.';
  const rows = replicaSets.map((replicaSet) => [
    `${namePrefix}${replicaSet.metadata?.name ?? ''}`,
    String(replicaSet.spec?.replicas ?? 0),
    String(replicaSet.status?.replicas ?? 0),
    String(replicaSet.status?.readyReplicas ?? 0),
    ageOf(replicaSet.metadata?.creationTimestamp, now),
  ]);
  return formatTable(['NAME', 'DESIRED', 'CURRENT', 'READY', 'AGE'], rows);
}

function eventTimestamp(event: CoreV1Event): number {
  const iso = isoTime(event.lastTimestamp) ?? isoTime(event.eventTime) ?? isoTime(event.firstTimestamp);
  return iso ? Date.parse(iso) : 0;
}

/** Events, oldest first (like kubectl), at most `limit` of the newest. */
export function formatEventTable(events: readonly CoreV1Event[], now: Date, limit = 30): string {
  if (events.length === 0) return 'No resources found.';
  const sorted = [...events].sort((a, b) => eventTimestamp(a) - eventTimestamp(b)).slice(-limit);
  const rows = sorted.map((event) => {
    const time = eventTimestamp(event);
    return [
      time ? humanAge(now.getTime() - time) : '<unknown>',
      event.type ?? '',
      event.reason ?? '',
      `${(event.involvedObject.kind ?? '').toLowerCase()}/${event.involvedObject.name ?? ''}`,
      (event.message ?? '').replace(/\s+/g, ' ').trim(),
    ];
  });
  return formatTable(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'], rows);
}

function eventLines(events: readonly CoreV1Event[], now: Date): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  return [
    'Events:',
    ...formatEventTable(events, now, 10)
      .split('\n')
      .map((line) => `  ${line}`),
  ];
}

/** `kubectl describe pod`, shortened to what a learner needs. */
export function describePod(pod: V1Pod, events: readonly CoreV1Event[], now: Date): string {
  const summary = podSummary(pod);
  const lines = [
    `Name:         ${summary.name}`,
    `Namespace:    ${pod.metadata?.namespace ?? ''}`,
    `Node:         ${pod.spec?.nodeName ?? '<none>'}`,
    `Status:       ${podStatusText(pod)}`,
    `Ready:        ${summary.readyContainers}/${summary.totalContainers}`,
    `Restarts:     ${summary.restarts}`,
    `Age:          ${ageOf(pod.metadata?.creationTimestamp, now)}`,
    'Containers:',
  ];
  for (const container of pod.spec?.containers ?? []) {
    const status = pod.status?.containerStatuses?.find((candidate) => candidate.name === container.name);
    lines.push(`  ${container.name}:`, `    Image:        ${container.image ?? ''}`);
    const state = status?.state;
    if (state?.running) lines.push(`    State:        Running (since ${isoTime(state.running.startedAt) ?? '?'})`);
    else if (state?.waiting) lines.push(`    State:        Waiting (${state.waiting.reason ?? ''})`);
    else if (state?.terminated) {
      lines.push(
        `    State:        Terminated (${state.terminated.reason ?? ''}, exit code ${state.terminated.exitCode})`,
      );
    } else lines.push('    State:        <unknown>');
    const last = status?.lastState?.terminated;
    if (last) lines.push(`    Last State:   Terminated (${last.reason ?? ''}, exit code ${last.exitCode})`);
    if (state?.waiting?.message) lines.push(`    Message:      ${state.waiting.message.replace(/\s+/g, ' ')}`);
    const limits = container.resources?.limits;
    if (limits) {
      lines.push(
        `    Limits:       ${Object.entries(limits)
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(' ')}`,
      );
    }
  }
  lines.push(...eventLines(events, now));
  return lines.join('\n');
}

/** `kubectl describe deployment`, shortened. */
export function describeDeployment(deployment: V1Deployment, events: readonly CoreV1Event[], now: Date): string {
  const status = deployment.status;
  const desired = deployment.spec?.replicas ?? 1;
  const images = (deployment.spec?.template.spec?.containers ?? []).map((container) => container.image ?? '');
  const selector = Object.entries(deployment.spec?.selector.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
  const lines = [
    `Name:         ${deployment.metadata?.name ?? ''}`,
    `Namespace:    ${deployment.metadata?.namespace ?? ''}`,
    `Age:          ${ageOf(deployment.metadata?.creationTimestamp, now)}`,
    `Selector:     ${selector}`,
    `Replicas:     ${desired} desired | ${status?.updatedReplicas ?? 0} updated | ${status?.replicas ?? 0} total | ${status?.availableReplicas ?? 0} available | ${status?.unavailableReplicas ?? 0} unavailable`,
    `Strategy:     ${deployment.spec?.strategy?.type ?? 'RollingUpdate'}`,
    `Image:        ${images.join(', ')}`,
  ];
  const conditions = status?.conditions ?? [];
  if (conditions.length > 0) {
    lines.push('Conditions:');
    for (const condition of conditions) {
      lines.push(`  ${condition.type.padEnd(16)} ${condition.status.padEnd(6)} ${condition.reason ?? ''}`.trimEnd());
    }
  }
  lines.push(...eventLines(events, now));
  return lines.join('\n');
}
