import {
  type AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1PodTemplateSpec,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { toPlainObject } from './model-form.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
const POD_TEMPLATE_HASH = 'pod-template-hash';
/** Annotations kubectl's rollback keeps from the Deployment instead of copying them from the ReplicaSet. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export interface RolloutContext {
  apps: AppsV1Api;
  namespace: string;
}

const revisionOf = (replicaSet: V1ReplicaSet) => Number(replicaSet.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0);

/** The ReplicaSets a Deployment owns, oldest revision first (what kubectl's history reads). */
async function ownedReplicaSets(context: RolloutContext, deployment: V1Deployment): Promise<V1ReplicaSet[]> {
  const list = await context.apps.listNamespacedReplicaSet({ namespace: context.namespace });
  return list.items
    .filter((replicaSet) =>
      replicaSet.metadata?.ownerReferences?.some(
        (owner) => owner.kind === 'Deployment' && owner.uid === deployment.metadata?.uid,
      ),
    )
    .sort((a, b) => revisionOf(a) - revisionOf(b));
}

/** `kubectl rollout history deployment/NAME`: one line per revision kept in the Deployment's ReplicaSets. */
export async function rolloutHistory(context: RolloutContext, deployment: V1Deployment): Promise<string> {
  const replicaSets = (await ownedReplicaSets(context, deployment)).filter((replicaSet) => revisionOf(replicaSet) > 0);
  const rows = replicaSets.map((replicaSet) => [
    String(revisionOf(replicaSet)),
    replicaSet.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '<none>',
  ]);
  const width = Math.max('REVISION'.length, ...rows.map(([revision]) => (revision ?? '').length));
  const lines = [`deployment.apps/${deployment.metadata?.name ?? ''} `, `${'REVISION'.padEnd(width)}  CHANGE-CAUSE`];
  for (const [revision, cause] of rows) lines.push(`${(revision ?? '').padEnd(width)}  ${cause}`);
  return lines.join('\n');
}

/** A pod template without the controller's pod-template-hash label, as plain JSON for comparing and patching. */
function templateWithoutHash(template: V1PodTemplateSpec | undefined): Record<string, unknown> {
  const plain =
    structuredClone(
      toPlainObject({ apiVersion: 'v1', kind: 'PodTemplate', template } as never) as unknown as {
        template?: Record<string, unknown> & { metadata?: { labels?: Record<string, string> } };
      },
    ).template ?? {};
  if (plain.metadata?.labels) {
    delete plain.metadata.labels[POD_TEMPLATE_HASH];
  }
  return plain;
}

function sameJson(a: unknown, b: unknown): boolean {
  const canonical = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(canonical)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
              .filter(([, item]) => item !== undefined)
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([key, item]) => [key, canonical(item)]),
          )
        : value;
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/**
 * `kubectl rollout undo deployment/NAME [--to-revision=N]` as kubectl does it: the pod template of the chosen
 * revision's ReplicaSet (the previous one by default) goes back into the Deployment with a JSON patch, and the
 * controller makes it the newest revision.
 */
export async function rolloutUndo(
  context: RolloutContext,
  deployment: V1Deployment,
  toRevision?: number,
): Promise<{ ok: boolean; text: string }> {
  const name = deployment.metadata?.name ?? '';
  if (deployment.spec?.paused) {
    return {
      ok: false,
      text: `error: you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again`,
    };
  }
  const replicaSets = await ownedReplicaSets(context, deployment);
  let target: V1ReplicaSet | undefined;
  if (toRevision === undefined) {
    const revisions = replicaSets.map(revisionOf).filter((revision) => revision > 0);
    const current = Math.max(0, ...revisions);
    target = [...replicaSets]
      .reverse()
      .find((replicaSet) => revisionOf(replicaSet) > 0 && revisionOf(replicaSet) < current);
    if (!target) return { ok: false, text: `error: no rollout history found for deployment "${name}"` };
  } else {
    target = replicaSets.find((replicaSet) => revisionOf(replicaSet) === toRevision);
    if (!target) return { ok: false, text: `error: unable to find specified revision ${toRevision} in history` };
  }
  const template = templateWithoutHash(target.spec?.template);
  if (sameJson(template, templateWithoutHash(deployment.spec?.template))) {
    return {
      ok: true,
      text: `deployment.apps/${name} skipped rollback (current template already matches revision ${revisionOf(target)})`,
    };
  }
  const annotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(deployment.metadata?.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(target.metadata?.annotations ?? {})) {
    if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  }
  await context.apps.patchNamespacedDeployment(
    {
      name,
      namespace: context.namespace,
      body: [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ],
    },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
  return { ok: true, text: `deployment.apps/${name} rolled back` };
}
