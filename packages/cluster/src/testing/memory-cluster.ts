import type { KubernetesObject } from '@kubernetes/client-node';
import { LabbotError } from '@labbot/core';
import { ClusterErrorCode } from '../cluster-errors.js';
import { type ClusterDriver, type LabNamespace, ownerLabelValue, type ProvisionNamespaceOptions } from '../driver.js';
import type { KubectlResult } from '../kubectl.js';
import { CLASS_LABEL, LAB_LABEL, LESSON_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../labels.js';
import { prepareLearnerManifest } from '../manifest/learner-manifest.js';
import type { WatchLabPodsOptions } from '../pod-watcher.js';
import type { Diagnosis, KubectlCommand, PodSummary } from '../types.js';

type DriverMethod = Exclude<keyof ClusterDriver, 'watchLabPods'>;

/** A working ClusterDriver in memory: namespaces, one Deployment per lab, pods a test sets. */
export interface MemoryClusterDriver extends ClusterDriver {
  /** Lab namespaces by name. */
  readonly namespaces: ReadonlyMap<string, LabNamespace>;
  /** The last Deployment applied per namespace. */
  readonly deployments: ReadonlyMap<string, KubernetesObject>;
  /** The driver methods called, in order (`applyDeployment:skipped` follows `applyDeployment` when nothing was applied). */
  readonly calls: readonly string[];
  /** Every kubectl command run, in order. */
  readonly kubectlCalls: { namespace: string; command: KubectlCommand }[];
  /** Makes the next call of `method` throw `error` (once). */
  failNext(method: DriverMethod, error: Error): void;
  /** Sets a lab's pods (and diagnosis); every pod watch gets the snapshot at once. */
  setPods(labId: string, pods: PodSummary[], diagnosis?: Diagnosis): void;
  /** What diagnoseNamespace answers for a namespace (e.g. PendingQuota from its events). */
  setNamespaceDiagnosis(namespace: string, diagnosis: Diagnosis | undefined): void;
  /** Makes a namespace vanish, as if someone deleted it behind labbot's back. */
  removeNamespace(namespace: string): void;
  /** Leaves a namespace as a provisioning cut off after the Namespace itself (no guard rails, no provisioned mark). */
  cutProvisioning(namespace: string): void;
}

export interface MemoryClusterDriverOptions {
  /** The clock for namespace creation times (default: the wall clock). */
  clock?: () => Date;
}

/**
 * The in-memory ClusterDriver for unit tests of the runner. It passes the same contract suite
 * (`describeClusterDriverContract`) as the real driver on kube-sim.
 */
export function createMemoryClusterDriver(options: MemoryClusterDriverOptions = {}): MemoryClusterDriver {
  const clock = options.clock ?? (() => new Date());
  const namespaces = new Map<string, LabNamespace>();
  /** What each namespace was last fully provisioned with (the real driver's provisioned mark). */
  const provisioned = new Map<string, string>();
  const provisionKey = (provision: ProvisionNamespaceOptions) =>
    JSON.stringify({ ...provision, expiresAt: new Date(provision.expiresAt).toISOString() });
  const deployments = new Map<string, KubernetesObject>();
  /** Pods by namespace (a namespace says whose lab it is, as in the real driver's pod watch). */
  const pods = new Map<string, { pods: PodSummary[]; diagnosis?: Diagnosis }>();
  const namespaceDiagnoses = new Map<string, Diagnosis>();
  const failures = new Map<DriverMethod, Error>();
  const watchers = new Set<WatchLabPodsOptions>();
  const kubectlCalls: { namespace: string; command: KubectlCommand }[] = [];
  const calls: string[] = [];

  const failing = (method: DriverMethod) => {
    calls.push(method);
    const error = failures.get(method);
    if (error) {
      failures.delete(method);
      throw error;
    }
  };
  const labOf = (namespace: string) => namespaces.get(namespace)?.labId;
  const namespaceOf = (labId: string) => [...namespaces.values()].find((ns) => ns.labId === labId)?.name;
  const tellWatchers = (labId: string, namespace: string) => {
    const entry = pods.get(namespace);
    for (const watcher of watchers)
      watcher.onSnapshot(labId, namespace, structuredClone(entry?.pods ?? []), entry?.diagnosis);
  };

  /** Creates or relabels a namespace (a warm lab handed over: the watch follows its pods for the new lab). */
  const putNamespace = (provision: ProvisionNamespaceOptions): KubernetesObject => {
    const existing = namespaces.get(provision.namespace);
    if (existing && existing.labId !== provision.labId)
      queueMicrotask(() => tellWatchers(provision.labId, provision.namespace));
    namespaces.set(provision.namespace, {
      name: provision.namespace,
      labId: provision.labId,
      ownerKey: ownerLabelValue(provision.owner),
      lessonId: provision.lessonId,
      classId: provision.classId,
      expiresAt: new Date(provision.expiresAt).toISOString(),
      createdAt: existing?.createdAt ?? clock().toISOString(),
      phase: 'Active',
    });
    return {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: provision.namespace,
        labels: {
          [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
          [LAB_LABEL]: provision.labId,
          [LESSON_LABEL]: provision.lessonId,
          ...(provision.classId ? { [CLASS_LABEL]: provision.classId } : {}),
        },
      },
    };
  };

  return {
    namespaces,
    deployments,
    calls,
    kubectlCalls,
    failNext: (method, error) => {
      failures.set(method, error);
    },
    setPods: (labId, list, diagnosis) => {
      const namespace = namespaceOf(labId) ?? `lab-${labId}`;
      pods.set(namespace, { pods: list, ...(diagnosis ? { diagnosis } : {}) });
      tellWatchers(labId, namespace);
    },
    setNamespaceDiagnosis: (namespace, diagnosis) => {
      if (diagnosis) namespaceDiagnoses.set(namespace, diagnosis);
      else namespaceDiagnoses.delete(namespace);
    },
    removeNamespace: (namespace) => {
      namespaces.delete(namespace);
      provisioned.delete(namespace);
      deployments.delete(namespace);
    },
    cutProvisioning: (namespace) => {
      provisioned.delete(namespace);
    },

    provisionNamespace: async (provision) => {
      failing('provisionNamespace');
      const objects = [putNamespace(provision)];
      provisioned.set(provision.namespace, provisionKey(provision));
      return { namespace: provision.namespace, objects };
    },
    relabelNamespace: async (provision) => {
      failing('relabelNamespace');
      if (!namespaces.has(provision.namespace)) {
        throw new LabbotError(ClusterErrorCode.notFound, `namespaces "${provision.namespace}" not found`, {
          context: { namespace: provision.namespace },
        });
      }
      // The handover applies the Namespace alone, which drops the provisioned mark.
      provisioned.delete(provision.namespace);
      return putNamespace(provision);
    },
    applyDeployment: async (apply) => {
      failing('applyDeployment');
      if (!namespaces.has(apply.namespace)) {
        throw new LabbotError(ClusterErrorCode.notFound, `namespaces "${apply.namespace}" not found`, {
          context: { namespace: apply.namespace },
        });
      }
      const manifest = structuredClone(apply.manifest) as KubernetesObject & {
        spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
      };
      for (const container of manifest.spec?.template?.spec?.containers ?? []) container.image = apply.image;
      manifest.metadata = {
        ...manifest.metadata,
        namespace: apply.namespace,
        labels: { ...manifest.metadata?.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
      };
      const live = deployments.get(apply.namespace);
      if (apply.unlessUnchanged && live && JSON.stringify(live) === JSON.stringify(manifest)) {
        calls.push('applyDeployment:skipped');
        return structuredClone(live);
      }
      deployments.set(apply.namespace, manifest);
      return manifest;
    },
    applyLearnerManifest: async (text, manifestOptions) => {
      failing('applyLearnerManifest');
      // The same parse, schema and policy checks as the real driver: a refusal applies nothing.
      const prepared = prepareLearnerManifest(text, manifestOptions);
      if (!prepared.ok) return prepared;
      const applied = prepared.objects.map((object) => ({
        kind: object.kind ?? '',
        name: object.metadata?.name ?? '',
      }));
      let desiredReplicas = 0;
      for (const object of prepared.objects) {
        if (object.kind !== 'Deployment') continue;
        deployments.set(manifestOptions.namespace, object);
        desiredReplicas += (object as { spec?: { replicas?: number } }).spec?.replicas ?? 1;
      }
      return { ok: true, applied, desiredReplicas };
    },
    watchLabPods: (watch) => {
      watchers.add(watch);
      return {
        synced: Promise.resolve(),
        podsOf: (labId) => structuredClone(pods.get(namespaceOf(labId) ?? '')?.pods ?? []),
        stop: async () => {
          watchers.delete(watch);
        },
      };
    },
    listPods: async (namespace) => {
      failing('listPods');
      return structuredClone(labOf(namespace) ? (pods.get(namespace)?.pods ?? []) : []);
    },
    diagnoseNamespace: async (namespace) => {
      failing('diagnoseNamespace');
      return namespaceDiagnoses.get(namespace);
    },
    kubectl: async (namespace, command): Promise<KubectlResult> => {
      failing('kubectl');
      kubectlCalls.push({ namespace, command });
      if (!namespaces.has(namespace))
        return { ok: false, text: `Error from server (NotFound): namespaces "${namespace}" not found` };
      return { ok: true, text: `${command.verb} done\n` };
    },
    deleteNamespace: async (namespace) => {
      failing('deleteNamespace');
      namespaces.delete(namespace);
      provisioned.delete(namespace);
      deployments.delete(namespace);
      pods.delete(namespace);
    },
    listLabNamespaces: async () => {
      failing('listLabNamespaces');
      return structuredClone([...namespaces.values()]);
    },
    readLabNamespace: async (namespace) => {
      failing('readLabNamespace');
      const found = namespaces.get(namespace);
      return found ? structuredClone(found) : undefined;
    },
    namespaceProvisioned: async (provision) => {
      failing('namespaceProvisioned');
      const found = namespaces.get(provision.namespace);
      return (
        found?.labId === provision.labId &&
        found.phase === 'Active' &&
        provisioned.get(provision.namespace) === provisionKey(provision)
      );
    },
    // Pages in name order of what existed at the first page, as the API server reads every page at one version.
    async *listLabNamespacePages(pageOptions = {}) {
      failing('listLabNamespacePages');
      const pageSize = pageOptions.pageSize ?? 250;
      const listed = structuredClone([...namespaces.values()].sort((a, b) => (a.name < b.name ? -1 : 1)));
      for (let start = 0; start === 0 || start < listed.length; start += pageSize)
        yield listed.slice(start, start + pageSize);
    },
    checkConnection: async () => {
      failing('checkConnection');
      return { gitVersion: 'v1.32.0-memory' };
    },
  };
}
