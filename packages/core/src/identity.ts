import { createHash } from 'node:crypto';
import { z } from 'zod';

/** The chat platforms labbot speaks on; `local` is the terminal chat of `labbot chat`. */
export const PlatformSchema = z.enum(['discord', 'slack', 'local']);
export type Platform = z.infer<typeof PlatformSchema>;
export const Platform = PlatformSchema;

const ID_PART_MAX = 128;
const idPart = (what: string) =>
  z
    .string()
    .min(1, { message: `The ${what} is empty.` })
    .max(ID_PART_MAX, { message: `The ${what} is longer than ${ID_PART_MAX} characters.` });

/** Who owns a lab: one user of one workspace (Discord guild, Slack team, or the local machine). */
export const LabOwnerSchema = z.object({
  platform: PlatformSchema,
  workspaceId: idPart('workspace id'),
  userId: idPart('user id'),
});
export type LabOwner = z.infer<typeof LabOwnerSchema>;
export const LabOwner = LabOwnerSchema;

export const LESSON_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const LESSON_ID_RULE =
  'use lowercase letters, digits and dashes (at most 63 characters), starting with a letter or digit';

/** A lesson id: the folder name of the lesson and part of image tags and labels. */
export const LessonIdSchema = z
  .string()
  .regex(LESSON_ID_PATTERN, { message: `A lesson id must ${LESSON_ID_RULE.replace(/^use/, 'use only')}.` });

/** The sentence shown when a learner types a lesson id that is not one. */
export function invalidLessonIdMessage(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return `"${shown}" is not a valid lesson id: ${LESSON_ID_RULE}.`;
}

export const LAB_ID_PATTERN = /^[0-9a-f]{12}$/;
/** A lab id: 12 hex characters, a sha256 prefix of owner + lesson (see labIdFor). */
export const LabIdSchema = z.string().regex(LAB_ID_PATTERN, { message: 'A lab id is 12 lowercase hex characters.' });
export type LabId = z.infer<typeof LabIdSchema>;
export const LabId = LabIdSchema;

/** Where a lab's messages go, e.g. `discord:<guild>:<channel>:<thread>`; opaque to core (the chat package owns the codec). */
export const ThreadIdSchema = z.string().min(1).max(512);

export interface LabIdentity extends LabOwner {
  lessonId: string;
}

/**
 * The stable id of one learner's lab of one lesson: the first 12 hex characters of a sha256 over
 * platform, workspace, user and lesson. The same inputs always give the same id (on every machine),
 * which is what makes a doubled `start` converge on one lab.
 */
export function labIdFor(identity: LabIdentity): LabId {
  const owner = LabOwnerSchema.parse({
    platform: identity.platform,
    workspaceId: identity.workspaceId,
    userId: identity.userId,
  });
  const lessonId = LessonIdSchema.parse(identity.lessonId);
  // JSON array encoding keeps the parts apart: ("a:b", "c") and ("a", "b:c") never collide.
  const key = JSON.stringify(['labbot-lab-v1', owner.platform, owner.workspaceId, owner.userId, lessonId]);
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/** The Kubernetes namespace of a lab: `lab-<labId>`. */
export function namespaceFor(labId: LabId): string {
  return `lab-${LabIdSchema.parse(labId)}`;
}

/** True when both refer to the same user of the same workspace on the same platform. */
export function sameOwner(a: LabOwner, b: LabOwner): boolean {
  return a.platform === b.platform && a.workspaceId === b.workspaceId && a.userId === b.userId;
}

/** A short, stable, label-safe key of an owner (for Kubernetes labels and Redis indexes): 12 hex characters. */
export function ownerKeyFor(owner: LabOwner): string {
  const key = JSON.stringify(['labbot-owner-v1', owner.platform, owner.workspaceId, owner.userId]);
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}
