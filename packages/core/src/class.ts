import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { invalidLessonIdMessage, type LabOwner, LessonIdSchema, sameOwner } from './identity.js';
import type { LabPhase } from './lab-machine.js';

/** A class id: 10 lowercase hex characters (fits button payloads, Kubernetes label values and Redis keys). */
export const CLASS_ID_PATTERN = /^[0-9a-f]{10}$/;
export const ClassIdSchema = z
  .string()
  .regex(CLASS_ID_PATTERN, { message: 'A class id is 10 lowercase hex characters.' });
export type ClassId = z.infer<typeof ClassIdSchema>;

/** A fresh class id (random: two classes of one lesson in one channel stay apart). */
export function newClassId(): ClassId {
  return randomBytes(5).toString('hex');
}

const VARIANT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Bounds of the numbers an instructor may give `/lab class start`. */
export const CLASS_TTL_MINUTES = { min: 5, max: 24 * 60 } as const;
export const CLASS_MAX_LEARNERS = { min: 1, max: 500 } as const;
export const CLASS_CONCURRENT_PROVISIONS = { min: 1, max: 200 } as const;

/** The longest text a learner may add to a raised hand. */
export const HELP_TEXT_MAX_LENGTH = 300;

/** The longest broadcast an instructor may send to a class. */
export const CLASS_SAY_MAX_LENGTH = 1000;

/** The `/lab class ...` commands. */
export const ClassCommandSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('class-start'),
    lessonId: LessonIdSchema,
    variant: z.string().regex(VARIANT).optional(),
    ttlMinutes: z.number().int().min(CLASS_TTL_MINUTES.min).max(CLASS_TTL_MINUTES.max).optional(),
    maxLearners: z.number().int().min(CLASS_MAX_LEARNERS.min).max(CLASS_MAX_LEARNERS.max).optional(),
    /** Labs of the class set up at once (within the operator's ceiling). */
    maxConcurrentProvisions: z
      .number()
      .int()
      .min(CLASS_CONCURRENT_PROVISIONS.min)
      .max(CLASS_CONCURRENT_PROVISIONS.max)
      .optional(),
    /** Labs prepared before learners arrive (a warm pool), handed over on Join and refilled up to the class size. */
    warmLabs: z.number().int().min(1).max(CLASS_MAX_LEARNERS.max).optional(),
    /** Minutes a learner adds to their own lab per press of Extend (within the operator's extension ceiling). */
    selfExtendMinutes: z.number().int().min(1).max(CLASS_TTL_MINUTES.max).optional(),
  }),
  z.object({ kind: z.literal('class-join'), classId: ClassIdSchema.optional() }),
  z.object({ kind: z.literal('class-status'), classId: ClassIdSchema.optional() }),
  z.object({ kind: z.literal('class-end'), classId: ClassIdSchema.optional() }),
  z.object({ kind: z.literal('class-export'), classId: ClassIdSchema.optional() }),
  /** A learner raises their hand (`/lab help-me [text]`, or the Need help button of their lab). */
  z.object({ kind: z.literal('help-me'), text: z.string().min(1).max(HELP_TEXT_MAX_LENGTH).optional() }),
  /** An instructor takes a learner's raised hand, or says they were helped (the local chat's Take / Done). */
  z.object({ kind: z.literal('class-take'), learner: z.string().min(1).max(128) }),
  z.object({ kind: z.literal('class-done'), learner: z.string().min(1).max(128) }),
  /** More time for one learner's lab, or for every lab of the class (within the operator's ceiling). */
  z.object({
    kind: z.literal('class-extend'),
    learner: z.string().min(1).max(128).optional(),
    minutes: z.number().int().min(1).max(CLASS_TTL_MINUTES.max),
  }),
  /** A message for every learner's thread of the class (e.g. "step 2 now"). */
  z.object({ kind: z.literal('class-say'), text: z.string().min(1).max(CLASS_SAY_MAX_LENGTH) }),
]);
export type ClassCommand = z.infer<typeof ClassCommandSchema>;

export type ClassCommandParseResult = { ok: true; command: ClassCommand } | { ok: false; error: string };

const CLASS_USAGE =
  'start <lesson> [variant] [ttl] [max] [at-once=N] [self-extend=MIN] [warm=N], join, status, say, take, done, extend, end, export';

function fail(error: string): ClassCommandParseResult {
  return { ok: false, error };
}

function numberArgument(word: string, what: string, bounds: { min: number; max: number }): number | string {
  if (!/^\d{1,6}$/.test(word)) return `"${word.slice(0, 20)}" is not a number of ${what}.`;
  const value = Number(word);
  if (value < bounds.min || value > bounds.max) return `The ${what} must be between ${bounds.min} and ${bounds.max}.`;
  return value;
}

/**
 * `start <lesson> [variant] [ttl] [max] [at-once=N] [self-extend=MIN]`; the numbers may also be written `ttl=90`
 * and `max=30`; `at-once` (labs set up at once) and `self-extend` (minutes per press of a learner's Extend button)
 * are named only.
 */
function parseStart(args: string[]): ClassCommandParseResult {
  const [lessonId, ...rest] = args;
  if (lessonId === undefined) {
    return fail('Say which lesson the class runs, e.g. "/lab class start docker-vs-kubernetes".');
  }
  if (!LessonIdSchema.safeParse(lessonId).success) return fail(invalidLessonIdMessage(lessonId));
  const command: Extract<ClassCommand, { kind: 'class-start' }> = { kind: 'class-start', lessonId };
  const positional: ('ttl' | 'max')[] = ['ttl', 'max'];
  for (const [index, word] of rest.entries()) {
    const atOnce = /^at-once=(.*)$/i.exec(word);
    if (atOnce) {
      const value = numberArgument(atOnce[1] ?? '', 'labs set up at once (at-once)', CLASS_CONCURRENT_PROVISIONS);
      if (typeof value === 'string') return fail(value);
      command.maxConcurrentProvisions = value;
      continue;
    }
    const warm = /^warm=(.*)$/i.exec(word);
    if (warm) {
      const value = numberArgument(warm[1] ?? '', 'warm labs (warm)', { min: 1, max: CLASS_MAX_LEARNERS.max });
      if (typeof value === 'string') return fail(value);
      command.warmLabs = value;
      continue;
    }
    const selfExtend = /^self-extend=(.*)$/i.exec(word);
    if (selfExtend) {
      const value = numberArgument(selfExtend[1] ?? '', 'minutes a learner may add (self-extend)', {
        min: 1,
        max: CLASS_TTL_MINUTES.max,
      });
      if (typeof value === 'string') return fail(value);
      command.selfExtendMinutes = value;
      continue;
    }
    const named = /^(ttl|max)=(.*)$/i.exec(word);
    const isNumber = /^\d+$/.test(word);
    if (!named && !isNumber) {
      if (index !== 0 || command.variant !== undefined)
        return fail(`Unexpected "${word.slice(0, 20)}". Usage: /lab class start <lesson> [variant] [ttl] [max].`);
      if (!VARIANT.test(word)) return fail(`"${word.slice(0, 20)}" is not a variant name.`);
      command.variant = word;
      continue;
    }
    const name = named ? (named[1]?.toLowerCase() as 'ttl' | 'max') : positional[0];
    if (name === undefined) return fail('"class start" takes at most two numbers: ttl minutes, then max learners.');
    const value =
      name === 'ttl'
        ? numberArgument(named?.[2] ?? word, 'minutes a lab lives (ttl)', CLASS_TTL_MINUTES)
        : numberArgument(named?.[2] ?? word, 'learners (max)', CLASS_MAX_LEARNERS);
    if (typeof value === 'string') return fail(value);
    if (name === 'ttl') command.ttlMinutes = value;
    else command.maxLearners = value;
    positional.splice(positional.indexOf(name), 1);
  }
  return { ok: true, command };
}

/** Parses the words after `/lab help-me`: an optional note for the instructor. */
export function parseHelpMe(args: string[]): ClassCommandParseResult {
  const text = args.join(' ').trim();
  if (text.length > HELP_TEXT_MAX_LENGTH)
    return fail(`Keep the note to ${HELP_TEXT_MAX_LENGTH} characters (yours has ${text.length}).`);
  return { ok: true, command: text ? { kind: 'help-me', text } : { kind: 'help-me' } };
}

/** Parses the words after `/lab class`. */
export function parseClassCommand(args: string[]): ClassCommandParseResult {
  const [action, ...rest] = args;
  if (action === undefined) return fail(`Say what to do with the class: ${CLASS_USAGE}.`);
  const verb = action.toLowerCase();
  switch (verb) {
    case 'start':
      return parseStart(rest);
    case 'say': {
      const said = rest.join(' ').trim();
      if (said === '') return fail('Say what to tell the class, e.g. "/lab class say step 2 now".');
      if (said.length > CLASS_SAY_MAX_LENGTH)
        return fail(`A class message may be at most ${CLASS_SAY_MAX_LENGTH} characters (yours has ${said.length}).`);
      return { ok: true, command: { kind: 'class-say', text: said } };
    }
    case 'extend': {
      if (rest.length < 1 || rest.length > 2)
        return fail('Say how many minutes, and for whom if not everyone, e.g. "/lab class extend ann 15".');
      // Minutes last in text; first (`minutes=15`) from Discord, whose required options come first.
      const named = rest.findIndex((word) => /^minutes=/i.test(word));
      const minutesAt = named >= 0 ? named : rest.length - 1;
      const minutesWord = (rest[minutesAt] ?? '').replace(/^minutes=/i, '');
      const minutes = numberArgument(minutesWord, 'minutes to add', { min: 1, max: CLASS_TTL_MINUTES.max });
      if (typeof minutes === 'string') return fail(minutes);
      if (rest.length === 1) return { ok: true, command: { kind: 'class-extend', minutes } };
      const word = rest[1 - minutesAt] ?? '';
      const learner = /^<@!?([^>]+)>$/.exec(word)?.[1] ?? word;
      if (!/^[\w.-]{1,128}$/.test(learner)) return fail(`"${learner.slice(0, 20)}" is not a learner.`);
      return { ok: true, command: { kind: 'class-extend', learner, minutes } };
    }
    case 'take':
    case 'done': {
      const learner = /^<@!?([^>]+)>$/.exec(rest[0] ?? '')?.[1] ?? rest[0];
      if (learner === undefined || rest.length > 1 || !/^[\w.-]{1,128}$/.test(learner))
        return fail(`Say whose raised hand, e.g. "/lab class ${verb} ann".`);
      return { ok: true, command: { kind: verb === 'take' ? 'class-take' : 'class-done', learner } };
    }
    case 'join':
    case 'status':
    case 'end':
    case 'export': {
      if (rest.length > 1) return fail(`"class ${verb}" takes at most a class id.`);
      const classId = rest[0];
      if (classId !== undefined && !CLASS_ID_PATTERN.test(classId))
        return fail(`"${classId.slice(0, 20)}" is not a class id (10 hex characters, shown on the class message).`);
      const kind = `class-${verb}` as 'class-join' | 'class-status' | 'class-end' | 'class-export';
      return { ok: true, command: classId ? { kind, classId } : { kind } };
    }
    default:
      return fail(`Unknown class command "${action.slice(0, 20)}". Try: ${CLASS_USAGE}.`);
  }
}

/** Where a learner is, as the class board counts them. */
export const CLASS_STAGES = ['joined', 'building', 'deploying', 'ready', 'failing', 'stopped'] as const;
export type ClassStage = (typeof CLASS_STAGES)[number];

const STAGE_OF_PHASE: Record<LabPhase, ClassStage> = {
  pending: 'joined',
  provisioning: 'joined',
  building: 'building',
  'running-once': 'building',
  deploying: 'deploying',
  'waiting-for-pods': 'deploying',
  ready: 'ready',
  degraded: 'failing',
  failed: 'failing',
  stopping: 'stopped',
  stopped: 'stopped',
};

/** The board stage of a lab phase (the one mapping every class view uses). */
export function classStageOf(phase: LabPhase): ClassStage {
  return STAGE_OF_PHASE[phase];
}

/** Roles an adapter gives an actor from platform permissions (never from a name a user can choose). */
export const INSTRUCTOR_PERMISSION_ROLE = '@instructor';
export const ADMIN_PERMISSION_ROLE = '@admin';

/** An instructor may do anything to their own class; an admin to any class. */
export function mayManageClass(
  actor: LabOwner & { roles: readonly string[] },
  klass: { instructor: LabOwner },
  adminRoles: readonly string[] = [],
): boolean {
  if (sameOwner(actor, klass.instructor)) return true;
  const sameWorkspace =
    actor.platform === klass.instructor.platform && actor.workspaceId === klass.instructor.workspaceId;
  return sameWorkspace && actor.roles.some((role) => role === ADMIN_PERMISSION_ROLE || adminRoles.includes(role));
}

/** Per-class limits: operator ceilings and the instructor's choice. */
export interface ClassLimits {
  /** Most learners one class may take (operator ceiling). */
  maxLearners: number;
  /** Labs of one class provisioned at once (the rest wait their turn in join order). */
  maxConcurrentProvisions: number;
  /** Most minutes an instructor may add to a lab beyond the class's lab lifetime (default 120). */
  maxExtensionMinutes?: number;
}

/** 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st... */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** What a learner waiting for a class provision slot reads in their thread. */
export function queuePositionText(place: number, estimateSeconds?: number): string {
  const wait =
    estimateSeconds === undefined
      ? ''
      : `, about ${estimateSeconds < 60 ? `${estimateSeconds} s` : `${Math.round(estimateSeconds / 60)} min`}`;
  return `⏳ You are ${ordinal(place)} in line${wait}: the class sets up a few labs at a time, in join order. This message turns into your lab's status when yours starts.`;
}
