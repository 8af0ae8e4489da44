import { randomBytes } from 'node:crypto';
import YAML from 'yaml';
import {
  applyDefaults,
  applyLimitRangeDefaults,
  checkPodSecurity,
  checkQuota,
  checkServiceAccount,
  validateObject,
} from './admission.js';
import { ApiError, badRequest, conflict, notFound } from './api-error.js';
import { recordUpdate, serverSideApply } from './managed-fields.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from './patch.js';
import { RbacAuthorizer, type UserInfo } from './rbac.js';
import { groupVersionOf, type ResourceType, resourceByKind } from './resources.js';
import { selectorToString } from './selectors.js';
import { type ObjectStore, randomSuffix } from './store.js';
import { clone, isObject, type JsonObject, type KubeObject, nowIso } from './types.js';

export interface RequestContext {
  /** The field manager (query `fieldManager`, else derived from the User-Agent). */
  manager: string;
  force?: boolean;
  dryRun?: boolean;
  /** The authenticated caller; absent for the simulator's own controllers (its loopback, like system:masters). */
  user?: UserInfo;
  /** Authorizes `create` when an apply patch creates the object (upstream checks create-on-update). */
  authorizeCreate?: () => void;
}

export interface WriteResult {
  object: KubeObject;
  warnings: string[];
  created?: boolean;
}

export type PatchType = 'merge' | 'strategic' | 'json' | 'apply';

const statusResources = new Set(['pods', 'deployments', 'replicasets', 'namespaces', 'services', 'resourcequotas']);

/** The objects the simulator itself owns and protects. */
export const systemNamespaces = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * The API server's write path shared by HTTP handlers and controllers: defaults, admission
 * (names, LimitRange, Pod Security, quota), managed fields, status/scale subresources, deletion.
 */
export class KubeApi {
  private nextClusterIp = 10;
  private readonly eventKeys = new Map<string, string>();
  readonly rbac: RbacAuthorizer;

  private schedulingSoon = false;

  constructor(readonly store: ObjectStore) {
    this.rbac = new RbacAuthorizer(store);
    // Room frees when a pod goes (or a node comes): pods left unscheduled get another try, once per turn.
    store.subscribe((event) => {
      const freed =
        (event.resource === resourceByKind('Pod') && event.type === 'DELETED') ||
        event.resource === resourceByKind('Node');
      if (!freed || this.schedulingSoon) return;
      this.schedulingSoon = true;
      setImmediate(() => {
        this.schedulingSoon = false;
        this.scheduleWaitingPods();
      });
    });
  }

  private allocateClusterIp = (): string => {
    const n = this.nextClusterIp++;
    return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  };

  /**
   * The scheduler: the node with the fewest pods among those with room left (a node runs at most its allocatable
   * `pods`, the kubelet's max-pods, like the real NodeResourcesFit filter), or undefined when every node is full.
   * No Node objects at all: the one default node, unlimited.
   */
  private placePod(): string | undefined {
    const nodes = this.store.listRaw(resourceByKind('Node'));
    if (nodes.length === 0) return 'sim-node-1';
    const counts = new Map(nodes.map((node) => [node.metadata.name ?? '', 0]));
    for (const pod of this.store.listRaw(resourceByKind('Pod'))) {
      const name = pod.spec?.nodeName;
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      // Finished pods hold no place on their node.
      if (phase === 'Succeeded' || phase === 'Failed') continue;
      if (typeof name === 'string' && counts.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    let best: string | undefined;
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const allocatable = (node.status as { allocatable?: { pods?: string } } | undefined)?.allocatable?.pods;
      const room = Number(allocatable ?? 110) - (counts.get(name) ?? 0);
      if (room <= 0) continue;
      if (best === undefined || (counts.get(name) ?? 0) < (counts.get(best) ?? 0)) best = name;
    }
    return best;
  }

  /** The scheduler's FailedScheduling message when every node is full (kube-scheduler 1.32's wording). */
  private tooManyPodsMessage(): string {
    const count = this.store.listRaw(resourceByKind('Node')).length;
    return `0/${count} nodes are available: ${count} Too many pods. preemption: 0/${count} nodes are available: ${count} No preemption victims found for incoming pod.`;
  }

  /**
   * Binds pods left unscheduled (every node was full) as room frees, oldest first, as the scheduler retries them;
   * the kubelet starts each once it has a node.
   */
  scheduleWaitingPods(): void {
    const waiting = this.store
      .listRaw(resourceByKind('Pod'))
      .filter((pod) => !pod.spec?.nodeName && !pod.metadata.deletionTimestamp)
      .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
    for (const pod of waiting) {
      const node = this.placePod();
      if (!node) return;
      const bound = this.store.mutate(
        resourceByKind('Pod'),
        pod.metadata.namespace,
        pod.metadata.name ?? '',
        (current) => {
          if (!current.spec || current.spec.nodeName || current.metadata.uid !== pod.metadata.uid) return;
          current.spec.nodeName = node;
          const status = (current.status ?? {}) as { conditions?: JsonObject[] };
          status.conditions = [
            ...(status.conditions ?? []).filter((condition) => condition['type'] !== 'PodScheduled'),
            { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowIso() },
          ];
          current.status = status as KubeObject['status'];
        },
      );
      if (bound) {
        this.recordEvent(
          bound,
          'Normal',
          'Scheduled',
          `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`,
          'default-scheduler',
        );
      }
    }
  }

  private checkNamespace(resource: ResourceType, namespace: string | undefined, name: string): void {
    if (!resource.namespaced) return;
    if (!namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    const ns = this.store.get(resourceByKind('Namespace'), undefined, namespace);
    if (!ns) throw notFound(resourceByKind('Namespace'), namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${resource.plural}${resource.group ? `.${resource.group}` : ''} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
        { name, kind: resource.plural },
      );
    }
  }

  private normalizeBody(resource: ResourceType, namespace: string | undefined, body: unknown): KubeObject {
    if (!isObject(body)) throw badRequest('the body of the request was in an unknown format');
    const object = clone(body) as KubeObject;
    if (!isObject(object.metadata)) object.metadata = {};
    if (resource.namespaced) {
      if (object.metadata.namespace && namespace && object.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      object.metadata.namespace = namespace ?? object.metadata.namespace;
    }
    if (object.kind && object.kind !== resource.kind) {
      throw badRequest(
        `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${groupVersionOf(resource)})`,
      );
    }
    return object;
  }

  /** Admission for a new or changed object; returns the warnings to send back. */
  private admit(resource: ResourceType, object: KubeObject, isCreate: boolean): string[] {
    if (isCreate && resource.plural === 'pods') {
      applyLimitRangeDefaults(this.store, object);
      checkServiceAccount(this.store, object);
    }
    validateObject(resource, object);
    const verdict = checkPodSecurity(this.store, resource, object);
    if (verdict.error && isCreate) throw verdict.error;
    if (isCreate) checkQuota(this.store, resource, object);
    return verdict.warnings;
  }

  create(resource: ResourceType, namespace: string | undefined, body: unknown, context: RequestContext): WriteResult {
    if (resource.readOnly)
      throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const object = this.normalizeBody(resource, namespace, body);
    if (!object.metadata.name && object.metadata.generateName) {
      object.metadata.name = `${object.metadata.generateName}${randomSuffix()}`;
    }
    this.checkNamespace(resource, object.metadata.namespace, object.metadata.name ?? '');
    delete object.metadata.managedFields;
    applyDefaults(resource, object, this.allocateClusterIp);
    let unschedulable = false;
    if (resource.plural === 'pods') {
      object.status = { phase: 'Pending', qosClass: 'BestEffort' };
      if (object.spec && !object.spec.nodeName) {
        const node = this.placePod();
        if (node) object.spec.nodeName = node;
        else unschedulable = true;
      }
    } else if (
      statusResources.has(resource.plural) &&
      resource.plural !== 'namespaces' &&
      resource.plural !== 'services'
    ) {
      delete object.status;
    }
    if (context.user) this.rbac.admitWrite(context.user, resource, object.metadata.namespace, object);
    const warnings = this.admit(resource, object, true);
    if (resource.plural === 'pods') {
      object.status = {
        phase: 'Pending',
        qosClass: qosClassOf(object),
        // Every node is full: the pod waits for room (Pending, PodScheduled=False) until one frees.
        ...(unschedulable
          ? {
              conditions: [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  lastProbeTime: null,
                  lastTransitionTime: nowIso(),
                  reason: 'Unschedulable',
                  message: this.tooManyPodsMessage(),
                },
              ],
            }
          : {}),
      };
    }
    if (this.store.get(resource, object.metadata.namespace, object.metadata.name ?? '')) {
      // Let the store produce the exact AlreadyExists error.
      this.store.create(resource, object);
    }
    recordUpdate(undefined, object, context.manager, groupVersionOf(resource));
    if (context.dryRun) return { object, warnings, created: true };
    const created = this.store.create(resource, object);
    if (unschedulable)
      this.recordEvent(created, 'Warning', 'FailedScheduling', this.tooManyPodsMessage(), 'default-scheduler');
    return { object: created, warnings, created: true };
  }

  /** PUT of the main resource or of `status` / `scale`. */
  update(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    context: RequestContext,
    subresource?: string,
    appliedFields?: KubeObject['metadata']['managedFields'],
  ): WriteResult {
    if (resource.readOnly)
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const current = this.store.mustGet(resource, namespace, name);
    if (subresource === 'scale') {
      if (!isObject(body) || !isObject(body.spec)) throw badRequest('scale body must carry spec.replicas');
      const replicas = Number(body.spec.replicas ?? 0);
      const metadata = isObject(body.metadata) ? body.metadata : {};
      if (metadata.resourceVersion && metadata.resourceVersion !== current.metadata.resourceVersion) {
        throw conflict(
          resource,
          name,
          'the object has been modified; please apply your changes to the latest version and try again',
        );
      }
      const next = clone(current);
      next.spec = { ...next.spec, replicas };
      recordUpdate(current, next, context.manager, groupVersionOf(resource), 'scale');
      const saved = context.dryRun ? next : this.store.update(resource, next);
      return { object: scaleOf(saved), warnings: [] };
    }
    const object = this.normalizeBody(resource, namespace, body);
    if (object.metadata.name && object.metadata.name !== name) {
      throw badRequest(`the name of the object (${object.metadata.name}) does not match the name on the URL (${name})`);
    }
    object.metadata.name = name;
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...clone(current), status: object.status ?? {} };
      if (object.metadata.resourceVersion) next.metadata.resourceVersion = object.metadata.resourceVersion;
    } else {
      next = object;
      if (statusResources.has(resource.plural)) next.status = current.status;
      else if (object.status === undefined && current.status !== undefined) next.status = current.status;
      applyDefaults(resource, next, () => String(current.spec?.clusterIP ?? this.allocateClusterIp()));
      if (resource.plural === 'namespaces') next.status = current.status;
      next.metadata.managedFields = current.metadata.managedFields;
    }
    if (next.metadata.resourceVersion === undefined) next.metadata.resourceVersion = current.metadata.resourceVersion;
    if (context.user && !subresource) this.rbac.admitWrite(context.user, resource, namespace, next);
    const warnings = subresource === 'status' ? [] : this.admit(resource, next, false);
    if (resource.plural === 'pods' && subresource !== 'status') checkImmutablePod(resource, current, next);
    if (!subresource && resource.group === 'apps') checkImmutableSelector(resource, current, next);
    if (appliedFields) next.metadata.managedFields = appliedFields;
    else recordUpdate(current, next, context.manager, groupVersionOf(resource), subresource);
    if (context.dryRun) return { object: next, warnings };
    return { object: this.store.update(resource, next, { checkVersion: true }), warnings };
  }

  patch(
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    rawBody: string,
    context: RequestContext,
    subresource?: string,
  ): WriteResult {
    let patchBody: unknown;
    try {
      patchBody = patchType === 'apply' ? YAML.parse(rawBody) : JSON.parse(rawBody);
    } catch (error) {
      throw badRequest(`error decoding patch: ${String(error)}`);
    }
    const current = this.store.get(resource, namespace, name);
    if (patchType === 'apply') {
      if (!isObject(patchBody)) throw badRequest('apply patch must be an object');
      if (!current) {
        if (subresource) throw notFound(resource, name);
        context.authorizeCreate?.();
        const body = { ...patchBody, metadata: { ...(isObject(patchBody.metadata) ? patchBody.metadata : {}), name } };
        const result = this.create(resource, namespace, body, context);
        const applied = clone(result.object);
        const withApply = serverSideApply(
          { ...applied, metadata: { ...applied.metadata, managedFields: [] } },
          body as KubeObject,
          context.manager,
          true,
          groupVersionOf(resource),
          applyStrategicMergePatch,
          { kind: resource.kind, name, group: resource.group, plural: resource.plural },
        );
        if (context.dryRun) return { ...result, object: withApply };
        const saved = this.store.update(resource, {
          ...applied,
          metadata: { ...applied.metadata, managedFields: withApply.metadata.managedFields },
        });
        return { object: saved, warnings: result.warnings, created: true };
      }
      const next = serverSideApply(
        current,
        patchBody as KubeObject,
        context.manager,
        context.force === true,
        groupVersionOf(resource),
        applyStrategicMergePatch,
        { kind: resource.kind, name, group: resource.group, plural: resource.plural },
      );
      const managedFields = next.metadata.managedFields;
      const result = this.update(
        resource,
        namespace,
        name,
        { ...next, metadata: { ...next.metadata, resourceVersion: undefined } },
        context,
        subresource,
      );
      const saved = this.store.get(resource, namespace, name);
      if (saved && !context.dryRun) {
        saved.metadata.managedFields = managedFields;
        return { ...result, object: this.store.update(resource, saved) };
      }
      return result;
    }
    if (!current) throw notFound(resource, name);
    const base = subresource === 'scale' ? scaleOf(current) : current;
    let patched: unknown;
    if (patchType === 'json') patched = applyJsonPatch(base, patchBody);
    else if (patchType === 'merge') patched = applyMergePatch(base, patchBody);
    else patched = applyStrategicMergePatch(base, patchBody);
    if (!isObject(patched)) throw badRequest('patch produced a non-object');
    const patchedObject = patched as KubeObject;
    if (isObject(patchBody) && isObject(patchBody.metadata) && patchBody.metadata.resourceVersion === undefined) {
      patchedObject.metadata = { ...patchedObject.metadata, resourceVersion: current.metadata.resourceVersion };
    }
    return this.update(resource, namespace, name, patchedObject, context, subresource);
  }

  /** Reads `scale` for deployments and replicasets. */
  getScale(resource: ResourceType, namespace: string | undefined, name: string): KubeObject {
    return scaleOf(this.store.mustGet(resource, namespace, name));
  }

  delete(resource: ResourceType, namespace: string | undefined, name: string, propagation = 'Background'): KubeObject {
    if (resource.readOnly)
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const current = this.store.mustGet(resource, namespace, name);
    if (resource.plural === 'namespaces') {
      if (systemNamespaces.includes(name)) {
        throw new ApiError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`, {
          name,
          kind: 'namespaces',
        });
      }
      if (current.metadata.deletionTimestamp) return current;
      current.metadata.deletionTimestamp = nowIso();
      current.status = { ...current.status, phase: 'Terminating' };
      return this.store.update(resource, current);
    }
    // A pod no node ever ran (unscheduled) has no kubelet to wait for: it goes at once, as in the API server.
    if (resource.plural === 'pods' && current.spec?.nodeName) {
      if (current.metadata.deletionTimestamp) return current;
      current.metadata.deletionTimestamp = nowIso();
      current.metadata.deletionGracePeriodSeconds = 0;
      return this.store.update(resource, current);
    }
    const removed = this.store.remove(resource, namespace, name);
    if (propagation !== 'Orphan') this.deleteDependents(removed);
    return removed;
  }

  /** Garbage collection: removes objects whose owner reference points at a deleted object. */
  deleteDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    if (!uid || !owner.metadata.namespace) return;
    for (const kind of ['ReplicaSet', 'Pod']) {
      const resource = resourceByKind(kind);
      for (const dependent of this.store.listRaw(resource, owner.metadata.namespace)) {
        if (dependent.metadata.ownerReferences?.some((ref) => ref.uid === uid)) {
          try {
            this.delete(resource, dependent.metadata.namespace, dependent.metadata.name ?? '');
          } catch (error) {
            if (!(error instanceof ApiError && error.code === 404)) throw error;
          }
        }
      }
    }
  }

  /** Records a core/v1 Event; repeats of the same reason and message bump `count`. */
  recordEvent(
    involved: KubeObject,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    component: string,
  ): void {
    const namespace = involved.metadata.namespace ?? 'default';
    const eventResource = resourceByKind('Event');
    if (!this.store.get(resourceByKind('Namespace'), undefined, namespace)) return;
    const key = `${involved.metadata.uid}\u0000${reason}\u0000${message}`;
    const existingName = this.eventKeys.get(key);
    const now = nowIso();
    if (existingName) {
      const updated = this.store.mutate(eventResource, namespace, existingName, (event) => {
        event.count = Number(event.count ?? 1) + 1;
        event.lastTimestamp = now;
      });
      if (updated) return;
    }
    const name = `${involved.metadata.name}.${randomBytes(8).toString('hex')}`;
    this.eventKeys.set(key, name);
    if (this.eventKeys.size > 20_000) this.eventKeys.clear();
    const event: JsonObject = {
      metadata: { name, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace,
        name: involved.metadata.name,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
      },
      reason,
      message,
      source: { component, ...(component === 'kubelet' ? { host: 'sim-node-1' } : {}) },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: component,
      reportingInstance: component === 'kubelet' ? 'sim-node-1' : '',
    };
    try {
      this.store.create(eventResource, event as KubeObject);
    } catch {
      // An event that cannot be stored (namespace going away) is dropped, as the real recorder does.
    }
  }
}

function scaleOf(object: KubeObject): KubeObject {
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: Number(object.spec?.replicas ?? 0) },
    status: {
      replicas: Number(object.status?.replicas ?? 0),
      selector: selectorToString(object.spec?.selector),
    },
  };
}

/** A selector with its keys sorted, so two equal selectors compare equal however they were written. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical(value[key])]),
  );
}

/** apps/v1 workloads: `spec.selector` may not change once created (the real API server answers 422). */
function checkImmutableSelector(resource: ResourceType, current: KubeObject, next: KubeObject): void {
  const before = JSON.stringify(canonical(current.spec?.selector ?? null));
  const after = JSON.stringify(canonical(next.spec?.selector ?? null));
  if (before === after) return;
  const name = current.metadata.name ?? '';
  throw new ApiError(
    422,
    'Invalid',
    `${resource.kind}.${resource.group} "${name}" is invalid: spec.selector: Invalid value: ${after}: field is immutable`,
    {
      name,
      group: resource.group,
      kind: resource.plural,
      causes: [
        { reason: 'FieldValueInvalid', message: `Invalid value: ${after}: field is immutable`, field: 'spec.selector' },
      ],
    },
  );
}

function checkImmutablePod(resource: ResourceType, current: KubeObject, next: KubeObject): void {
  const strip = (spec: unknown) => {
    if (!isObject(spec)) return '';
    const containers = Array.isArray(spec.containers)
      ? spec.containers.filter(isObject).map(({ image: _image, ...rest }) => rest)
      : [];
    const { activeDeadlineSeconds: _a, tolerations: _t, containers: _c, ...rest } = spec;
    return JSON.stringify({ ...rest, containers });
  };
  if (strip(current.spec) !== strip(next.spec)) {
    throw new ApiError(
      422,
      'Invalid',
      `Pod "${current.metadata.name}" is invalid: spec: Forbidden: pod updates may not change fields other than \`spec.containers[*].image\`,\`spec.initContainers[*].image\`,\`spec.activeDeadlineSeconds\`,\`spec.tolerations\` (only additions to existing tolerations),\`spec.terminationGracePeriodSeconds\` (allow it to be set to 1 if it was previously negative)`,
      {
        name: current.metadata.name ?? '',
        kind: resource.kind,
        causes: [
          {
            reason: 'FieldValueForbidden',
            message: 'Forbidden: pod updates may not change fields other than `spec.containers[*].image`',
            field: 'spec',
          },
        ],
      },
    );
  }
}

/** Guaranteed when every container has equal cpu+memory requests and limits, BestEffort when none. */
export function qosClassOf(pod: KubeObject): string {
  const containers =
    isObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers.filter(isObject) : [];
  let any = false;
  let guaranteed = containers.length > 0;
  for (const container of containers) {
    const resources = isObject(container.resources) ? container.resources : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const requests = isObject(resources.requests) ? resources.requests : {};
    if (Object.keys(limits).length || Object.keys(requests).length) any = true;
    for (const name of ['cpu', 'memory']) {
      if (limits[name] === undefined || (requests[name] !== undefined && requests[name] !== limits[name]))
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
