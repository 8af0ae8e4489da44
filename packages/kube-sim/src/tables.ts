import type { ResourceType } from './resources.js';
import { isObject, type JsonObject, type KubeObject } from './types.js';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  cell: (object: KubeObject) => unknown;
}

/** `5s`, `3m12s`, `2d4h` as the API server prints ages. */
export function humanAge(timestamp: unknown, now = Date.now()): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  return `${days}d${hours % 24 ? `${hours % 24}h` : ''}`;
}

const nameColumn: Column = { name: 'Name', type: 'string', format: 'name', cell: (o) => o.metadata.name };
const ageColumn: Column = { name: 'Age', type: 'string', cell: (o) => humanAge(o.metadata.creationTimestamp) };

function containerStatuses(pod: KubeObject): JsonObject[] {
  const statuses = pod.status?.containerStatuses;
  return Array.isArray(statuses) ? statuses.filter(isObject) : [];
}

/** The pod STATUS column, following kubectl's printer: waiting/terminated reasons win over the phase. */
export function podStatusText(pod: KubeObject): string {
  let reason = String(pod.status?.reason ?? pod.status?.phase ?? 'Pending');
  for (const status of containerStatuses(pod)) {
    const state = isObject(status.state) ? status.state : {};
    if (isObject(state.waiting) && state.waiting.reason) reason = String(state.waiting.reason);
    else if (isObject(state.terminated)) {
      const terminated = state.terminated;
      reason = terminated.reason
        ? String(terminated.reason)
        : terminated.signal
          ? `Signal:${String(terminated.signal)}`
          : `ExitCode:${String(terminated.exitCode)}`;
    }
  }
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return reason;
}

const podColumns: Column[] = [
  nameColumn,
  {
    name: 'Ready',
    type: 'string',
    cell: (pod) => {
      const statuses = containerStatuses(pod);
      const total =
        isObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers.length : statuses.length;
      return `${statuses.filter((s) => s.ready === true).length}/${total}`;
    },
  },
  { name: 'Status', type: 'string', cell: podStatusText },
  {
    name: 'Restarts',
    type: 'string',
    cell: (pod) => String(containerStatuses(pod).reduce((sum, s) => sum + Number(s.restartCount ?? 0), 0)),
  },
  ageColumn,
  { name: 'IP', type: 'string', priority: 1, cell: (pod) => pod.status?.podIP ?? '<none>' },
  { name: 'Node', type: 'string', priority: 1, cell: (pod) => pod.spec?.nodeName ?? '<none>' },
];

const deploymentColumns: Column[] = [
  nameColumn,
  {
    name: 'Ready',
    type: 'string',
    cell: (d) => `${Number(d.status?.readyReplicas ?? 0)}/${Number(d.spec?.replicas ?? 0)}`,
  },
  { name: 'Up-to-date', type: 'integer', cell: (d) => Number(d.status?.updatedReplicas ?? 0) },
  { name: 'Available', type: 'integer', cell: (d) => Number(d.status?.availableReplicas ?? 0) },
  ageColumn,
];

const replicaSetColumns: Column[] = [
  nameColumn,
  { name: 'Desired', type: 'integer', cell: (r) => Number(r.spec?.replicas ?? 0) },
  { name: 'Current', type: 'integer', cell: (r) => Number(r.status?.replicas ?? 0) },
  { name: 'Ready', type: 'integer', cell: (r) => Number(r.status?.readyReplicas ?? 0) },
  ageColumn,
];

const namespaceColumns: Column[] = [
  nameColumn,
  { name: 'Status', type: 'string', cell: (n) => n.status?.phase ?? 'Active' },
  ageColumn,
];

const serviceColumns: Column[] = [
  nameColumn,
  { name: 'Type', type: 'string', cell: (s) => s.spec?.type ?? 'ClusterIP' },
  { name: 'Cluster-IP', type: 'string', cell: (s) => s.spec?.clusterIP ?? '<none>' },
  { name: 'External-IP', type: 'string', cell: () => '<none>' },
  {
    name: 'Port(s)',
    type: 'string',
    cell: (s) =>
      (Array.isArray(s.spec?.ports) ? s.spec.ports.filter(isObject) : [])
        .map((p) => `${String(p.port)}${p.nodePort ? `:${String(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`)
        .join(',') || '<none>',
  },
  ageColumn,
];

const eventColumns: Column[] = [
  { name: 'Last Seen', type: 'string', cell: (e) => humanAge(e.lastTimestamp) },
  { name: 'Type', type: 'string', cell: (e) => e.type },
  { name: 'Reason', type: 'string', cell: (e) => e.reason },
  {
    name: 'Object',
    type: 'string',
    cell: (e) =>
      isObject(e.involvedObject)
        ? `${String(e.involvedObject.kind).toLowerCase()}/${String(e.involvedObject.name)}`
        : '',
  },
  { name: 'Message', type: 'string', cell: (e) => e.message },
];

const nodeColumns: Column[] = [
  nameColumn,
  { name: 'Status', type: 'string', cell: () => 'Ready' },
  { name: 'Roles', type: 'string', cell: () => 'control-plane' },
  ageColumn,
  { name: 'Version', type: 'string', cell: () => 'v1.32.0-kube-sim' },
];

function columnsFor(resource: ResourceType): Column[] {
  switch (resource.plural) {
    case 'pods':
      return podColumns;
    case 'deployments':
      return deploymentColumns;
    case 'replicasets':
      return replicaSetColumns;
    case 'namespaces':
      return namespaceColumns;
    case 'services':
      return serviceColumns;
    case 'events':
      return eventColumns;
    case 'nodes':
      return nodeColumns;
    default:
      return [nameColumn, ageColumn];
  }
}

/** A `meta.k8s.io/v1` Table, as kubectl asks for with `Accept: application/json;as=Table`. */
export function toTable(
  resource: ResourceType,
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string | null,
) {
  const columns = columnsFor(resource);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.name,
      priority: c.priority ?? 0,
    })),
    rows: objects.map((object) => ({
      cells: columns.map((c) => c.cell(object) ?? ''),
      object:
        includeObject === 'Object'
          ? object
          : includeObject === 'None'
            ? undefined
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
