import type { KubernetesObject } from '@kubernetes/client-node';
import { labLabels } from '../guard-rails.js';
import { hardenDeployment } from '../workload.js';
import { type ManifestProblem, type ParseManifestOptions, parseManifest } from './parse.js';
import { type ManifestPolicy, policyProblems, resolveLabImage } from './policy.js';
import { validateManifestObject } from './schema.js';

export interface LearnerManifestOptions extends ManifestPolicy, ParseManifestOptions {
  labId: string;
  /** Mount the root filesystem read-only, as for the lesson's own Deployment. */
  readOnlyRootFilesystem?: boolean;
}

export type LearnerManifestResult =
  | { ok: true; objects: KubernetesObject[] }
  | { ok: false; problems: ManifestProblem[] };

type Json = Record<string, unknown>;

function splitPath(field: string): (string | number)[] {
  return [...field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((match) =>
    match[2] !== undefined ? Number(match[2]) : (match[1] ?? ''),
  );
}

/** A Deployment with the lab's security context and labels; each container keeps the lab image it named. */
function hardenLearnerDeployment(object: Json, options: LearnerManifestOptions): KubernetesObject {
  const containers = ((object['spec'] as Json)['template'] as { spec: { containers: Json[] } }).spec.containers;
  const images = containers.map((container) => resolveLabImage(String(container['image']), options) ?? '');
  const hardened = hardenDeployment(object, {
    namespace: options.namespace,
    labId: options.labId,
    image: images[0] ?? '',
    readOnlyRootFilesystem: options.readOnlyRootFilesystem ?? false,
  });
  const hardenedContainers = (hardened as unknown as { spec: { template: { spec: { containers: Json[] } } } }).spec
    .template.spec.containers;
  hardenedContainers.forEach((container, index) => {
    container['image'] = images[index] ?? container['image'];
  });
  // The selector stays the learner's: like the lesson's own it names no lab (the selector is immutable, so a
  // Deployment of the same name can be applied over the lesson's); the pods carry labbot's label for the pod watch.
  return hardened;
}

/** A Service or ConfigMap in the lab namespace, labelled with the lab. */
function labelled(object: Json, options: LearnerManifestOptions): KubernetesObject {
  const copy = structuredClone(object) as Json & { metadata: Json };
  copy.metadata = {
    ...copy.metadata,
    namespace: options.namespace,
    labels: { ...((copy.metadata['labels'] as Json | undefined) ?? {}), ...labLabels(options.labId) },
  };
  return copy as KubernetesObject;
}

/**
 * A learner's manifest, from text to the objects labbot may apply in their lab: parsed safely, validated against
 * the Kubernetes schema of the allowed kinds, checked against the lab's policy (every problem with its document,
 * line and field path), then given the lab's namespace, labels and security context. Pure: nothing is applied.
 */
export function prepareLearnerManifest(text: string, options: LearnerManifestOptions): LearnerManifestResult {
  const parsed = parseManifest(text, options);
  if (!parsed.ok) return parsed;
  const problems: ManifestProblem[] = [];
  const seen = new Set<string>();
  for (const document of parsed.documents) {
    const found = validateManifestObject(document.object);
    if (found.length === 0) {
      const object = document.object as Json;
      found.push(...policyProblems(object, options));
      const key = `${String(object['kind'])}/${String((object['metadata'] as Json)['name'])}`;
      if (seen.has(key)) found.push({ field: 'metadata.name', message: `${key} is given twice` });
      seen.add(key);
    }
    for (const problem of found) {
      const line = document.lineOf(splitPath(problem.field));
      problems.push({ ...problem, document: document.index, ...(line === undefined ? {} : { line }) });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const objects = parsed.documents.map((document) => {
    // An empty `status: {}` (as kubectl's dry run prints it) passed the checks; it is not sent.
    const { status: _emptyStatus, ...object } = document.object as Json;
    return object['kind'] === 'Deployment' ? hardenLearnerDeployment(object, options) : labelled(object, options);
  });
  return { ok: true, objects };
}

/** Problems as lines a learner reads: `document 1, line 12, spec.replicas: 50 is above ...`. */
export function formatManifestProblems(problems: readonly ManifestProblem[], limit = 10): string {
  const lines = problems.slice(0, limit).map((problem) => {
    const where = [
      problem.document !== undefined ? `document ${problem.document}` : '',
      problem.line !== undefined ? `line ${problem.line}` : '',
      problem.field,
    ]
      .filter(Boolean)
      .join(', ');
    return `• ${where ? `${where}: ` : ''}${problem.message}`;
  });
  if (problems.length > limit) lines.push(`… and ${problems.length - limit} more`);
  return lines.join('\n');
}
