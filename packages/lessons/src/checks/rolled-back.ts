import { z } from 'zod';
import { type RolloutFacts, rolledOutOn } from './rolled-out.js';

/** `{ kind: rolledBack, image, deployment? }`: the learner ran `rollout undo` and the pods are back on `image`. */
export const RolledBackCheckFields = {
  kind: z.literal('rolledBack'),
  /** The image the undo must bring back, by its short name (e.g. `v1`). */
  image: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/)
    .describe('The image the undo must bring back, by its short name (e.g. `v1`).'),
};

export interface RollbackFacts extends RolloutFacts {
  /** How many `/lab kubectl rollout undo` the learner ran in this lab. */
  rollbacks?: number | undefined;
}

/** Passes once an undo was run and the rollout back to `image` finished. */
export function rolledBackTo(facts: RollbackFacts, image: string): boolean {
  return (facts.rollbacks ?? 0) > 0 && rolledOutOn(facts, image);
}

export function rolledBackTitle(image: string, deployment: string): string {
  return `An undo rolled ${deployment} back to image ${image}`;
}
