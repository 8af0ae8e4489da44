import type { ManifestProblem } from './parse.js';
import { formatPath } from './parse.js';

/** What a lab allows a learner's manifest to do. */
export interface ManifestPolicy {
  /** The lab namespace: the only one a manifest may name. */
  namespace: string;
  /** The most replicas one Deployment may ask for. */
  maxReplicas: number;
  /**
   * The images built for this lab: the name a learner may write (e.g. `rolling-update:v2`) → the built tag.
   * A built tag itself is accepted too.
   */
  images: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;
type Path = (string | number)[];

const isRecord = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The built tag an image reference means in this lab, or undefined when it was not built for it. */
export function resolveLabImage(image: string, policy: Pick<ManifestPolicy, 'images'>): string | undefined {
  const named = policy.images[image];
  if (named) return named;
  return Object.values(policy.images).includes(image) ? image : undefined;
}

function containerProblems(pod: Json, base: Path, policy: ManifestPolicy, refuse: (path: Path, why: string) => void) {
  for (const field of ['containers', 'initContainers', 'ephemeralContainers'] as const) {
    const list = pod[field];
    if (!Array.isArray(list)) continue;
    list.forEach((container, index) => {
      if (!isRecord(container)) return;
      const at = [...base, field, index];
      if (field === 'ephemeralContainers') {
        refuse(at, 'ephemeral containers are not allowed in a lab');
        return;
      }
      const image = container['image'];
      if (typeof image === 'string' && !resolveLabImage(image, policy)) {
        const known = Object.keys(policy.images);
        refuse(
          [...at, 'image'],
          `"${image.length > 40 ? `${image.slice(0, 39)}…` : image}" was not built for this lab; use ${
            known.length
              ? known
                  .slice(0, 2)
                  .map((name) => `"${name}"`)
                  .join(' or ')
              : "the lab's own image"
          }`,
        );
      }
      const security = container['securityContext'];
      if (!isRecord(security)) return;
      if (security['privileged'] === true)
        refuse([...at, 'securityContext', 'privileged'], 'privileged containers are not allowed');
      if (security['allowPrivilegeEscalation'] === true) {
        refuse([...at, 'securityContext', 'allowPrivilegeEscalation'], 'privilege escalation is not allowed');
      }
      const capabilities = security['capabilities'];
      if (isRecord(capabilities) && Array.isArray(capabilities['add']) && capabilities['add'].length > 0) {
        refuse(
          [...at, 'securityContext', 'capabilities', 'add'],
          'adding Linux capabilities is not allowed (labbot drops them all)',
        );
      }
      if (security['runAsUser'] === 0)
        refuse([...at, 'securityContext', 'runAsUser'], 'containers may not run as root (uid 0)');
      if (security['runAsNonRoot'] === false)
        refuse([...at, 'securityContext', 'runAsNonRoot'], 'containers may not run as root');
    });
  }
}

function podProblems(pod: Json, base: Path, policy: ManifestPolicy, refuse: (path: Path, why: string) => void) {
  const hostNamespaces = { hostNetwork: 'network', hostPID: 'process (PID)', hostIPC: 'IPC' } as const;
  for (const [host, what] of Object.entries(hostNamespaces)) {
    if (pod[host] === true) refuse([...base, host], `would share the node's ${what} namespace; it is not allowed`);
  }
  if (pod['nodeName'] !== undefined) refuse([...base, 'nodeName'], 'choosing the node is not allowed');
  const account = pod['serviceAccountName'] ?? pod['serviceAccount'];
  if (account !== undefined)
    refuse(
      [...base, pod['serviceAccountName'] !== undefined ? 'serviceAccountName' : 'serviceAccount'],
      'labbot sets the service account; leave it out',
    );
  if (pod['automountServiceAccountToken'] === true) {
    refuse([...base, 'automountServiceAccountToken'], 'lab pods get no service account token');
  }
  const security = pod['securityContext'];
  if (isRecord(security)) {
    if (security['runAsUser'] === 0)
      refuse([...base, 'securityContext', 'runAsUser'], 'pods may not run as root (uid 0)');
    if (security['runAsNonRoot'] === false)
      refuse([...base, 'securityContext', 'runAsNonRoot'], 'pods may not run as root');
  }
  const volumes = pod['volumes'];
  if (Array.isArray(volumes)) {
    volumes.forEach((volume, index) => {
      if (isRecord(volume) && volume['hostPath'] !== undefined) {
        refuse(
          [...base, 'volumes', index, 'hostPath'],
          "hostPath volumes would reach into the node's files; they are not allowed",
        );
      }
    });
  }
  containerProblems(pod, base, policy, refuse);
}

/**
 * The lab's policy over one schema-valid object: refused, with the field path and why, for anything that would
 * leave the sandbox or its ceilings. Pure.
 */
export function policyProblems(object: Json, policy: ManifestPolicy): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const refuse = (path: Path, message: string) => problems.push({ field: formatPath(path), message });
  const metadata = isRecord(object['metadata']) ? object['metadata'] : {};
  const namespace = metadata['namespace'];
  if (namespace !== undefined && namespace !== policy.namespace) {
    refuse(
      ['metadata', 'namespace'],
      `"${String(namespace).slice(0, 63)}" is another namespace; your lab can only use its own (leave it out)`,
    );
  }
  const spec = isRecord(object['spec']) ? object['spec'] : {};
  switch (object['kind']) {
    case 'Deployment': {
      const replicas = spec['replicas'];
      if (typeof replicas === 'number' && replicas > policy.maxReplicas) {
        refuse(['spec', 'replicas'], `${replicas} is above this lab's ceiling of ${policy.maxReplicas} replicas`);
      }
      const template = isRecord(spec['template']) ? spec['template'] : {};
      const pod = isRecord(template['spec']) ? template['spec'] : {};
      podProblems(pod, ['spec', 'template', 'spec'], policy, refuse);
      break;
    }
    case 'Service': {
      const type = spec['type'];
      if (type !== undefined && type !== 'ClusterIP') {
        refuse(
          ['spec', 'type'],
          `${String(type)} services would open the lab to the outside; only ClusterIP is allowed`,
        );
      }
      const ports = Array.isArray(spec['ports']) ? spec['ports'] : [];
      ports.forEach((port, index) => {
        if (isRecord(port) && port['nodePort'] !== undefined)
          refuse(['spec', 'ports', index, 'nodePort'], 'node ports are not allowed');
      });
      for (const field of ['externalIPs', 'externalName', 'loadBalancerIP'] as const) {
        if (spec[field] !== undefined) refuse(['spec', field], 'is not allowed in a lab');
      }
      break;
    }
  }
  return problems;
}
