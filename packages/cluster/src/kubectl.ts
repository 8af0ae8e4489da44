import {
  type AppsV1Api,
  type CoreV1Api,
  type CoreV1Event,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { httpStatusOf, toClusterError } from './cluster-errors.js';
import {
  describeDeployment,
  describePod,
  formatDeploymentTable,
  formatEventTable,
  formatPodTable,
  formatReplicaSetTable,
  formatTable,
  humanAge,
} from './kubectl-format.js';
import { isoTime } from './pod-summary.js';
import { rolloutHistory, rolloutUndo } from './rollout.js';
import type { KubectlCommand } from './types.js';

/** What a kubectl command printed; `ok: false` is what kubectl would print on stderr (e.g. NotFound). */
export interface KubectlResult {
  ok: boolean;
  text: string;
}

export interface KubectlContext {
  core: CoreV1Api;
  apps: AppsV1Api;
  namespace: string;
  now: () => Date;
  /** Default lines of `logs` without --tail. */
  defaultLogTail?: number;
  /** Longest `rollout status` waits. Default 60 s. */
  rolloutTimeoutMs?: number;
  rolloutPollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

const LOG_LIMIT_BYTES = 64 * 1024;
const plural: Record<string, string> = { pod: 'pods', deployment: 'deployments.apps', replicaset: 'replicasets.apps' };

function notFound(kind: string, name: string): KubectlResult {
  return { ok: false, text: `Error from server (NotFound): ${plural[kind] ?? kind} "${name}" not found` };
}

async function orNotFound<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (httpStatusOf(error) === 404) return undefined;
    throw error;
  }
}

function eventsAbout(events: readonly CoreV1Event[], names: readonly string[]): CoreV1Event[] {
  return events.filter((event) => names.includes(event.involvedObject.name ?? ''));
}

function formatServiceTable(services: readonly V1Service[], now: Date, namePrefix = ''): string {
  if (services.length === 0) return 'No resources found.';
  const rows = services.map((service) => {
    const created = isoTime(service.metadata?.creationTimestamp);
    const ports = (service.spec?.ports ?? [])
      .map((port) => `${port.port}${port.nodePort ? `:${port.nodePort}` : ''}/${port.protocol ?? 'TCP'}`)
      .join(',');
    return [
      `${namePrefix}${service.metadata?.name ?? ''}`,
      service.spec?.type ?? 'ClusterIP',
      service.spec?.clusterIP ?? '<none>',
      '<none>',
      ports || '<none>',
      created ? humanAge(now.getTime() - Date.parse(created)) : '<unknown>',
    ];
  });
  return formatTable(['NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'], rows);
}

function addWidePodColumns(table: string, pods: readonly V1Pod[]): string {
  const rows = table.split('\n');
  const widths = [2, ...pods.map((pod) => (pod.status?.podIP ?? '<none>').length)];
  const width = Math.max(...widths);
  return rows
    .map((row, index) => {
      if (index === 0)
        return `${row.padEnd(Math.max(...rows.map((line) => line.length)))}   ${'IP'.padEnd(width)}   NODE`;
      const pod = pods[index - 1];
      return `${row.padEnd(Math.max(...rows.map((line) => line.length)))}   ${(pod?.status?.podIP ?? '<none>').padEnd(width)}   ${pod?.spec?.nodeName ?? '<none>'}`;
    })
    .join('\n');
}

function sortByName<T extends { metadata?: { name?: string } }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}

async function runGet(context: KubectlContext, command: Extract<KubectlCommand, { verb: 'get' }>) {
  const { core, apps, namespace } = context;
  const now = context.now();
  const fieldSelector = command.name ? `metadata.name=${command.name}` : undefined;
  const single = (kind: string, count: number): KubectlResult | undefined =>
    command.name && count === 0 ? notFound(kind, command.name) : undefined;
  switch (command.resource) {
    case 'pods': {
      const pods = sortByName((await core.listNamespacedPod({ namespace, fieldSelector })).items);
      const table = formatPodTable(pods, now);
      return single('pod', pods.length) ?? { ok: true, text: command.wide ? addWidePodColumns(table, pods) : table };
    }
    case 'deployments': {
      const items = sortByName((await apps.listNamespacedDeployment({ namespace, fieldSelector })).items);
      return single('deployment', items.length) ?? { ok: true, text: formatDeploymentTable(items, now) };
    }
    case 'replicasets': {
      const items = sortByName((await apps.listNamespacedReplicaSet({ namespace, fieldSelector })).items);
      return single('replicaset', items.length) ?? { ok: true, text: formatReplicaSetTable(items, now) };
    }
    case 'services': {
      const items = sortByName((await core.listNamespacedService({ namespace, fieldSelector })).items);
      return single('service', items.length) ?? { ok: true, text: formatServiceTable(items, now) };
    }
    case 'events': {
      const items = (await core.listNamespacedEvent({ namespace })).items;
      const chosen = command.name ? eventsAbout(items, [command.name]) : items;
      return { ok: true, text: formatEventTable(chosen, now) };
    }
    case 'all': {
      const [pods, services, deployments, replicaSets] = await Promise.all([
        core.listNamespacedPod({ namespace }),
        core.listNamespacedService({ namespace }),
        apps.listNamespacedDeployment({ namespace }),
        apps.listNamespacedReplicaSet({ namespace }),
      ]);
      const sections = [
        pods.items.length ? formatPodTable(sortByName(pods.items), now, 'pod/') : '',
        services.items.length ? formatServiceTable(sortByName(services.items), now, 'service/') : '',
        deployments.items.length ? formatDeploymentTable(sortByName(deployments.items), now, 'deployment.apps/') : '',
        replicaSets.items.length ? formatReplicaSetTable(sortByName(replicaSets.items), now, 'replicaset.apps/') : '',
      ].filter(Boolean);
      return { ok: true, text: sections.length ? sections.join('\n\n') : 'No resources found.' };
    }
  }
}

/** kubectl's rollout status message for a deployment, and whether the rollout is done. */
export function rolloutStatus(deployment: V1Deployment): { done: boolean; message: string } {
  const name = deployment.metadata?.name ?? '';
  const status = deployment.status ?? {};
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if ((deployment.metadata?.generation ?? 0) > (status.observedGeneration ?? 0)) {
    return { done: false, message: 'Waiting for deployment spec update to be observed...' };
  }
  if (updated < desired) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${desired} new replicas have been updated...`,
    };
  }
  if ((status.replicas ?? 0) > updated) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${(status.replicas ?? 0) - updated} old replicas are pending termination...`,
    };
  }
  if (available < updated) {
    return {
      done: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...`,
    };
  }
  return { done: true, message: `deployment "${name}" successfully rolled out` };
}

async function runRolloutStatus(context: KubectlContext, name: string): Promise<KubectlResult> {
  const timeoutMs = Math.min(context.rolloutTimeoutMs ?? 60_000, 300_000);
  const pollMs = context.rolloutPollMs ?? 1000;
  const sleep = context.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + timeoutMs;
  const lines: string[] = [];
  const maxPolls = Math.ceil(timeoutMs / Math.max(pollMs, 10)) + 1;
  for (let poll = 0; poll < maxPolls; poll++) {
    const deployment = await orNotFound(() =>
      context.apps.readNamespacedDeployment({ name, namespace: context.namespace }),
    );
    if (!deployment) return notFound('deployment', name);
    const { done, message } = rolloutStatus(deployment);
    if (lines.at(-1) !== message) lines.push(message);
    if (done) return { ok: true, text: lines.join('\n') };
    if (Date.now() + pollMs > deadline) break;
    await sleep(pollMs);
  }
  lines.push('error: timed out waiting for the condition');
  return { ok: false, text: lines.join('\n') };
}

/** Runs one allowed kubectl command in the lab's namespace (and nowhere else). */
export async function runKubectl(context: KubectlContext, command: KubectlCommand): Promise<KubectlResult> {
  const { core, apps, namespace } = context;
  try {
    switch (command.verb) {
      case 'get':
        return await runGet(context, command);
      case 'describe': {
        const now = context.now();
        if (command.resource === 'pod') {
          const pod = await orNotFound(() => core.readNamespacedPod({ name: command.name, namespace }));
          if (!pod) return notFound('pod', command.name);
          const events = (await core.listNamespacedEvent({ namespace })).items;
          return { ok: true, text: describePod(pod, eventsAbout(events, [command.name]), now) };
        }
        const deployment = await orNotFound(() => apps.readNamespacedDeployment({ name: command.name, namespace }));
        if (!deployment) return notFound('deployment', command.name);
        const [events, replicaSets] = await Promise.all([
          core.listNamespacedEvent({ namespace }),
          apps.listNamespacedReplicaSet({ namespace }),
        ]);
        const owned = replicaSets.items
          .filter((replicaSet) => replicaSet.metadata?.ownerReferences?.some((owner) => owner.name === command.name))
          .map((replicaSet) => replicaSet.metadata?.name ?? '');
        return {
          ok: true,
          text: describeDeployment(deployment, eventsAbout(events.items, [command.name, ...owned]), now),
        };
      }
      case 'logs': {
        const pod = await orNotFound(() => core.readNamespacedPod({ name: command.pod, namespace }));
        if (!pod) return notFound('pod', command.pod);
        const text = await core.readNamespacedPodLog({
          name: command.pod,
          namespace,
          tailLines: command.tail ?? context.defaultLogTail ?? 100,
          limitBytes: LOG_LIMIT_BYTES,
          previous: command.previous || undefined,
        });
        return { ok: true, text: typeof text === 'string' ? text : String(text ?? '') };
      }
      case 'scale': {
        const scaled = await orNotFound(() =>
          apps.patchNamespacedDeploymentScale(
            { name: command.deployment, namespace, body: { spec: { replicas: command.replicas } } },
            setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
          ),
        );
        if (!scaled) return notFound('deployment', command.deployment);
        return { ok: true, text: `deployment.apps/${command.deployment} scaled` };
      }
      case 'delete': {
        const deleted = await orNotFound(() => core.deleteNamespacedPod({ name: command.name, namespace }));
        if (!deleted) return notFound('pod', command.name);
        return { ok: true, text: `pod "${command.name}" deleted` };
      }
      case 'rollout-status':
        return await runRolloutStatus(context, command.deployment);
      case 'rollout-history':
      case 'rollout-undo': {
        const deployment = await orNotFound(() =>
          apps.readNamespacedDeployment({ name: command.deployment, namespace }),
        );
        if (!deployment) return notFound('deployment', command.deployment);
        if (command.verb === 'rollout-history')
          return { ok: true, text: await rolloutHistory({ apps, namespace }, deployment) };
        return await rolloutUndo({ apps, namespace }, deployment, command.toRevision);
      }
      case 'apply':
        // A learner's manifest goes through the lab's policy first: the driver's applyLearnerManifest, never here.
        return { ok: false, text: 'error: use /lab apply for your own manifests' };
    }
  } catch (error) {
    throw toClusterError(error, `kubectl ${command.verb}`, { namespace });
  }
}
