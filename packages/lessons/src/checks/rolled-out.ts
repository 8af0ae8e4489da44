import type { PodSummary } from '@labbot/core';
import { z } from 'zod';

/** `{ kind: rolledOut, image, deployment? }`: every pod runs the named lab image, as many ready as wanted. */
export const RolledOutCheckFields = {
  kind: z.literal('rolledOut'),
  /** The lab image by its short name (`v2` for `<lesson>:v2`; the lesson's `imageName` for its own image). */
  image: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
    .describe('The lab image by its short name (`v2` for `<lesson>:v2`).'),
};

/** What a rollout check looks at. */
export interface RolloutFacts {
  pods: readonly PodSummary[];
  desiredReplicas?: number | undefined;
  /** `<lesson>:<name>` → the built tag, for this lab. */
  images?: Readonly<Record<string, string>> | undefined;
  lessonId: string;
  /** Tags whose rollout had finished when an undo replaced them (the rollout happened, then was undone). */
  undoneRollouts?: readonly string[] | undefined;
}

/** The built tag of a lab image's short name, when it was built for this lab. */
export function tagOf(facts: RolloutFacts, image: string): string | undefined {
  return facts.images?.[`${facts.lessonId}:${image}`];
}

/** A finished rollout: no pod of another image remains, and every wanted replica is ready on this one. */
export function rolledOutOn(facts: RolloutFacts, image: string): boolean {
  const tag = tagOf(facts, image);
  return rolledOutNow(facts, tag);
}

/** Rolled out now, or rolled out completely before an undo replaced it. */
export function rolledOutOnce(facts: RolloutFacts, image: string): boolean {
  const tag = tagOf(facts, image);
  return rolledOutNow(facts, tag) || (tag !== undefined && (facts.undoneRollouts ?? []).includes(tag));
}

function rolledOutNow(facts: RolloutFacts, tag: string | undefined): boolean {
  const wanted = facts.desiredReplicas ?? 1;
  if (!tag || wanted < 1 || facts.pods.length === 0) return false;
  if (facts.pods.some((pod) => pod.image !== tag)) return false;
  return facts.pods.filter((pod) => pod.ready).length >= wanted;
}

export function rolledOutTitle(image: string, deployment: string): string {
  return `${deployment} rolled out on image ${image} with every replica ready`;
}
