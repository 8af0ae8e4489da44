import { type ApiError, forbidden, invalid, type StatusCause } from './api-error.js';
import { formatResource, parseQuantity } from './quantity.js';
import type { ResourceType } from './resources.js';
import { resourceByKind } from './resources.js';
import { labelSelectorFromSpec } from './selectors.js';
import type { ObjectStore } from './store.js';
import { isObject, type JsonObject, type KubeObject } from './types.js';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const dns1035Label = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function nameCause(name: string, resource: ResourceType): StatusCause | undefined {
  // RBAC names are path segments (upstream ValidateRBACName): `system:discovery` is valid.
  if (resource.group === 'rbac.authorization.k8s.io') {
    const bad = ['.', '..'].includes(name)
      ? `may not be '${name}'`
      : /[/%]/.test(name)
        ? `may not contain '${name.includes('/') ? '/' : '%'}'`
        : '';
    return bad
      ? { reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "${name}": ${bad}` }
      : undefined;
  }
  if (resource.plural === 'namespaces') {
    if (name.length > 63 || !dns1123Label.test(name)) {
      return {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
      };
    }
    return undefined;
  }
  if (resource.plural === 'services') {
    if (name.length > 63 || !dns1035Label.test(name)) {
      return {
        reason: 'FieldValueInvalid',
        field: 'metadata.name',
        message: `Invalid value: "${name}": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
      };
    }
    return undefined;
  }
  if (name.length > 253 || !dns1123Subdomain.test(name)) {
    return {
      reason: 'FieldValueInvalid',
      field: 'metadata.name',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    };
  }
  return undefined;
}

function containersOf(podSpec: unknown): JsonObject[] {
  if (!isObject(podSpec)) return [];
  const all = [
    ...(Array.isArray(podSpec.initContainers) ? podSpec.initContainers : []),
    ...(Array.isArray(podSpec.containers) ? podSpec.containers : []),
  ];
  return all.filter(isObject);
}

function podSpecOf(resource: ResourceType, object: KubeObject): JsonObject | undefined {
  if (resource.plural === 'pods') return isObject(object.spec) ? object.spec : undefined;
  const template = object.spec?.template;
  return isObject(template) && isObject(template.spec) ? template.spec : undefined;
}

/** Field-level validation: names, required fields and the selector/template rule; a 422 with causes. */
export function validateObject(resource: ResourceType, object: KubeObject): void {
  const name = object.metadata.name ?? '';
  const causes: StatusCause[] = [];
  if (!name)
    causes.push({
      reason: 'FieldValueRequired',
      field: 'metadata.name',
      message: 'Required value: name or generateName is required',
    });
  else {
    const cause = nameCause(name, resource);
    if (cause) causes.push(cause);
  }
  const podSpec = podSpecOf(resource, object);
  const prefix = resource.plural === 'pods' ? 'spec' : 'spec.template.spec';
  if (resource.plural === 'pods' || resource.plural === 'deployments' || resource.plural === 'replicasets') {
    const containers = podSpec && Array.isArray(podSpec.containers) ? podSpec.containers : [];
    if (containers.length === 0)
      causes.push({ reason: 'FieldValueRequired', field: `${prefix}.containers`, message: 'Required value' });
    containers.forEach((container, index) => {
      if (!isObject(container)) return;
      if (!container.name)
        causes.push({
          reason: 'FieldValueRequired',
          field: `${prefix}.containers[${index}].name`,
          message: 'Required value',
        });
      else if (!dns1123Label.test(String(container.name))) {
        causes.push({
          reason: 'FieldValueInvalid',
          field: `${prefix}.containers[${index}].name`,
          message: `Invalid value: "${String(container.name)}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        });
      }
      if (!container.image)
        causes.push({
          reason: 'FieldValueRequired',
          field: `${prefix}.containers[${index}].image`,
          message: 'Required value',
        });
    });
  }
  if (resource.plural === 'deployments' || resource.plural === 'replicasets') {
    const spec = object.spec ?? {};
    const template = isObject(spec.template) ? spec.template : {};
    const templateLabels =
      isObject(template.metadata) && isObject(template.metadata.labels)
        ? (template.metadata.labels as Record<string, string>)
        : {};
    if (!isObject(spec.selector))
      causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
    else if (!labelSelectorFromSpec(spec.selector)(templateLabels)) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: `Invalid value: ${JSON.stringify(templateLabels).replace(/"/g, '"')}: \`selector\` does not match template \`labels\``,
      });
    }
    if (typeof spec.replicas === 'number' && spec.replicas < 0) {
      causes.push({
        reason: 'FieldValueInvalid',
        field: 'spec.replicas',
        message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
      });
    }
  }
  if (causes.length > 0) throw invalid(resource, name, causes);
}

function imagePullPolicyFor(image: string): string {
  const lastPart = image.split('/').pop() ?? image;
  return !lastPart.includes(':') || lastPart.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}

function defaultPodSpec(spec: JsonObject): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  // The deprecated `serviceAccount` alone names the account too, as the API server reads it.
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const container of containersOf(spec)) {
    container.imagePullPolicy ??= imagePullPolicyFor(String(container.image ?? ''));
    container.terminationMessagePath ??= '/dev/termination-log';
    container.terminationMessagePolicy ??= 'File';
    container.resources ??= {};
  }
}

/** Go clients send `creationTimestamp: null` in templates; the API server stores no such field. */
function dropNullTimestamp(template: JsonObject): void {
  if (isObject(template.metadata) && template.metadata.creationTimestamp === null)
    delete template.metadata.creationTimestamp;
}

const kindsWithoutSpec = new Set([
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
  'Secret',
  'ConfigMap',
  'ServiceAccount',
]);

/** Defaults the API server fills in, per kind. */
export function applyDefaults(resource: ResourceType, object: KubeObject, clusterIps: () => string): void {
  // Kinds without a spec (RBAC objects, Secrets, ConfigMaps, ServiceAccounts) get none.
  if (kindsWithoutSpec.has(resource.kind)) {
    if (resource.kind === 'Secret') object.type ??= 'Opaque';
    return;
  }
  object.spec ??= {};
  const spec = object.spec;
  switch (resource.plural) {
    case 'namespaces':
      object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name ?? '' };
      object.spec = { finalizers: ['kubernetes'], ...spec };
      object.status = { phase: 'Active', ...object.status };
      break;
    case 'pods':
      defaultPodSpec(spec);
      break;
    case 'deployments': {
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      const template = isObject(spec.template) ? spec.template : {};
      template.spec = isObject(template.spec) ? template.spec : {};
      defaultPodSpec(template.spec as JsonObject);
      dropNullTimestamp(template);
      break;
    }
    case 'replicasets': {
      spec.replicas ??= 1;
      const template = isObject(spec.template) ? spec.template : {};
      template.spec = isObject(template.spec) ? template.spec : {};
      defaultPodSpec(template.spec as JsonObject);
      dropNullTimestamp(template);
      break;
    }
    case 'services': {
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      spec.clusterIP ??= clusterIps();
      spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.internalTrafficPolicy ??= 'Cluster';
      if (Array.isArray(spec.ports)) {
        for (const port of spec.ports) {
          if (!isObject(port)) continue;
          port.protocol ??= 'TCP';
          port.targetPort ??= port.port;
        }
      }
      object.status ??= { loadBalancer: {} };
      break;
    }
    default:
      if (Object.keys(spec).length === 0) delete object.spec;
  }
}

/**
 * The ServiceAccount admission plugin: a new pod runs as a ServiceAccount that exists in its namespace, or it is
 * refused (403), as the API server refuses it ("error looking up service account"): a ReplicaSet's pods then fail to be
 * created (FailedCreate) until the account is there.
 */
export function checkServiceAccount(store: ObjectStore, pod: KubeObject): void {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const name = String(spec.serviceAccountName ?? 'default');
  const namespace = pod.metadata.namespace ?? '';
  if (store.get(resourceByKind('ServiceAccount'), namespace, name)) return;
  throw forbidden(
    resourceByKind('Pod'),
    pod.metadata.name ?? '',
    `error looking up service account ${namespace}/${name}: serviceaccount "${name}" not found`,
  );
}

/** LimitRange defaults: each container without requests/limits gets the namespace's Container defaults. */
export function applyLimitRangeDefaults(store: ObjectStore, pod: KubeObject): void {
  const ranges = store.listRaw(resourceByKind('LimitRange'), pod.metadata.namespace);
  for (const range of ranges) {
    const limits = Array.isArray(range.spec?.limits) ? range.spec.limits : [];
    for (const limit of limits) {
      if (!isObject(limit) || limit.type !== 'Container') continue;
      const defaults = isObject(limit.default) ? limit.default : {};
      const defaultRequests = isObject(limit.defaultRequest) ? limit.defaultRequest : {};
      for (const container of containersOf(pod.spec)) {
        const resources = isObject(container.resources) ? container.resources : {};
        const containerLimits = isObject(resources.limits) ? { ...resources.limits } : {};
        const requests = isObject(resources.requests) ? { ...resources.requests } : {};
        for (const [key, value] of Object.entries(defaults)) containerLimits[key] ??= value;
        for (const [key, value] of Object.entries(defaultRequests)) requests[key] ??= value;
        for (const [key, value] of Object.entries(containerLimits)) requests[key] ??= value;
        container.resources = {
          ...resources,
          ...(Object.keys(containerLimits).length ? { limits: containerLimits } : {}),
          ...(Object.keys(requests).length ? { requests } : {}),
        };
      }
    }
  }
}

/** Usage one object adds to a ResourceQuota, per quota resource name. */
export function quotaUsageOf(resource: ResourceType, object: KubeObject): Map<string, number> {
  const usage = new Map<string, number>();
  const add = (key: string, amount: number) => usage.set(key, (usage.get(key) ?? 0) + amount);
  if (resource.plural === 'pods') {
    const phase = isObject(object.status) ? object.status.phase : undefined;
    if (phase === 'Succeeded' || phase === 'Failed') return usage;
    add('pods', 1);
    add('count/pods', 1);
    const containers =
      isObject(object.spec) && Array.isArray(object.spec.containers) ? object.spec.containers.filter(isObject) : [];
    for (const container of containers) {
      const resources = isObject(container.resources) ? container.resources : {};
      for (const kind of ['requests', 'limits'] as const) {
        const values = isObject(resources[kind]) ? resources[kind] : {};
        for (const name of ['cpu', 'memory'] as const) {
          const value = values[name];
          if (value !== undefined) {
            add(`${kind}.${name}`, parseQuantity(value));
            if (kind === 'requests') add(name, parseQuantity(value));
          }
        }
      }
    }
  }
  if (resource.plural === 'services') {
    add('services', 1);
    add('count/services', 1);
    const type = isObject(object.spec) ? object.spec.type : undefined;
    if (type === 'NodePort' || type === 'LoadBalancer') {
      const ports = isObject(object.spec) && Array.isArray(object.spec.ports) ? object.spec.ports.length : 0;
      add('services.nodeports', ports);
    }
    if (type === 'LoadBalancer') add('services.loadbalancers', 1);
  }
  if (resource.plural === 'configmaps') add('configmaps', 1);
  if (resource.plural === 'serviceaccounts') add('count/serviceaccounts', 1);
  return usage;
}

/** Current usage of a namespace for one resource type. */
export function namespaceUsage(
  store: ObjectStore,
  resource: ResourceType,
  namespace: string,
  except?: string,
): Map<string, number> {
  const total = new Map<string, number>();
  for (const object of store.listRaw(resource, namespace)) {
    if (except && object.metadata.name === except) continue;
    for (const [key, amount] of quotaUsageOf(resource, object)) total.set(key, (total.get(key) ?? 0) + amount);
  }
  return total;
}

/** ResourceQuota admission: 403 `exceeded quota` or `failed quota: must specify` like the real API. */
export function checkQuota(store: ObjectStore, resource: ResourceType, object: KubeObject): void {
  const namespace = object.metadata.namespace;
  if (!namespace || (resource.plural !== 'pods' && resource.plural !== 'services' && resource.plural !== 'configmaps'))
    return;
  const quotas = store.listRaw(resourceByKind('ResourceQuota'), namespace);
  if (quotas.length === 0) return;
  const requested = quotaUsageOf(resource, object);
  const used = namespaceUsage(store, resource, namespace);
  for (const quota of [...quotas].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
    const hard = isObject(quota.spec?.hard) ? quota.spec.hard : {};
    if (resource.plural === 'pods') {
      const missing: string[] = [];
      for (const key of ['limits.cpu', 'limits.memory', 'requests.cpu', 'requests.memory']) {
        if (!(key in hard)) continue;
        const [kind, name] = key.split('.') as ['limits' | 'requests', string];
        const lacking = containersOf(object.spec)
          .filter((container) => {
            const resources = isObject(container.resources) ? container.resources : {};
            const values = isObject(resources[kind]) ? resources[kind] : {};
            return values[name] === undefined;
          })
          .map((container) => String(container.name));
        if (lacking.length > 0) missing.push(`${key} for: ${lacking.join(',')}`);
      }
      if (missing.length > 0) {
        throw forbidden(
          resource,
          object.metadata.name ?? '',
          `failed quota: ${quota.metadata.name}: must specify ${missing.join('; ')}`,
        );
      }
    }
    const exceeded: string[] = [];
    const requestedParts: string[] = [];
    const usedParts: string[] = [];
    const limitedParts: string[] = [];
    for (const [key, limitValue] of Object.entries(hard).sort(([a], [b]) => a.localeCompare(b))) {
      const amount = requested.get(key);
      if (!amount) continue;
      const limit = parseQuantity(limitValue);
      const current = used.get(key) ?? 0;
      if (current + amount > limit + 1e-9) {
        exceeded.push(key);
        requestedParts.push(`${key}=${formatResource(key, amount)}`);
        usedParts.push(`${key}=${formatResource(key, current)}`);
        limitedParts.push(`${key}=${formatResource(key, limit)}`);
      }
    }
    if (exceeded.length > 0) {
      throw forbidden(
        resource,
        object.metadata.name ?? '',
        `exceeded quota: ${quota.metadata.name}, requested: ${requestedParts.join(',')}, used: ${usedParts.join(',')}, limited: ${limitedParts.join(',')}`,
      );
    }
  }
}

const baselineCapabilities = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

function quoteList(items: string[]): string {
  return items.map((item) => `"${item}"`).join(', ');
}

function containerPhrase(names: string[]): string {
  return `container${names.length > 1 ? 's' : ''} ${quoteList(names)}`;
}

/** Pod Security Standards `restricted` checks; each failure is the real `reason (detail)` text. */
export function restrictedViolations(podSpec: JsonObject): string[] {
  const violations: string[] = [];
  const podContext = isObject(podSpec.securityContext) ? podSpec.securityContext : {};
  const containers = containersOf(podSpec);
  const contextOf = (container: JsonObject) => (isObject(container.securityContext) ? container.securityContext : {});
  const namesWhere = (test: (container: JsonObject, context: JsonObject) => boolean) =>
    containers.filter((c) => test(c, contextOf(c))).map((c) => String(c.name));

  const hostNamespaces = ['hostNetwork', 'hostPID', 'hostIPC'].filter((key) => podSpec[key] === true);
  if (hostNamespaces.length > 0)
    violations.push(`host namespaces (${hostNamespaces.map((k) => `${k}=true`).join(', ')})`);
  const privileged = namesWhere((_c, context) => context.privileged === true);
  if (privileged.length > 0)
    violations.push(`privileged (${containerPhrase(privileged)} must not set securityContext.privileged=true)`);
  const addedOf = (context: JsonObject): string[] => {
    const capabilities = isObject(context.capabilities) ? context.capabilities : {};
    return Array.isArray(capabilities.add) ? capabilities.add.map(String) : [];
  };
  const nonDefault = containers.flatMap((c) =>
    addedOf(contextOf(c))
      .filter((cap) => !baselineCapabilities.has(cap))
      .map((cap) => ({ name: String(c.name), cap })),
  );
  if (nonDefault.length > 0) {
    violations.push(
      `non-default capabilities (${nonDefault.map((entry) => `container "${entry.name}" must not include "${entry.cap}" in securityContext.capabilities.add`).join('; ')})`,
    );
  }
  const volumes = Array.isArray(podSpec.volumes) ? podSpec.volumes.filter(isObject) : [];
  const hostPath = volumes.filter((volume) => isObject(volume.hostPath)).map((volume) => String(volume.name));
  if (hostPath.length > 0)
    violations.push(`hostPath volumes (volume${hostPath.length > 1 ? 's' : ''} ${quoteList(hostPath)})`);
  const hostPorts = containers.flatMap((c) =>
    (Array.isArray(c.ports) ? c.ports.filter(isObject) : [])
      .filter((p) => typeof p.hostPort === 'number' && p.hostPort !== 0)
      .map((p) => `container "${String(c.name)}" uses hostPort ${String(p.hostPort)}`),
  );
  if (hostPorts.length > 0) violations.push(`hostPort (${hostPorts.join(', ')})`);
  const escalation = namesWhere((_c, context) => context.allowPrivilegeEscalation !== false);
  if (escalation.length > 0) {
    violations.push(
      `allowPrivilegeEscalation != false (${containerPhrase(escalation)} must set securityContext.allowPrivilegeEscalation=false)`,
    );
  }
  const dropsAll = (context: JsonObject) => {
    const capabilities = isObject(context.capabilities) ? context.capabilities : {};
    return Array.isArray(capabilities.drop) && capabilities.drop.includes('ALL');
  };
  const notDropping = namesWhere((_c, context) => !dropsAll(context));
  const addingMore = containers.flatMap((c) =>
    addedOf(contextOf(c))
      .filter((cap) => cap !== 'NET_BIND_SERVICE')
      .map((cap) => ({ name: String(c.name), cap })),
  );
  if (notDropping.length > 0 || addingMore.length > 0) {
    const parts: string[] = [];
    if (notDropping.length > 0)
      parts.push(`${containerPhrase(notDropping)} must set securityContext.capabilities.drop=["ALL"]`);
    for (const entry of addingMore)
      parts.push(`container "${entry.name}" must not include "${entry.cap}" in securityContext.capabilities.add`);
    violations.push(`unrestricted capabilities (${parts.join('; ')})`);
  }
  const restrictedVolumeTypes = new Set([
    'configMap',
    'csi',
    'downwardAPI',
    'emptyDir',
    'ephemeral',
    'persistentVolumeClaim',
    'projected',
    'secret',
    'name',
  ]);
  const badVolumes = volumes
    .filter((volume) => Object.keys(volume).some((key) => !restrictedVolumeTypes.has(key)))
    .map((v) => String(v.name));
  if (badVolumes.length > 0) {
    const types = [
      ...new Set(volumes.flatMap((volume) => Object.keys(volume).filter((key) => !restrictedVolumeTypes.has(key)))),
    ];
    violations.push(
      `restricted volume types (volume${badVolumes.length > 1 ? 's' : ''} ${quoteList(badVolumes)} use${badVolumes.length > 1 ? '' : 's'} restricted volume type${types.length > 1 ? 's' : ''} ${quoteList(types)})`,
    );
  }
  const podNonRoot = podContext.runAsNonRoot === true;
  const explicitRoot = namesWhere((_c, context) => context.runAsNonRoot === false);
  const missingNonRoot = namesWhere((_c, context) => context.runAsNonRoot === undefined && !podNonRoot);
  if (podContext.runAsNonRoot === false || explicitRoot.length > 0 || missingNonRoot.length > 0) {
    const parts: string[] = [];
    if (podContext.runAsNonRoot === false) parts.push('pod must not set securityContext.runAsNonRoot=false');
    if (explicitRoot.length > 0)
      parts.push(`${containerPhrase(explicitRoot)} must not set securityContext.runAsNonRoot=false`);
    if (missingNonRoot.length > 0)
      parts.push(`pod or ${containerPhrase(missingNonRoot)} must set securityContext.runAsNonRoot=true`);
    violations.push(`runAsNonRoot != true (${parts.join('; ')})`);
  }
  const rootUsers = namesWhere((_c, context) => context.runAsUser === 0);
  if (podContext.runAsUser === 0 || rootUsers.length > 0) {
    const parts: string[] = [];
    if (podContext.runAsUser === 0) parts.push('pod must not set runAsUser=0');
    if (rootUsers.length > 0) parts.push(`${containerPhrase(rootUsers)} must not set runAsUser=0`);
    violations.push(`runAsUser=0 (${parts.join('; ')})`);
  }
  const seccompType = (context: JsonObject) =>
    isObject(context.seccompProfile) ? context.seccompProfile.type : undefined;
  const podSeccomp = seccompType(podContext);
  const seccompOk = (value: unknown) => value === 'RuntimeDefault' || value === 'Localhost';
  const missingSeccomp = namesWhere((_c, context) => {
    const own = seccompType(context);
    return own === undefined ? !seccompOk(podSeccomp) : !seccompOk(own);
  });
  if (missingSeccomp.length > 0) {
    violations.push(
      `seccompProfile (pod or ${containerPhrase(missingSeccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
  }
  return violations;
}

export interface PodSecurityVerdict {
  /** Set when the request must be refused. */
  error?: ApiError;
  warnings: string[];
}

/** Pod Security Admission for a pod or a workload template, from the namespace's labels. */
export function checkPodSecurity(store: ObjectStore, resource: ResourceType, object: KubeObject): PodSecurityVerdict {
  const verdict: PodSecurityVerdict = { warnings: [] };
  const podSpec = podSpecOf(resource, object);
  if (!podSpec || !object.metadata.namespace) return verdict;
  const namespace = store.get(resourceByKind('Namespace'), undefined, object.metadata.namespace);
  const labels = namespace?.metadata.labels ?? {};
  const level = (mode: string) => labels[`pod-security.kubernetes.io/${mode}`];
  const version = (mode: string) => labels[`pod-security.kubernetes.io/${mode}-version`] ?? 'latest';
  const enforce = level('enforce');
  const warn = level('warn');
  if (enforce !== 'restricted' && warn !== 'restricted') return verdict;
  const violations = restrictedViolations(podSpec);
  if (violations.length === 0) return verdict;
  const detail = violations.join(', ');
  if (enforce === 'restricted') {
    const policy = `restricted:${version('enforce')}`;
    if (resource.plural === 'pods') {
      verdict.error = forbidden(resource, object.metadata.name ?? '', `violates PodSecurity "${policy}": ${detail}`);
    } else verdict.warnings.push(`would violate PodSecurity "${policy}": ${detail}`);
  }
  if (
    warn === 'restricted' &&
    !(enforce === 'restricted' && version('enforce') === version('warn') && resource.plural !== 'pods')
  ) {
    verdict.warnings.push(`would violate PodSecurity "restricted:${version('warn')}": ${detail}`);
  }
  return verdict;
}
