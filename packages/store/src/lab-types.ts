// Temporary stand-in for @labbot/core's lab types while core is being written; replaced by core's exports.
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const LabOwnerSchema = z.object({
  platform: z.enum(['discord', 'slack', 'local']),
  workspaceId: z.string().min(1).max(128),
  userId: z.string().min(1).max(128),
});
export type LabOwner = z.infer<typeof LabOwnerSchema>;

const iso = z.iso.datetime({ offset: true });
export const LabRecordSchema = z.object({
  labId: z.string().regex(/^[0-9a-f]{12}$/),
  owner: LabOwnerSchema,
  lessonId: z.string().min(1),
  namespace: z.string().min(1).max(63),
  classId: z.string().min(1).max(128).optional(),
  threadId: z.string().min(1).max(512).optional(),
  desired: z.object({ state: z.enum(['running', 'stopped']), generation: z.number().int().min(0) }),
  observed: z.looseObject({ phase: z.string(), pods: z.array(z.unknown()) }),
  createdAt: iso,
  updatedAt: iso,
  expiresAt: iso,
  version: z.number().int().min(0),
});
export type LabRecord = z.infer<typeof LabRecordSchema>;

export function ownerKeyFor(owner: LabOwner): string {
  const key = JSON.stringify(['labbot-owner-v1', owner.platform, owner.workspaceId, owner.userId]);
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}
