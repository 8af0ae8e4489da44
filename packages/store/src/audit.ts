import { z } from 'zod';

/** One line of a record's audit trail: who did what, when, and the version it produced (null: deleted). */
export const AuditEntrySchema = z.object({
  at: z.iso.datetime({ offset: true }),
  actor: z.string().min(1).max(256),
  action: z.string().min(1).max(128),
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  version: z.number().int().min(0).nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
