import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  type V1Namespace,
  VersionApi,
} from '@kubernetes/client-node';
import type { Logger } from '@labbot/config';
import { LabbotError, type LabOwner, ownerKeyFor } from '@labbot/core';
import { httpStatusOf, toClusterError } from './cluster-errors.js';
import { diagnose } from './diagnose.js';
import {
  buildNamespaceObjects,
  buildRunnerRoleBinding,
  type ClusterCeilings,
  guardRailLabels,
  learnerUsername,
  type ProvisionNamespaceOptions as NamespaceObjectsOptions,
} from './guard-rails.js';
import { type KubectlResult, runKubectl } from './kubectl.js';
import {
  assertDnsLabel,
  CLASS_LABEL,
  EXPIRES_AT_ANNOTATION,
  LAB_LABEL,
  LESSON_LABEL,
  labelHash,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  MANAGED_SELECTOR,
  OWNER_LABEL,
} from './labels.js';
import { type LearnerManifestOptions, prepareLearnerManifest } from './manifest/learner-manifest.js';
import type { ManifestProblem } from './manifest/parse.js';
import { droppedFields, toModelForm, toPlainObject } from './model-form.js';
import { LAB_MANAGER_CLUSTER_ROLE, subjectOf, whoAmI } from './permissions.js';
import { isoTime, podSummary } from './pod-summary.js';
import { type LabPodWatch, type WatchLabPodsOptions, watchLabPods } from './pod-watcher.js';
import { shareConnections } from './shared-connections.js';
import type { Diagnosis, KubectlCommand, PodSummary } from './types.js';
import { hardenDeployment } from './workload.js';

export interface ClusterDriverOptions {
  kubeConfig: KubeConfig;
  /** Server-side apply field manager. Default `labbot`. */
  fieldManager?: string;
  /** The most CPU, memory and pods an operator allows one lab namespace. */
  ceilings: ClusterCeilings;
  logger?: Logger;
  /** Clock seam (ages in kubectl tables, event recency in diagnoses). */
  now?: () => Date;
  /** Longest a learner's `rollout status` waits. Default 60 s. */
  rolloutTimeoutMs?: number;
  /** The ClusterRole the runner binds to itself in each lab namespace. Default `labbot-lab-manager`. */
  labManagerClusterRole?: string;
  /** Where lab images come from, as the cluster pulls them. */
  imagePull?: ImagePullOptions;
  /**
   * Tries per API request when the answer may be better in a moment (5xx, 429, 409 Conflict, no connection),
   * before the error reaches the reconciler or the learner (default 4).
   */
  requestAttempts?: number;
  /** First delay between those tries, doubled each time and jittered (default 100 ms). */
  requestRetryBaseMs?: number;
}

export interface ImagePullOptions {
  /** The registry the builder pushes to (`host:port`). */
  registry: string;
  /** The same registry as the cluster's nodes reach it, when that differs (LABBOT_REGISTRY_PULL). */
  pullRegistry?: string;
  /** Credentials: each lab namespace gets an imagePullSecret with them, and every lab pod references it. */
  credentials?: { username: string; password: string };
}

/** The imagePullSecret every lab namespace gets when the registry needs a login. */
export const PULL_SECRET_NAME = 'labbot-registry';

/** A `kubernetes.io/dockerconfigjson` Secret for one registry. */
export function buildPullSecret(
  namespace: string,
  registry: string,
  credentials: { username: string; password: string },
): KubernetesObject {
  const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
  const config = { auths: { [registry]: { username: credentials.username, password: credentials.password, auth } } };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: PULL_SECRET_NAME,
      namespace,
      labels: guardRailLabels(),
    },
    type: 'kubernetes.io/dockerconfigjson',
    data: { '.dockerconfigjson': Buffer.from(JSON.stringify(config)).toString('base64') },
  } as KubernetesObject;
}

/** The same cluster and credentials, acting as `username` (the Impersonate-User header). */
export function impersonating(kubeConfig: KubeConfig, username: string): KubeConfig {
  const copy = new KubeConfig();
  const current = kubeConfig.getCurrentUser()?.name;
  copy.loadFromOptions({
    clusters: kubeConfig.clusters,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
    users: kubeConfig.users.map((user) => (user.name === current ? { ...user, impersonateUser: username } : user)),
  });
  // The same TLS connections as the runner's own requests: impersonation is a header.
  return shareConnections(copy, kubeConfig);
}

export interface ProvisionNamespaceOptions extends Omit<NamespaceObjectsOptions, 'ownerKey'> {
  /** The learner: core's LabOwner (stored as core's owner key), or an owner key / opaque owner id (stored hashed). */
  owner: LabOwner | string;
}

/** The API server refused to change a workload's selector (it is immutable once created). */
function isImmutableSelector(error: unknown): boolean {
  return (
    error instanceof LabbotError &&
    error.context['httpStatus'] === 422 &&
    /spec\.selector.*field is immutable/.test(error.message)
  );
}

/** The owner label value: core's owner key for a LabOwner; a 12-hex owner key as is; anything else hashed. */
export function ownerLabelValue(owner: LabOwner | string): string {
  if (typeof owner !== 'string') return ownerKeyFor(owner);
  return /^[0-9a-f]{12}$/.test(owner) ? owner : labelHash(owner);
}

export interface ApplyDeploymentOptions {
  namespace: string;
  labId: string;
  /** The Deployment rendered from the lesson's template (an object). */
  manifest: unknown;
  /** The built lesson image every container runs. */
  image: string;
  /** Mount the root filesystem read-only (when the lesson allows). */
  readOnlyRootFilesystem?: boolean;
  /**
   * The Deployment may be there already (a retried or taken-over reconcile): one GET first, and no apply when it
   * holds what this apply would write (same spec labbot applied, replicas and images).
   */
  unlessUnchanged?: boolean;
}

/** On a lab Deployment: a hash of what labbot last applied, so a GET tells whether applying again changes it. */
export const APPLIED_SPEC_ANNOTATION = 'labbot.dev/applied-spec';
/** On a lab Namespace, set after its last guard rail: a hash of every object provisioning applied. */
const PROVISIONED_ANNOTATION = 'labbot.dev/provisioned';

interface DeploymentShape {
  metadata?: { annotations?: Record<string, string>; deletionTimestamp?: unknown };
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
}

/** The live Deployment holds what labbot would apply now (its hash) and nobody scaled or re-imaged it since. */
function holdsApplied(live: DeploymentShape, wanted: DeploymentShape, hash: string): boolean {
  const images = (deployment: DeploymentShape) =>
    JSON.stringify(deployment.spec?.template?.spec?.containers?.map((container) => container.image) ?? []);
  return (
    !live.metadata?.deletionTimestamp &&
    live.metadata?.annotations?.[APPLIED_SPEC_ANNOTATION] === hash &&
    (live.spec?.replicas ?? 1) === (wanted.spec?.replicas ?? 1) &&
    images(live) === images(wanted)
  );
}

/** What became of a learner's manifest: applied objects, or the problems that kept it away from the cluster. */
export type LearnerApplyResult =
  | { ok: true; applied: { kind: string; name: string }[]; desiredReplicas: number }
  | { ok: false; problems: ManifestProblem[] };

export interface DeleteNamespaceOptions {
  /** Wait until the namespace is gone. Default true. */
  wait?: boolean;
  /** How long to wait. Default 60 s. */
  timeoutMs?: number;
  /** First wait between reads while waiting, doubled up to 1 s. Default 250 ms. */
  pollMs?: number;
}

/** A lab namespace as the janitor sees it. */
export interface LabNamespace {
  name: string;
  labId: string | undefined;
  ownerKey: string | undefined;
  lessonId: string | undefined;
  classId: string | undefined;
  expiresAt: string | undefined;
  createdAt: string | undefined;
  /** Active or Terminating. */
  phase: string | undefined;
}

/** Lab namespaces per page of `listLabNamespacePages`. */
const NAMESPACE_PAGE_SIZE = 250;

export interface ClusterDriver {
  /** Creates or updates (server-side apply) the lab namespace and every guard rail; idempotent. */
  provisionNamespace(options: ProvisionNamespaceOptions): Promise<{ namespace: string; objects: KubernetesObject[] }>;
  /**
   * A ready lab namespace handed to another lab (a warm lab on Join): only its Namespace is applied again, with the
   * new lab's labels (lab, owner, class; the warm label goes) and expiry. Its guard rails, Deployment and pods name no
   * lab, so they stay as they are. CLUSTER_NOT_FOUND when the namespace is gone.
   */
  relabelNamespace(options: ProvisionNamespaceOptions): Promise<KubernetesObject>;
  /** Applies the lesson's Deployment with lab labels and a PSA-restricted securityContext; returns what the API stored. */
  applyDeployment(options: ApplyDeploymentOptions): Promise<KubernetesObject>;
  /**
   * A learner's own manifest: parsed, schema-validated and policy-checked (nothing is sent on a refusal), then
   * server-side applied under labbot's field manager. `desiredReplicas` sums the namespace's Deployments afterwards.
   */
  applyLearnerManifest(text: string, options: LearnerManifestOptions): Promise<LearnerApplyResult>;
  /** ONE shared cluster-wide watch over lab pods, reported as debounced per-lab snapshots. */
  watchLabPods(options: WatchLabPodsOptions): LabPodWatch;
  /** The pods of a lab namespace, summarised. */
  listPods(namespace: string): Promise<PodSummary[]>;
  /** Pods + recent events of a namespace → plain-language diagnosis (quota/PSA refusals need the events). */
  diagnoseNamespace(namespace: string): Promise<Diagnosis | undefined>;
  /** One allowed kubectl command, confined to the lab namespace. */
  kubectl(namespace: string, command: KubectlCommand): Promise<KubectlResult>;
  /** Deletes a labbot namespace and (by default) waits until it is gone; absent is success. */
  deleteNamespace(namespace: string, options?: DeleteNamespaceOptions): Promise<void>;
  /** Every namespace labbot manages (label app.kubernetes.io/managed-by=labbot). */
  listLabNamespaces(): Promise<LabNamespace[]>;
  /**
   * Whether provisionNamespace(options) would change nothing (one GET): the namespace is labbot's, this lab's and
   * Active, and carries the mark provisionNamespace sets after its last object, for exactly these objects. A
   * namespace whose provisioning was cut off (its RoleBindings not applied yet) or that holds older guard rails is not.
   */
  namespaceProvisioned(options: ProvisionNamespaceOptions): Promise<boolean>;
  /** One labbot namespace by name (one GET), as the lists give it; undefined when absent or not labbot's. */
  readLabNamespace(namespace: string): Promise<LabNamespace | undefined>;
  /**
   * The same namespaces a page at a time (`limit`/`continue`, as kubectl lists), so a caller that looks at every one
   * holds one page of them, not the whole list: the janitor's sweep, with 1,000 labs every 30 s. Every page is read at
   * the first page's resource version, so each namespace comes once. Default page size 250.
   */
  listLabNamespacePages(options?: { pageSize?: number }): AsyncIterable<LabNamespace[]>;
  /** One cheap request (`GET /version`): throws CLUSTER_UNAVAILABLE when the API does not answer. */
  checkConnection(): Promise<{ gitVersion: string }>;
}

/** A namespace as the janitor and the reconciler see it: the lab, learner and lesson its labels name. */
function labNamespaceOf(namespace: V1Namespace): LabNamespace {
  const labels = namespace.metadata?.labels ?? {};
  return {
    name: namespace.metadata?.name ?? '',
    labId: labels[LAB_LABEL],
    ownerKey: labels[OWNER_LABEL],
    lessonId: labels[LESSON_LABEL],
    classId: labels[CLASS_LABEL],
    expiresAt: namespace.metadata?.annotations?.[EXPIRES_AT_ANNOTATION],
    createdAt: isoTime(namespace.metadata?.creationTimestamp),
    // A namespace being deleted is Terminating (the API server sets the phase with the deletion timestamp).
    phase: namespace.metadata?.deletionTimestamp ? 'Terminating' : namespace.status?.phase,
  };
}

/** The Kubernetes driver of labbot: every call goes through @kubernetes/client-node to a real or simulated API. */
export function createClusterDriver(options: ClusterDriverOptions): ClusterDriver {
  const { ceilings, logger } = options;
  const kubeConfig = shareConnections(options.kubeConfig);
  const fieldManager = options.fieldManager ?? 'labbot';
  const now = options.now ?? (() => new Date());
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const version = kubeConfig.makeApiClient(VersionApi);
  const labManagerRole = options.labManagerClusterRole ?? LAB_MANAGER_CLUSTER_ROLE;
  // Who the runner is, asked once: the subject of its RoleBinding in every lab namespace.
  let self: Promise<ReturnType<typeof subjectOf>> | undefined;
  const runnerSubject = () => {
    self ??= whoAmI(kubeConfig).then(
      (user) => subjectOf(user.username),
      (error: unknown) => {
        self = undefined;
        throw error;
      },
    );
    return self;
  };

  /** Every object provisioning a lab namespace applies, in order, and the hash of all of them (the provisioned mark). */
  async function provisioningOf(provision: ProvisionNamespaceOptions) {
    const { owner, ...rest } = provision;
    const [namespaceObject, ...namespaced] = buildNamespaceObjects(
      { ...rest, ownerKey: ownerLabelValue(owner) },
      ceilings,
    );
    if (!namespaceObject) throw new Error('no namespace object built');
    const binding = buildRunnerRoleBinding(provision.namespace, await runnerSubject(), labManagerRole);
    const bindings = namespaced.filter((object) => object.kind === 'RoleBinding');
    const others = namespaced.filter((object) => object.kind !== 'RoleBinding');
    const pull = options.imagePull;
    if (pull?.credentials)
      others.push(buildPullSecret(provision.namespace, pull.pullRegistry ?? pull.registry, pull.credentials));
    // A pull secret counts by its name only: its credentials stay out of an annotation anyone may read.
    const marked = [namespaceObject, binding, ...others, ...bindings].map((object) =>
      object.kind === 'Secret' ? { kind: object.kind, metadata: object.metadata } : object,
    );
    const mark = labelHash(JSON.stringify(marked), 32);
    return { namespaceObject, binding, others, bindings, mark };
  }

  // client-node caches API discovery per apiVersion only once its first answer is in, so labs starting together
  // would each ask: the first apply of an apiVersion goes alone, the others wait for it and use the cache.
  const firstApplyOfVersion = new Map<string, Promise<unknown>>();
  const apply = async (object: KubernetesObject, model = toModelForm(object)): Promise<KubernetesObject> => {
    const apiVersion = object.apiVersion ?? '';
    const first = firstApplyOfVersion.get(apiVersion);
    if (first) await first.catch(() => {});
    else {
      const applying = applyNow(object, model);
      firstApplyOfVersion.set(apiVersion, applying);
      applying.catch(() => firstApplyOfVersion.delete(apiVersion));
      return applying;
    }
    return applyNow(object, model);
  };

  const requestAttempts = Math.max(1, options.requestAttempts ?? 4);
  const retryBaseMs = options.requestRetryBaseMs ?? 100;
  /** Runs one API request, again after a short jittered wait while its error is retryable and tries are left. */
  const withRetries = async <T>(action: string, request: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await request();
      } catch (error) {
        // Raw client errors too (kubectl's requests keep them, to tell a 404 apart): the same verdict as once mapped.
        if (!toClusterError(error, action).retryable || attempt >= requestAttempts) throw error;
        logger?.debug({ err: error, action, attempt }, 'Kubernetes API request failed; trying again');
        await new Promise((resolve) => setTimeout(resolve, retryBaseMs * 2 ** (attempt - 1) * (0.5 + Math.random())));
      }
    }
  };

  const applyNow = (
    object: KubernetesObject,
    model: KubernetesObject,
    manager = fieldManager,
  ): Promise<KubernetesObject> =>
    withRetries(`apply ${object.kind ?? '?'}`, async () => {
      try {
        const applied = await objects.patch(model, undefined, undefined, manager, true, PatchStrategy.ServerSideApply);
        return toPlainObject(applied);
      } catch (error) {
        throw toClusterError(error, `apply ${object.kind ?? '?'} ${object.metadata?.name ?? '?'}`, {
          namespace: object.metadata?.namespace,
        });
      }
    });

  /** An API client whose every request is tried again like the driver's own (kubectl: one request retried, never a whole command). */
  const retrying = <T extends object>(client: T, action: string): T =>
    new Proxy(client, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          withRetries(`${action} ${String(property)}`, () => Promise.resolve(value.apply(target, args)));
      },
    });

  const call = <T>(action: string, request: () => Promise<T>, namespace?: string): Promise<T> =>
    withRetries(action, async () => {
      try {
        return await request();
      } catch (error) {
        throw toClusterError(error, action, { namespace });
      }
    });

  /** One GET, retried like every request: undefined when the object is absent (404), else a cluster error. */
  const readIfPresent = <T>(action: string, context: Record<string, string>, request: () => Promise<T>) =>
    withRetries(action, async () => {
      try {
        return await request();
      } catch (error) {
        if (httpStatusOf(error) === 404) return undefined;
        throw toClusterError(error, action, context);
      }
    });
  const readNamespace = (namespace: string) =>
    readIfPresent('read namespace', { namespace }, () => core.readNamespace({ name: namespace }));

  async function* labNamespacePages(pageSize = NAMESPACE_PAGE_SIZE): AsyncGenerator<LabNamespace[]> {
    let next: string | undefined;
    do {
      const page = await call('list lab namespaces', () =>
        core.listNamespace({ labelSelector: MANAGED_SELECTOR, limit: pageSize, ...(next ? { _continue: next } : {}) }),
      );
      next = page.metadata?._continue || undefined;
      yield page.items.map(labNamespaceOf);
    } while (next);
  }

  return {
    async provisionNamespace(provision) {
      const { namespaceObject, binding, others, bindings, mark } = await provisioningOf(provision);
      const applied = [await apply(namespaceObject)];
      // The runner's write access inside the namespace comes from this binding, so it goes first.
      applied.push(await apply(binding));
      // The rest apply together, except bindings: the API server resolves a binding's role when it checks
      // that the runner may grant it, so each binding waits for the roles.
      applied.push(...(await Promise.all(others.map((object) => apply(object)))));
      applied.push(...(await Promise.all(bindings.map((object) => apply(object)))));
      // Last: the mark that everything above stands, which namespaceProvisioned reads. It has a field manager of its
      // own, so the Namespace apply above (and a handover's) leaves it alone and applying all again changes nothing.
      const marker = {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: provision.namespace, annotations: { [PROVISIONED_ANNOTATION]: mark } },
      };
      applied[0] = await applyNow(marker, toModelForm(marker), `${fieldManager}-provisioned`);
      logger?.info({ namespace: provision.namespace, labId: provision.labId }, 'lab namespace provisioned');
      return { namespace: provision.namespace, objects: applied };
    },

    async readLabNamespace(namespace) {
      const found = await readNamespace(namespace);
      return found?.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE ? labNamespaceOf(found) : undefined;
    },

    async namespaceProvisioned(provision) {
      const { mark } = await provisioningOf(provision);
      const found = await readNamespace(provision.namespace);
      if (!found || found.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return false;
      const seen = labNamespaceOf(found);
      return (
        seen.labId === provision.labId &&
        seen.phase === 'Active' &&
        found.metadata?.annotations?.[PROVISIONED_ANNOTATION] === mark
      );
    },

    async relabelNamespace(provision) {
      const { owner, ...rest } = provision;
      const [namespaceObject] = buildNamespaceObjects({ ...rest, ownerKey: ownerLabelValue(owner) }, ceilings);
      if (!namespaceObject) throw new Error('no namespace object built');
      // Server-side apply would create a namespace that is gone: a handover needs the one that exists.
      await core.readNamespace({ name: provision.namespace }).catch((error: unknown) => {
        throw toClusterError(error, 'read namespace', { namespace: provision.namespace });
      });
      const applied = await apply(namespaceObject);
      logger?.info({ namespace: provision.namespace, labId: provision.labId }, 'lab namespace relabelled');
      return applied;
    },

    async applyDeployment(deployment) {
      const pull = options.imagePull;
      // The image as the nodes pull it: the pull address of the registry, with the namespace's pull secret.
      const image =
        pull?.pullRegistry && deployment.image.startsWith(`${pull.registry}/`)
          ? `${pull.pullRegistry}/${deployment.image.slice(pull.registry.length + 1)}`
          : deployment.image;
      const hardened = hardenDeployment(deployment.manifest, { ...deployment, image });
      if (pull?.credentials) {
        const podSpec = (hardened as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template?.spec;
        if (podSpec) podSpec.imagePullSecrets = [{ name: PULL_SECRET_NAME }];
      }
      const hash = labelHash(JSON.stringify(hardened), 32);
      hardened.metadata = {
        ...hardened.metadata,
        annotations: { ...hardened.metadata?.annotations, [APPLIED_SPEC_ANNOTATION]: hash },
      };
      const name = hardened.metadata.name ?? '';
      const namespace = deployment.namespace;
      if (deployment.unlessUnchanged) {
        const live = await readIfPresent('read deployment', { namespace }, () =>
          apps.readNamespacedDeployment({ name, namespace }),
        );
        if (live && holdsApplied(live as DeploymentShape, hardened as DeploymentShape, hash)) {
          logger?.info({ namespace, labId: deployment.labId, deployment: name }, 'lab deployment unchanged');
          return { ...toPlainObject(live), apiVersion: 'apps/v1', kind: 'Deployment' };
        }
      }
      const model = toModelForm(hardened);
      // Like kubectl's strict field validation: a field the schema does not know (a typo) is an error, not ignored.
      const unknown = droppedFields(hardened, toPlainObject(model));
      if (unknown.length > 0) {
        throw new LabbotError('APPLY_INVALID', `deployment has unknown fields: ${unknown.join(', ')}`, {
          userMessage: `The lesson's Deployment has fields Kubernetes does not know: ${unknown.slice(0, 5).join(', ')}.`,
          context: { namespace: deployment.namespace, labId: deployment.labId },
        });
      }
      let applied: Awaited<ReturnType<typeof apply>>;
      try {
        applied = await apply(hardened, model);
      } catch (error) {
        if (!isImmutableSelector(error)) throw error;
        // The namespace holds another lab's Deployment (a warm lab handed to a learner): its selector names that
        // lab and cannot change, so it is replaced; its ReplicaSets and pods go with it (background deletion).
        await call(
          'replace the deployment of another lab',
          () => apps.deleteNamespacedDeployment({ name, namespace, propagationPolicy: 'Background' }),
          namespace,
        );
        applied = await apply(hardened, model);
      }
      logger?.info(
        { namespace: deployment.namespace, labId: deployment.labId, deployment: hardened.metadata?.name },
        'lab deployment applied',
      );
      return applied;
    },

    async applyLearnerManifest(text, manifestOptions) {
      assertDnsLabel(manifestOptions.namespace, 'namespace');
      const prepared = prepareLearnerManifest(text, manifestOptions);
      if (!prepared.ok) return prepared;
      const applied: { kind: string; name: string }[] = [];
      // In order: a ConfigMap or Service before the Deployment that uses it, as kubectl applies a file.
      for (const object of prepared.objects) {
        await apply(object);
        applied.push({ kind: object.kind ?? '', name: object.metadata?.name ?? '' });
      }
      const namespace = manifestOptions.namespace;
      const deployments = await call('list deployments', () => apps.listNamespacedDeployment({ namespace }), namespace);
      const desiredReplicas = deployments.items.reduce((sum, item) => sum + (item.spec?.replicas ?? 1), 0);
      logger?.info({ namespace, labId: manifestOptions.labId, applied }, 'learner manifest applied');
      return { ok: true, applied, desiredReplicas };
    },

    watchLabPods: (watchOptions) => watchLabPods(kubeConfig, watchOptions, logger),

    async listPods(namespace) {
      assertDnsLabel(namespace, 'namespace');
      const pods = await call('list pods', () => core.listNamespacedPod({ namespace }), namespace);
      return pods.items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '')).map(podSummary);
    },

    async diagnoseNamespace(namespace) {
      assertDnsLabel(namespace, 'namespace');
      const [pods, events] = await call(
        'diagnose',
        () => Promise.all([core.listNamespacedPod({ namespace }), core.listNamespacedEvent({ namespace })]),
        namespace,
      );
      return diagnose(pods.items, events.items, { now: now() });
    },

    async kubectl(namespace, command) {
      assertDnsLabel(namespace, 'namespace');
      // As the lab's learner ServiceAccount: RBAC confines the command to the lab, beyond the parser.
      // A rollout undo writes the Deployment the learner may only read: labbot makes that one change, as it
      // applies a learner's manifest (the template comes back from one of the lab's own ReplicaSets).
      const learner =
        command.verb === 'rollout-undo' ? kubeConfig : impersonating(kubeConfig, learnerUsername(namespace));
      return runKubectl(
        {
          core: retrying(learner.makeApiClient(CoreV1Api), `kubectl ${command.verb}`),
          apps: retrying(learner.makeApiClient(AppsV1Api), `kubectl ${command.verb}`),
          namespace,
          now,
          ...(options.rolloutTimeoutMs ? { rolloutTimeoutMs: options.rolloutTimeoutMs } : {}),
        },
        command,
      );
    },

    async deleteNamespace(namespace, deleteOptions = {}) {
      assertDnsLabel(namespace, 'namespace');
      const existing = await readNamespace(namespace);
      if (!existing) return;
      if (existing.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
        throw new LabbotError('CLUSTER_FORBIDDEN', `namespace ${namespace} is not managed by labbot`, {
          context: { namespace },
        });
      }
      if (!existing.metadata?.deletionTimestamp) {
        await withRetries('delete namespace', async () => {
          try {
            await core.deleteNamespace({ name: namespace, propagationPolicy: 'Background' });
          } catch (error) {
            if (httpStatusOf(error) !== 404) throw toClusterError(error, 'delete namespace', { namespace });
          }
        });
      }
      if (deleteOptions.wait === false) return;
      const timeoutMs = deleteOptions.timeoutMs ?? 60_000;
      const pollMs = deleteOptions.pollMs ?? 250;
      const deadline = Date.now() + timeoutMs;
      // The wait doubles from pollMs up to 1 s: a namespace takes seconds to go, and each read is a request (with
      // client-node 2, a connection of its own) times every lab torn down at once (1,000 at a class's end).
      for (let poll = 0, waitMs = pollMs; poll <= Math.ceil(timeoutMs / pollMs); poll++) {
        if (!(await readNamespace(namespace))) {
          logger?.info({ namespace }, 'lab namespace deleted');
          return;
        }
        if (Date.now() >= deadline) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, Math.max(0, deadline - Date.now()))));
        waitMs = Math.min(waitMs * 2, Math.max(pollMs, 1000));
      }
      throw new LabbotError('CLUSTER_TIMEOUT', `namespace ${namespace} still exists after ${timeoutMs} ms`, {
        retryable: true,
        userMessage: 'Your lab is taking longer than usual to shut down; it will be cleaned up shortly.',
        context: { namespace, timeoutMs },
      });
    },

    async listLabNamespaces() {
      const all: LabNamespace[] = [];
      for await (const page of labNamespacePages()) all.push(...page);
      return all;
    },

    listLabNamespacePages: (pageOptions = {}) => labNamespacePages(pageOptions.pageSize),

    async checkConnection() {
      const info = await call('check connection', () => version.getCode());
      return { gitVersion: info.gitVersion };
    },
  };
}
