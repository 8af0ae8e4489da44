import { LabIdSchema, PlatformSchema, ThreadIdSchema } from '@labbot/core';
import { z } from 'zod';

/** Queue names; the outbox has one queue per chat platform, so one platform's rate limits never slow another. */
export const RECONCILE_QUEUE = 'lab-reconcile';
export const outboxQueueName = (platform: OutboxPlatform): string => `chat-outbox-${platform}`;

export const OutboxPlatformSchema = PlatformSchema;
export type OutboxPlatform = z.infer<typeof OutboxPlatformSchema>;

/** Ask the runner to compare a lab's desired and observed state and do what is missing. */
export const ReconcileJobSchema = z.object({
  labId: LabIdSchema,
  /** Why (for logs): `command.start`, `pod-event`, `janitor.ttl`... */
  reason: z.string().min(1).max(200),
});
export type ReconcileJob = z.infer<typeof ReconcileJobSchema>;

/** One message the chat should show: the newest item for a thread + key replaces older ones. */
export const OutboxItemSchema = z.object({
  threadId: ThreadIdSchema,
  /** The logical message in the thread, e.g. `status` or `checks`: one chat message per key, edited. */
  key: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: 'An outbox key is 1 to 64 letters, digits, ".", "_" or "-".' }),
  /** The neutral message as JSON (the outbox does not know its shape); the platform's adapter renders it. */
  message: z.json(),
  labId: LabIdSchema.optional(),
  /** At least this long between two deliveries to this thread (e.g. a class board: 2 s); the worker's default otherwise. */
  minIntervalMs: z.number().int().min(0).max(60_000).optional(),
});
export type OutboxItem = z.infer<typeof OutboxItemSchema>;
