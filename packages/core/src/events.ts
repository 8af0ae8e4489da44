import { z } from 'zod';
import { LabbotError } from './errors.js';
import { LabIdSchema, ThreadIdSchema } from './identity.js';
import { IsoTimestampSchema } from './lab.js';
import { LabPhaseSchema } from './lab-machine.js';

/** Fields every LabEvent carries: which lab, where to show it, when. */
const base = {
  labId: LabIdSchema,
  threadId: ThreadIdSchema.optional(),
  at: IsoTimestampSchema,
};

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...base, ...shape });

/**
 * What the runner tells the chat about a lab. A LabEvent is a slim notice, not a payload: the lab
 * record in the store is the one source of truth, and the chat side renders the status message from
 * the record as it is when the notice arrives (so a late, doubled or dropped notice can never show
 * an older state). Only what the record does not hold travels in the event.
 */
export const LabEventSchema = z.discriminatedUnion('type', [
  /** The lab's observed state changed (`phase` is the one written, for logs; renderers read the record). */
  event('lab.changed', { phase: LabPhaseSchema }),
  /** The lab expires soon: the chat also posts a one-off warning that mentions the learner. */
  event('lab.expiry-warning', { expiresAt: IsoTimestampSchema }),
  /** A class lab waits for one of its class's provision slots: its place in line (1 = next) and a rough wait. */
  event('lab.queued', {
    place: z.number().int().min(1),
    estimateSeconds: z.number().int().min(0).optional(),
  }),
]);
export type LabEvent = z.infer<typeof LabEventSchema>;
export const LabEvent = LabEventSchema;

export type LabEventType = LabEvent['type'];

/** The event of one type. */
export type LabEventOf<T extends LabEventType> = Extract<LabEvent, { type: T }>;

/** What createLabEvent needs: the event's own fields plus labId (and optionally threadId, at). */
export type LabEventFields<T extends LabEventType> = Omit<LabEventOf<T>, 'type' | 'at'> & { at?: string };

/**
 * Builds and validates one LabEvent; `at` comes from the clock unless given.
 * Throws LabbotError `LAB_EVENT_INVALID` (not retryable: a programming error) when a field is wrong.
 */
export function createLabEvent<T extends LabEventType>(
  type: T,
  fields: LabEventFields<T>,
  clock: () => Date = () => new Date(),
): LabEventOf<T> {
  const candidate = { ...fields, type, at: fields.at ?? clock().toISOString() };
  const parsed = LabEventSchema.safeParse(candidate);
  if (!parsed.success) {
    throw new LabbotError('LAB_EVENT_INVALID', `invalid ${type} event: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
      context: { type, labId: typeof fields.labId === 'string' ? fields.labId : undefined },
    });
  }
  return parsed.data as LabEventOf<T>;
}

/** Validates an event that crossed a process boundary (queue payload, Redis stream). */
export function parseLabEvent(value: unknown): LabEvent {
  const parsed = LabEventSchema.safeParse(value);
  if (!parsed.success) {
    throw new LabbotError('LAB_EVENT_INVALID', `invalid lab event: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}
