import { z } from 'zod';
import { LabbotError } from './errors.js';
import { LabIdSchema, LessonIdSchema, ThreadIdSchema } from './identity.js';
import { DiagnosisSchema, IsoTimestampSchema, LabPhaseSchema, PodSummarySchema, StepNameSchema } from './lab.js';

/** Limits that keep one event small enough for a chat message and a queue payload. */
export const MAX_BUILD_LOG_LINES = 200;
export const MAX_LOG_LINE_LENGTH = 2000;
export const MAX_CONTAINER_OUTPUT_LENGTH = 16_000;
export const MAX_LEARNER_MESSAGE_LENGTH = 2000;

/** Fields every LabEvent carries: which lab, where to show it, when, and an optional sequence number. */
const base = {
  labId: LabIdSchema,
  threadId: ThreadIdSchema.optional(),
  at: IsoTimestampSchema,
  /** Monotonic per lab when set by the emitter; lets a renderer drop out-of-order events. */
  seq: z.number().int().min(0).optional(),
};

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ type: z.literal(type), ...base, ...shape });

/** Everything the runner tells the chat about a lab, as one union discriminated on `type`. */
export const LabEventSchema = z.discriminatedUnion('type', [
  event('lab.accepted', { lessonId: LessonIdSchema.optional() }),
  event('lab.step', { step: StepNameSchema, phase: LabPhaseSchema }),
  event('lab.namespace-ready', { namespace: z.string().min(1).max(63).optional() }),
  event('lab.build-started', { tag: z.string().min(1).max(512).optional() }),
  event('lab.build-log', { lines: z.array(z.string().max(MAX_LOG_LINE_LENGTH)).max(MAX_BUILD_LOG_LINES) }),
  event('lab.image-ready', { tag: z.string().min(1).max(512), cached: z.boolean() }),
  event('lab.container-output', {
    output: z.string().max(MAX_CONTAINER_OUTPUT_LENGTH),
    exitCode: z.number().int(),
  }),
  event('lab.deployment-applied', { name: z.string().min(1).max(253), replicas: z.number().int().min(0) }),
  event('lab.pods', {
    pods: z.array(PodSummarySchema),
    ready: z.number().int().min(0),
    desired: z.number().int().min(0),
  }),
  event('lab.ready', {}),
  event('lab.diagnosis', { diagnosis: DiagnosisSchema }),
  event('lab.failed', {
    code: z.string().min(1).max(64),
    step: StepNameSchema,
    /** Learner-safe: one plain sentence, never a stack trace. */
    message: z.string().min(1).max(MAX_LEARNER_MESSAGE_LENGTH),
  }),
  event('lab.expiry-warning', { expiresAt: IsoTimestampSchema }),
  event('lab.stopping', {}),
  event('lab.stopped', {}),
  event('lab.check-results', {
    results: z.array(
      z.object({
        name: z.string().min(1).max(200),
        passed: z.boolean(),
        hint: z.string().max(1000).optional(),
      }),
    ),
  }),
]);
export type LabEvent = z.infer<typeof LabEventSchema>;
export const LabEvent = LabEventSchema;

export type LabEventType = LabEvent['type'];
export const LAB_EVENT_TYPES = LabEventSchema.options.map((option) => option.shape.type.value) as LabEventType[];

/** The event of one type. */
export type LabEventOf<T extends LabEventType> = Extract<LabEvent, { type: T }>;

/** What createLabEvent needs: the event's own fields plus labId (and optionally threadId, seq, at). */
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

/** The last `count` lines of a text (e.g. build output), each cut to the event line limit. */
export function lastLines(text: string, count = 20): string[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.slice(-Math.min(count, MAX_BUILD_LOG_LINES)).map((line) => line.slice(0, MAX_LOG_LINE_LENGTH));
}

/** Cuts container output to the event limit, keeping the start and saying how much was dropped. */
export function boundedOutput(output: string, limit = MAX_CONTAINER_OUTPUT_LENGTH): string {
  if (output.length <= limit) return output;
  const kept = Math.max(0, limit - 64); // room for the note below
  return `${output.slice(0, kept)}\n… (${output.length - kept} more characters not shown)`;
}
