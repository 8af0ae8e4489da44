import { createHash } from 'node:crypto';
import { namespaceUsage } from './admission.js';
import type { KubeApi } from './api.js';
import { ApiError } from './api-error.js';
import { formatResource, parseQuantity } from './quantity.js';
import { resourceByKind, resourceTypes } from './resources.js';
import { labelSelectorFromSpec } from './selectors.js';
import { randomSuffix, type StoreEvent } from './store.js';
import { clone, isObject, type JsonObject, type KubeObject, nowIso } from './types.js';

const Namespace = resourceByKind('Namespace');
const Pod = resourceByKind('Pod');
const ReplicaSet = resourceByKind('ReplicaSet');
const Deployment = resourceByKind('Deployment');
const ServiceAccount = resourceByKind('ServiceAccount');
const ResourceQuota = resourceByKind('ResourceQuota');

export interface ControllerOptions {
  /** How long a deleted namespace stays Terminating before its contents are removed. */
  namespaceTerminationDelayMs?: number;
  /** Delay before a ReplicaSet retries a failed pod creation (quota, Pod Security). */
  createRetryMs?: number;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableStringify(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const safeAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** The `pod-template-hash`: a stable, name-safe digest of the pod template. */
export function podTemplateHash(template: unknown): string {
  const digest = createHash('sha256').update(stableStringify(template)).digest();
  let out = '';
  for (let i = 0; i < 10; i++) out += safeAlphabet[(digest[i] ?? 0) % safeAlphabet.length];
  return out;
}

function ownedBy(object: KubeObject, owner: KubeObject): boolean {
  return (
    object.metadata.ownerReferences?.some((ref) => ref.uid === owner.metadata.uid && ref.controller === true) ?? false
  );
}

function controllerOf(object: KubeObject): { kind: string; name: string } | undefined {
  const ref = object.metadata.ownerReferences?.find((r) => r.controller === true);
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

/** A pod's Ready condition when it is True. */
function readyCondition(pod: KubeObject): JsonObject | undefined {
  const conditions = Array.isArray(pod.status?.conditions) ? pod.status.conditions.filter(isObject) : [];
  return conditions.find((c) => c.type === 'Ready' && c.status === 'True');
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod) !== undefined;
}

/**
 * When a Ready pod becomes available (ms since the epoch): its Ready condition's last transition (whole seconds, as the
 * API server keeps it) plus `minReadySeconds`; it counts once that moment is before now, as the ReplicaSet
 * controller's IsPodAvailable has it.
 */
function availableAt(pod: KubeObject, minReadySeconds: number): number {
  const since = Date.parse(String(readyCondition(pod)?.lastTransitionTime ?? ''));
  return Number.isNaN(since) ? 0 : since + minReadySeconds * 1000;
}

function revisionOf(object: KubeObject): number {
  return Number(object.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
}

function setCondition(
  conditions: JsonObject[],
  type: string,
  status: string,
  reason: string,
  message: string,
): JsonObject[] {
  const now = nowIso();
  const existing = conditions.find((c) => c.type === type);
  const next: JsonObject = {
    type,
    status,
    lastUpdateTime:
      existing && existing.reason === reason && existing.message === message ? existing.lastUpdateTime : now,
    lastTransitionTime: existing && existing.status === status ? existing.lastTransitionTime : now,
    reason,
    message,
  };
  return [...conditions.filter((c) => c.type !== type), next];
}

/**
 * The controller manager: Namespace lifecycle and default ServiceAccounts, Deployment → ReplicaSet
 * → Pod, and ResourceQuota usage. It reacts to store events through a small de-duplicating queue.
 */
export class ControllerManager {
  private readonly queue = new Map<string, () => void>();
  private scheduled = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private stopped = false;
  private readonly terminationDelay: number;
  private readonly retryMs: number;
  /** Per ReplicaSet (namespace/name): when its next look at pods that become available is due. */
  private readonly availabilityChecks = new Map<string, number>();
  /** Per Deployment uid: the last progress seen (updated/available counts) and since when. */
  private readonly progress = new Map<string, { marker: string; since: number }>();

  constructor(
    private readonly api: KubeApi,
    options: ControllerOptions = {},
  ) {
    this.terminationDelay = options.namespaceTerminationDelayMs ?? 300;
    this.retryMs = options.createRetryMs ?? 2_000;
    this.unsubscribe = api.store.subscribe((event) => this.observe(event));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
  }

  private later(ms: number, run: () => void): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(timer);
  }

  private enqueue(key: string, work: () => void): void {
    if (this.stopped) return;
    this.queue.set(key, work);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = [...this.queue.values()];
      this.queue.clear();
      for (const run of batch) {
        try {
          run();
        } catch (error) {
          if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) {
            process.emitWarning(`kube-sim controller: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
      }
    });
  }

  private observe(event: StoreEvent): void {
    const { object, resource } = event;
    const namespace = object.metadata.namespace ?? '';
    const name = object.metadata.name ?? '';
    switch (resource.plural) {
      case 'namespaces':
        if (event.type === 'ADDED') this.enqueue(`sa/${name}`, () => this.ensureServiceAccount(name));
        if (event.type !== 'DELETED' && object.metadata.deletionTimestamp) {
          this.later(this.terminationDelay, () => this.enqueue(`ns/${name}`, () => this.finalizeNamespace(name, 0)));
        }
        break;
      case 'deployments':
        if (event.type !== 'DELETED')
          this.enqueue(`deploy/${namespace}/${name}`, () => this.syncDeployment(namespace, name));
        break;
      case 'replicasets': {
        if (event.type !== 'DELETED')
          this.enqueue(`rs/${namespace}/${name}`, () => this.syncReplicaSet(namespace, name));
        const owner = controllerOf(object);
        if (owner?.kind === 'Deployment')
          this.enqueue(`deploy/${namespace}/${owner.name}`, () => this.syncDeployment(namespace, owner.name));
        break;
      }
      case 'pods': {
        const owner = controllerOf(object);
        if (owner?.kind === 'ReplicaSet')
          this.enqueue(`rs/${namespace}/${owner.name}`, () => this.syncReplicaSet(namespace, owner.name));
        this.enqueue(`quota/${namespace}`, () => this.syncQuotas(namespace));
        break;
      }
      case 'services':
      case 'configmaps':
        this.enqueue(`quota/${namespace}`, () => this.syncQuotas(namespace));
        break;
      case 'resourcequotas':
        if (event.type !== 'DELETED') this.enqueue(`quota/${namespace}`, () => this.syncQuotas(namespace));
        for (const rs of this.api.store.listRaw(ReplicaSet, namespace)) {
          const rsName = rs.metadata.name ?? '';
          this.enqueue(`rs/${namespace}/${rsName}`, () => this.syncReplicaSet(namespace, rsName));
        }
        break;
      default:
    }
  }

  private ensureServiceAccount(namespace: string): void {
    const ns = this.api.store.get(Namespace, undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    if (this.api.store.get(ServiceAccount, namespace, 'default')) return;
    this.api.store.create(ServiceAccount, { metadata: { name: 'default', namespace } });
  }

  /** Removes everything in a Terminating namespace, waits for its pods to go, then removes it. */
  private finalizeNamespace(name: string, attempt: number): void {
    const { store } = this.api;
    const ns = store.get(Namespace, undefined, name);
    if (!ns?.metadata.deletionTimestamp) return;
    for (const resource of resourceTypes) {
      if (!resource.namespaced) continue;
      for (const object of store.listRaw(resource, name)) {
        if (resource.plural === 'pods') {
          if (!object.metadata.deletionTimestamp) this.api.delete(resource, name, object.metadata.name ?? '');
        } else store.remove(resource, name, object.metadata.name ?? '');
      }
    }
    if (store.listRaw(Pod, name).length > 0 && attempt < 600) {
      this.later(200, () => this.finalizeNamespace(name, attempt + 1));
      return;
    }
    for (const pod of store.listRaw(Pod, name)) store.remove(Pod, name, pod.metadata.name ?? '');
    store.remove(Namespace, undefined, name);
  }

  private syncDeployment(namespace: string, name: string): void {
    const { store } = this.api;
    const deployment = store.get(Deployment, namespace, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const spec = deployment.spec ?? {};
    const desired = Number(spec.replicas ?? 1);
    const template = spec.template;
    const hash = podTemplateHash(template);
    const owned = store.listRaw(ReplicaSet, namespace).filter((rs) => ownedBy(rs, deployment));
    let newRs = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const oldRs = owned.filter((rs) => rs !== newRs).sort((a, b) => revisionOf(b) - revisionOf(a));
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    const recreate = isObject(spec.strategy) && spec.strategy.type === 'Recreate';
    const oldPods = oldRs.reduce((sum, rs) => sum + Number(rs.status?.replicas ?? 0), 0);
    let progressingReason = 'ReplicaSetUpdated';
    if (!newRs && !spec.paused) {
      const templateObject = clone(isObject(template) ? template : {}) as JsonObject;
      const templateMeta = isObject(templateObject.metadata) ? templateObject.metadata : {};
      templateMeta.labels = {
        ...(isObject(templateMeta.labels) ? templateMeta.labels : {}),
        'pod-template-hash': hash,
      };
      templateObject.metadata = templateMeta;
      const selector = isObject(spec.selector) ? clone(spec.selector) : {};
      selector.matchLabels = {
        ...(isObject(selector.matchLabels) ? selector.matchLabels : {}),
        'pod-template-hash': hash,
      };
      const initial = recreate && oldPods > 0 ? 0 : desired;
      newRs = store.create(ReplicaSet, {
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          labels: templateMeta.labels as Record<string, string>,
          annotations: {
            'deployment.kubernetes.io/desired-replicas': String(desired),
            'deployment.kubernetes.io/max-replicas': String(desired + Math.ceil(desired / 4)),
            'deployment.kubernetes.io/revision': String(maxRevision + 1),
          },
          ownerReferences: [
            {
              apiVersion: 'apps/v1',
              kind: 'Deployment',
              name,
              uid: deployment.metadata.uid ?? '',
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: initial, minReadySeconds: spec.minReadySeconds ?? 0, selector, template: templateObject },
      });
      progressingReason = 'NewReplicaSetCreated';
      this.api.recordEvent(
        deployment,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${newRs.metadata.name} from 0 to ${initial}`,
        'deployment-controller',
      );
    }
    if (newRs && Number(newRs.spec?.minReadySeconds ?? 0) !== Number(spec.minReadySeconds ?? 0)) {
      // A changed minReadySeconds is carried to the current ReplicaSet in place (it is not part of the pod template).
      newRs = store.mutate(ReplicaSet, namespace, newRs.metadata.name ?? '', (rs) => {
        rs.spec = { ...rs.spec, minReadySeconds: Number(spec.minReadySeconds ?? 0) };
      });
    }
    if (newRs && !spec.paused) {
      const newAvailable = Number(newRs.status?.availableReplicas ?? 0);
      const target = recreate && oldPods > 0 ? 0 : desired;
      this.scaleReplicaSet(deployment, newRs, target);
      if (revisionOf(newRs) < maxRevision) {
        store.mutate(ReplicaSet, namespace, newRs.metadata.name ?? '', (rs) => {
          rs.metadata.annotations = {
            ...rs.metadata.annotations,
            'deployment.kubernetes.io/revision': String(maxRevision + 1),
          };
        });
      }
      let budget = recreate ? 0 : Math.max(0, desired - newAvailable);
      for (const rs of oldRs) {
        const current = Number(rs.spec?.replicas ?? 0);
        const keep = Math.min(current, budget);
        budget -= keep;
        this.scaleReplicaSet(deployment, rs, keep);
      }
      const limit = Number(spec.revisionHistoryLimit ?? 10);
      const idle = oldRs.filter((rs) => Number(rs.spec?.replicas ?? 0) === 0 && Number(rs.status?.replicas ?? 0) === 0);
      for (const rs of idle.slice(limit)) this.api.delete(ReplicaSet, namespace, rs.metadata.name ?? '');
    }
    this.updateDeploymentStatus(namespace, name, progressingReason);
  }

  private scaleReplicaSet(deployment: KubeObject, rs: KubeObject, replicas: number): void {
    const current = Number(rs.spec?.replicas ?? 0);
    if (current === replicas) return;
    this.api.store.mutate(ReplicaSet, rs.metadata.namespace, rs.metadata.name ?? '', (object) => {
      object.spec = { ...object.spec, replicas };
      object.metadata.annotations = {
        ...object.metadata.annotations,
        'deployment.kubernetes.io/desired-replicas': String(deployment.spec?.replicas ?? replicas),
      };
    });
    const verb = replicas > current ? 'up' : 'down';
    this.api.recordEvent(
      deployment,
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${verb} replica set ${rs.metadata.name} from ${current} to ${replicas}`,
      'deployment-controller',
    );
  }

  private updateDeploymentStatus(namespace: string, name: string, progressingReason: string): void {
    const { store } = this.api;
    const deployment = store.get(Deployment, namespace, name);
    if (!deployment) return;
    const hash = podTemplateHash(deployment.spec?.template);
    const owned = store.listRaw(ReplicaSet, namespace).filter((rs) => ownedBy(rs, deployment));
    const newRs = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const sum = (field: string) => owned.reduce((total, rs) => total + Number(rs.status?.[field] ?? 0), 0);
    const desired = Number(deployment.spec?.replicas ?? 1);
    const replicas = sum('replicas');
    const available = sum('availableReplicas');
    const updated = Number(newRs?.status?.replicas ?? 0);
    const newAvailable = Number(newRs?.status?.availableReplicas ?? 0);
    const rolling =
      isObject(deployment.spec?.strategy) && isObject(deployment.spec.strategy.rollingUpdate)
        ? deployment.spec.strategy.rollingUpdate
        : {};
    const maxUnavailableText = String(rolling.maxUnavailable ?? '25%');
    const maxUnavailable = maxUnavailableText.endsWith('%')
      ? Math.floor((desired * Number.parseInt(maxUnavailableText, 10)) / 100)
      : Number(maxUnavailableText);
    let conditions = Array.isArray(deployment.status?.conditions) ? deployment.status.conditions.filter(isObject) : [];
    conditions =
      available >= desired - maxUnavailable
        ? setCondition(
            conditions,
            'Available',
            'True',
            'MinimumReplicasAvailable',
            'Deployment has minimum availability.',
          )
        : setCondition(
            conditions,
            'Available',
            'False',
            'MinimumReplicasUnavailable',
            'Deployment does not have minimum availability.',
          );
    const complete = newRs && updated === desired && replicas === desired && newAvailable === desired;
    if (newRs) {
      conditions = complete
        ? setCondition(
            conditions,
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${newRs.metadata.name}" has successfully progressed.`,
          )
        : setCondition(
            conditions,
            'Progressing',
            'True',
            progressingReason === 'NewReplicaSetCreated' ? 'NewReplicaSetCreated' : 'ReplicaSetUpdated',
            progressingReason === 'NewReplicaSetCreated'
              ? `Created new replica set "${newRs.metadata.name}"`
              : `ReplicaSet "${newRs.metadata.name}" is progressing.`,
          );
    }
    if (newRs && !complete)
      conditions = this.checkProgressDeadline(deployment, newRs, conditions, `${updated}/${newAvailable}`);
    else this.progress.delete(deployment.metadata.uid ?? '');
    const failure = owned
      .flatMap((rs) => (Array.isArray(rs.status?.conditions) ? rs.status.conditions.filter(isObject) : []))
      .find((c) => c.type === 'ReplicaFailure');
    conditions = failure
      ? setCondition(conditions, 'ReplicaFailure', 'True', String(failure.reason), String(failure.message))
      : conditions.filter((c) => c.type !== 'ReplicaFailure');
    const status: JsonObject = {
      observedGeneration: deployment.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
      conditions,
    };
    for (const key of ['replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas'])
      if (status[key] === 0) delete status[key];
    const revision = newRs
      ? String(revisionOf(newRs))
      : deployment.metadata.annotations?.['deployment.kubernetes.io/revision'];
    if (
      stableStringify(withoutTimes(status)) === stableStringify(withoutTimes(deployment.status ?? {})) &&
      revision === deployment.metadata.annotations?.['deployment.kubernetes.io/revision']
    ) {
      return;
    }
    store.mutate(Deployment, namespace, name, (object) => {
      object.status = status;
      if (revision)
        object.metadata.annotations = { ...object.metadata.annotations, 'deployment.kubernetes.io/revision': revision };
    });
  }

  /**
   * Progressing turns False (ProgressDeadlineExceeded) when the new ReplicaSet has made no progress
   * for spec.progressDeadlineSeconds, so `kubectl rollout status` fails as it does on a real cluster.
   */
  private checkProgressDeadline(
    deployment: KubeObject,
    newRs: KubeObject,
    conditions: JsonObject[],
    marker: string,
  ): JsonObject[] {
    const uid = deployment.metadata.uid ?? '';
    const deadlineMs = Number(deployment.spec?.progressDeadlineSeconds ?? 600) * 1000;
    const now = Date.now();
    let progress = this.progress.get(uid);
    if (!progress || progress.marker !== marker) {
      progress = { marker, since: now };
      this.progress.set(uid, progress);
      const namespace = deployment.metadata.namespace ?? '';
      const name = deployment.metadata.name ?? '';
      this.later(deadlineMs + 10, () =>
        this.enqueue(`deploy/${namespace}/${name}`, () => this.syncDeployment(namespace, name)),
      );
    }
    if (now - progress.since < deadlineMs) return conditions;
    return setCondition(
      conditions,
      'Progressing',
      'False',
      'ProgressDeadlineExceeded',
      `ReplicaSet "${newRs.metadata.name}" has timed out progressing.`,
    );
  }

  private syncReplicaSet(namespace: string, name: string): void {
    const { store } = this.api;
    const rs = store.get(ReplicaSet, namespace, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const selector = labelSelectorFromSpec(rs.spec?.selector);
    const pods = store.listRaw(Pod, namespace).filter((pod) => ownedBy(pod, rs) && selector(pod.metadata.labels));
    const active = pods.filter(
      (pod) => !pod.metadata.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed',
    );
    const desired = Number(rs.spec?.replicas ?? 0);
    let failure: string | undefined;
    if (active.length < desired) {
      for (let i = active.length; i < Math.min(desired, active.length + 500); i++) {
        const podName = `${name}-${randomSuffix()}`;
        try {
          const template = isObject(rs.spec?.template) ? clone(rs.spec.template) : {};
          const metadata = isObject(template.metadata) ? template.metadata : {};
          this.api.create(
            Pod,
            namespace,
            {
              metadata: {
                ...metadata,
                name: podName,
                generateName: `${name}-`,
                namespace,
                ownerReferences: [
                  {
                    apiVersion: 'apps/v1',
                    kind: 'ReplicaSet',
                    name,
                    uid: rs.metadata.uid ?? '',
                    controller: true,
                    blockOwnerDeletion: true,
                  },
                ],
              },
              spec: template.spec ?? {},
            },
            { manager: 'kube-controller-manager' },
          );
          this.api.recordEvent(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${podName}`, 'replicaset-controller');
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          failure = error.message;
          this.api.recordEvent(
            rs,
            'Warning',
            'FailedCreate',
            `Error creating: ${error.message}`,
            'replicaset-controller',
          );
          this.later(this.retryMs, () =>
            this.enqueue(`rs/${namespace}/${name}`, () => this.syncReplicaSet(namespace, name)),
          );
          break;
        }
      }
    } else if (active.length > desired) {
      const ranked = [...active].sort((a, b) => {
        const readyDiff = Number(isPodReady(a)) - Number(isPodReady(b));
        if (readyDiff !== 0) return readyDiff;
        return String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp));
      });
      for (const pod of ranked.slice(0, active.length - desired)) {
        this.api.delete(Pod, namespace, pod.metadata.name ?? '');
        this.api.recordEvent(
          rs,
          'Normal',
          'SuccessfulDelete',
          `Deleted pod: ${pod.metadata.name}`,
          'replicaset-controller',
        );
      }
    }
    const current = store
      .listRaw(Pod, namespace)
      .filter(
        (pod) =>
          ownedBy(pod, rs) &&
          !pod.metadata.deletionTimestamp &&
          pod.status?.phase !== 'Succeeded' &&
          pod.status?.phase !== 'Failed',
      );
    const readyPods = current.filter(isPodReady);
    const minReadySeconds = Number(rs.spec?.minReadySeconds ?? 0);
    // Ready pods not yet ready for minReadySeconds: not available yet (none when it is 0).
    const becoming =
      minReadySeconds > 0
        ? readyPods.map((pod) => availableAt(pod, minReadySeconds)).filter((at) => at >= Date.now())
        : [];
    const available = readyPods.length - becoming.length;
    if (becoming.length) this.checkAvailabilityAt(namespace, name, Math.min(...becoming) + 1);
    let conditions = Array.isArray(rs.status?.conditions) ? rs.status.conditions.filter(isObject) : [];
    if (failure) {
      conditions = setCondition(conditions, 'ReplicaFailure', 'True', 'FailedCreate', failure).map(
        ({ lastUpdateTime: _u, ...rest }) => rest,
      );
    } else if (current.length >= desired) conditions = conditions.filter((c) => c.type !== 'ReplicaFailure');
    const status: JsonObject = {
      replicas: current.length,
      fullyLabeledReplicas: current.length,
      readyReplicas: readyPods.length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
      ...(conditions.length ? { conditions } : {}),
    };
    for (const key of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas'])
      if (status[key] === 0) delete status[key];
    if (stableStringify(withoutTimes(status)) === stableStringify(withoutTimes(rs.status ?? {}))) return;
    store.mutate(ReplicaSet, namespace, name, (object) => {
      object.status = status;
    });
  }

  /** Looks at a ReplicaSet's pods again at `at` (once per ReplicaSet: the earliest moment asked for). */
  private checkAvailabilityAt(namespace: string, name: string, at: number): void {
    const key = `${namespace}/${name}`;
    const due = this.availabilityChecks.get(key);
    if (due !== undefined && due <= at) return;
    this.availabilityChecks.set(key, at);
    this.later(Math.max(0, at - Date.now()), () => {
      if (this.availabilityChecks.get(key) === at) this.availabilityChecks.delete(key);
      this.enqueue(`rs/${namespace}/${name}`, () => this.syncReplicaSet(namespace, name));
    });
  }

  private syncQuotas(namespace: string): void {
    const { store } = this.api;
    for (const quota of store.listRaw(ResourceQuota, namespace)) {
      const hard = isObject(quota.spec?.hard) ? quota.spec.hard : {};
      const usage = new Map<string, number>();
      for (const kind of ['Pod', 'Service', 'ConfigMap']) {
        for (const [key, amount] of namespaceUsage(store, resourceByKind(kind), namespace))
          usage.set(key, (usage.get(key) ?? 0) + amount);
      }
      const used: Record<string, string> = {};
      for (const key of Object.keys(hard)) used[key] = formatResource(key, usage.get(key) ?? 0);
      const normalizedHard: Record<string, string> = {};
      for (const [key, value] of Object.entries(hard)) normalizedHard[key] = formatResource(key, parseQuantity(value));
      const status = { hard: normalizedHard, used };
      if (stableStringify(status) === stableStringify(quota.status ?? {})) continue;
      store.mutate(ResourceQuota, namespace, quota.metadata.name ?? '', (object) => {
        object.status = status;
      });
    }
  }
}

function withoutTimes(status: JsonObject): JsonObject {
  const conditions = Array.isArray(status.conditions)
    ? status.conditions.filter(isObject).map(({ lastUpdateTime: _u, lastTransitionTime: _t, ...rest }) => rest)
    : undefined;
  return { ...status, ...(conditions ? { conditions } : {}) };
}
