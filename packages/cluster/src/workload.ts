import type { KubernetesObject } from '@kubernetes/client-node';
import { LabbotError } from '@labbot/core';
import { LEARNER_SERVICE_ACCOUNT } from './guard-rails.js';
import { assertDnsLabel, assertLabId, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './labels.js';

/** The uid lesson containers run as when the image sets no USER (the `app` user of labbot's base image). */
export const LAB_RUN_AS_USER = 10001;

export interface HardenDeploymentOptions {
  namespace: string;
  labId: string;
  /** The built lesson image; every container of the template runs it. */
  image: string;
  /** Mount the root filesystem read-only (when the lesson allows it). */
  readOnlyRootFilesystem?: boolean;
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): LabbotError {
  return new LabbotError('APPLY_INVALID', `deployment manifest: ${message}`, {
    userMessage: `The lesson's Deployment is not valid: ${message}.`,
  });
}

/**
 * The lesson's Deployment as labbot applies it: in the lab namespace, labelled as labbot's, and with a pod and
 * container securityContext that passes Pod Security "restricted" even when the image sets no USER.
 * Pure: returns a new object, the manifest is not modified.
 */
export function hardenDeployment(manifest: unknown, options: HardenDeploymentOptions): KubernetesObject {
  assertLabId(options.labId);
  assertDnsLabel(options.namespace, 'namespace');
  if (!isRecord(manifest)) throw invalid('it is not an object');
  const deployment = structuredClone(manifest) as Json;
  if (deployment['kind'] !== 'Deployment') throw invalid(`kind is ${String(deployment['kind'])}, not Deployment`);
  if (deployment['apiVersion'] !== 'apps/v1') throw invalid('apiVersion must be apps/v1');
  const metadata = deployment['metadata'];
  if (!isRecord(metadata) || typeof metadata['name'] !== 'string') throw invalid('metadata.name is missing');
  assertDnsLabel(metadata['name'], 'deployment name');
  const spec = deployment['spec'];
  if (!isRecord(spec)) throw invalid('spec is missing');
  const template = spec['template'];
  if (!isRecord(template)) throw invalid('spec.template is missing');
  const podSpec = template['spec'];
  if (!isRecord(podSpec)) throw invalid('spec.template.spec is missing');
  const containers = podSpec['containers'];
  if (!Array.isArray(containers) || containers.length === 0 || !containers.every(isRecord)) {
    throw invalid('spec.template.spec.containers is empty');
  }

  // Managed by labbot (the pod watch selects on it), and nothing per lab: the namespace says whose lab it is, so a
  // warm lab's Deployment and pods serve the learner it is handed to unchanged.
  const managed = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  metadata['namespace'] = options.namespace;
  metadata['labels'] = { ...(isRecord(metadata['labels']) ? metadata['labels'] : {}), ...managed };
  const templateMetadata = isRecord(template['metadata']) ? template['metadata'] : {};
  template['metadata'] = {
    ...templateMetadata,
    labels: { ...(isRecord(templateMetadata['labels']) ? templateMetadata['labels'] : {}), ...managed },
  };

  // Host namespaces would be refused by PSA restricted anyway; dropping them gives a clearer result.
  delete podSpec['hostNetwork'];
  delete podSpec['hostPID'];
  delete podSpec['hostIPC'];
  podSpec['serviceAccountName'] = LEARNER_SERVICE_ACCOUNT;
  podSpec['automountServiceAccountToken'] = false;
  const podSecurity = isRecord(podSpec['securityContext']) ? podSpec['securityContext'] : {};
  podSpec['securityContext'] = {
    ...podSecurity,
    runAsNonRoot: true,
    runAsUser: LAB_RUN_AS_USER,
    runAsGroup: LAB_RUN_AS_USER,
    fsGroup: LAB_RUN_AS_USER,
    seccompProfile: { type: 'RuntimeDefault' },
  };
  const hardenContainer = (container: Json, setImage: boolean): Json => {
    const current = isRecord(container['securityContext']) ? container['securityContext'] : {};
    const { privileged: _privileged, capabilities: _capabilities, ...rest } = current;
    return {
      ...container,
      ...(setImage ? { image: options.image } : {}),
      imagePullPolicy: container['imagePullPolicy'] ?? 'IfNotPresent',
      securityContext: {
        ...rest,
        runAsNonRoot: true,
        runAsUser: LAB_RUN_AS_USER,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
        readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? false,
      },
    };
  };
  podSpec['containers'] = containers.map((container) => hardenContainer(container, true));
  const initContainers = podSpec['initContainers'];
  if (Array.isArray(initContainers)) {
    podSpec['initContainers'] = initContainers.filter(isRecord).map((container) => hardenContainer(container, false));
  }
  return deployment as KubernetesObject;
}
