import type { PodSummary } from '@labbot/core';
import { z } from 'zod';

const objectName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);

/** `{ kind: learnerBuilt }`: the learner built their own Dockerfile in this lab with `/lab build`. */
export const LearnerBuiltCheckFields = { kind: z.literal('learnerBuilt') };

/** `{ kind: manifestGenerated, deployment? }`: the learner generated the Deployment's manifest the kubectl way. */
export const ManifestGeneratedCheckFields = {
  kind: z.literal('manifestGenerated'),
  deployment: objectName.optional(),
};

/** `{ kind: learnerDeployed, count, deployment? }`: the learner applied a manifest and `count` pods of their image are ready. */
export const LearnerDeployedCheckFields = {
  kind: z.literal('learnerDeployed'),
  count: z.number().int().min(1).max(10),
  deployment: objectName.optional(),
};

/** What the learner did themselves in a lab (from its history), for the checks of a lesson with `learnerBuild`. */
export interface LearnerStepFacts {
  /** Tags of the images the learner's `/lab build`s made, oldest first. */
  builtImages: readonly string[];
  /** Deployment names of the manifests the learner generated (`kubectl create deployment ... --dry-run=client -o yaml`). */
  generatedDeployments: readonly string[];
  /** How many of the learner's `/lab apply`s were applied (refused ones do not count). */
  applies: number;
}

export interface LearnerCheckFacts {
  pods: readonly PodSummary[];
  learner?: LearnerStepFacts | undefined;
}

export function learnerBuilt(facts: LearnerCheckFacts): boolean {
  return (facts.learner?.builtImages.length ?? 0) > 0;
}

/** A manifest of `deployment` was generated (of any Deployment when the lesson names none). */
export function manifestGenerated(facts: LearnerCheckFacts, deployment: string | undefined): boolean {
  const generated = facts.learner?.generatedDeployments ?? [];
  return deployment === undefined ? generated.length > 0 : generated.includes(deployment);
}

/** Applied by the learner, and at least `count` ready pods run the image of their last build. */
export function learnerDeployed(facts: LearnerCheckFacts, count: number): boolean {
  const image = facts.learner?.builtImages.at(-1);
  if (!image || (facts.learner?.applies ?? 0) === 0) return false;
  return facts.pods.filter((pod) => pod.ready && pod.image === image).length >= count;
}

export const learnerBuiltTitle = () => 'You built your own image with /lab build';
export const manifestGeneratedTitle = (deployment: string) =>
  `You generated the manifest of ${deployment} with kubectl create deployment --dry-run=client -o yaml`;
export const learnerDeployedTitle = (count: number, deployment: string) =>
  `You applied ${deployment}: ${count} pods of your image are ready`;
