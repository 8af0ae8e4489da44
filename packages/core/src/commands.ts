import { z } from 'zod';
import { ClassCommandSchema, parseClassCommand, parseHelpMe } from './class.js';
import { CreateDeploymentCommandSchema, isCreateDeployment, parseCreateDeployment } from './create-deployment.js';
import { invalidLessonIdMessage, LessonIdSchema } from './identity.js';
import { KubectlCommandSchema, parseKubectlArgs } from './kubectl.js';

export const MAX_COMMAND_LENGTH = 500;

/** The subcommands of `/lab`, in the order help lists them. */
export const LAB_SUBCOMMANDS = [
  'start',
  'status',
  'stop',
  'reset',
  'check',
  'list',
  'lessons',
  'help',
  'kubectl',
  'apply',
  'build',
  'class',
  'help-me',
] as const;
export type LabSubcommand = (typeof LAB_SUBCOMMANDS)[number];

const SUGGESTED = 'start, status, stop, reset, check, list, lessons, help';

/** One parsed `/lab` command. Lab-scoped commands without a lesson mean "the lab of this thread". */
export const LabCommandSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('start'),
    lessonId: LessonIdSchema,
    /** A variant of the lesson, e.g. `exits` (pods that crash-loop on purpose). */
    variant: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/)
      .optional(),
  }),
  z.object({ kind: z.literal('status'), lessonId: LessonIdSchema.optional() }),
  z.object({ kind: z.literal('stop'), lessonId: LessonIdSchema.optional() }),
  z.object({ kind: z.literal('reset'), lessonId: LessonIdSchema.optional() }),
  z.object({ kind: z.literal('check'), lessonId: LessonIdSchema.optional() }),
  z.object({ kind: z.literal('list') }),
  z.object({ kind: z.literal('lessons') }),
  z.object({ kind: z.literal('help'), topic: z.enum(LAB_SUBCOMMANDS).optional() }),
  z.object({ kind: z.literal('kubectl'), kubectl: KubectlCommandSchema, args: z.array(z.string()) }),
  /** Apply the learner's own manifest; the text comes with the command (attachment, form or file), not in it. */
  z.object({ kind: z.literal('apply'), file: z.string().min(1).max(256).optional() }),
  /** `kubectl create deployment ... --dry-run=client -o yaml`: a manifest printed, never applied. */
  z.object({ kind: z.literal('create-deployment'), create: CreateDeploymentCommandSchema }),
  /** Build the learner's own Dockerfile (sent with the command, or from a folder in the local chat). */
  z.object({ kind: z.literal('build'), path: z.string().min(1).max(300).optional() }),
  ...ClassCommandSchema.options,
]);
export type LabCommand = z.infer<typeof LabCommandSchema>;
export const LabCommand = LabCommandSchema;

export type LabCommandParseResult = { ok: true; command: LabCommand } | { ok: false; error: string };

/** One line of help per subcommand (shown by `/lab help`). */
export const LAB_COMMAND_HELP: Record<LabSubcommand, string> = {
  start: '/lab start <lesson> [variant] — start your own lab of a lesson, in a new thread',
  status: '/lab status [lesson] — show where your lab is',
  stop: '/lab stop [lesson] — stop your lab and remove everything it made',
  reset: '/lab reset [lesson] — start your lab over from the first step',
  check: "/lab check [lesson] — run the lesson's checks",
  list: '/lab list — your labs',
  lessons: '/lab lessons — the lessons you can start',
  help: '/lab help [command] — this help',
  kubectl:
    '/lab kubectl <args> — get, describe, logs, scale, delete pod, rollout status|history|undo in your lab; create deployment NAME --image=IMAGE --dry-run=client -o yaml prints a manifest',
  apply: '/lab apply [file] — apply your own Deployment, Service or ConfigMap (attach, paste or name the file)',
  build:
    '/lab build [folder] — build your own Dockerfile (attach it with your files, or name a folder in the local chat)',
  class:
    '/lab class start <lesson> [variant] [ttl] [max] [at-once=N] | join | status | say <text> | take|done <learner> | extend [learner] <minutes> | end | export — run a class (instructors; learners join)',
  'help-me': '/lab help-me [note] — in a class: raise your hand; the instructor is told and comes to your thread',
};

function fail(error: string): LabCommandParseResult {
  return { ok: false, error };
}

function shown(text: string): string {
  return `"${text.length > 40 ? `${text.slice(0, 40)}…` : text}"`;
}

function finish(candidate: unknown): LabCommandParseResult {
  const parsed = LabCommandSchema.safeParse(candidate);
  // Every field is checked before this point, so this fails only on a bug; say so plainly.
  return parsed.success ? { ok: true, command: parsed.data } : fail('That command could not be understood.');
}

function lessonArgument(
  kind: 'start' | 'status' | 'stop' | 'reset' | 'check',
  args: string[],
  required: boolean,
): LabCommandParseResult {
  if (args.length > 1)
    return fail(
      `"${kind}" takes ${required ? 'one' : 'at most one'} lesson id, e.g. "/lab ${kind} docker-vs-kubernetes".`,
    );
  const lessonId = args[0];
  if (lessonId === undefined) {
    return required ? fail(`Say which lesson to ${kind}, e.g. "/lab ${kind} docker-vs-kubernetes".`) : finish({ kind });
  }
  if (!LessonIdSchema.safeParse(lessonId).success) return fail(invalidLessonIdMessage(lessonId));
  return finish({ kind, lessonId });
}

function parseClass(args: string[]): LabCommandParseResult {
  const parsed = parseClassCommand(args);
  return parsed.ok ? finish(parsed.command) : parsed;
}

/**
 * Parses one `/lab` command typed in chat (with or without the leading "/lab") into a typed command,
 * or one short sentence saying what is wrong.
 */
export function parseLabCommand(text: string): LabCommandParseResult {
  if (typeof text !== 'string')
    return fail(`Type a command, e.g. "/lab start docker-vs-kubernetes". Try: ${SUGGESTED}.`);
  if (text.length > MAX_COMMAND_LENGTH) {
    return fail(`That command is too long (${text.length} characters); the limit is ${MAX_COMMAND_LENGTH}.`);
  }
  // Control characters other than whitespace never belong in a command.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: this is the check for them
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text))
    return fail('That command contains control characters.');
  const words = text
    .trim()
    .split(/\s+/)
    .filter((word) => word !== '');
  if (words[0]?.toLowerCase() === '/lab') words.shift();
  const [first, ...args] = words;
  if (first === undefined) return fail(`Type a command after /lab. Try: ${SUGGESTED}.`);
  const subcommand = first.toLowerCase();
  switch (subcommand) {
    case 'start': {
      // `start <lesson> [variant]`: the variant is a word like "exits".
      const [lesson, variant, ...extra] = args;
      if (variant === undefined || extra.length > 0) return lessonArgument('start', args, true);
      const parsed = lessonArgument('start', [lesson ?? ''], true);
      if (!parsed.ok) return parsed;
      if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(variant)) {
        return fail(`${shown(variant)} is not a variant name: use lowercase letters, digits and dashes.`);
      }
      return finish({ ...parsed.command, variant });
    }
    case 'status':
    case 'stop':
    case 'reset':
    case 'check':
      return lessonArgument(subcommand, args, false);
    case 'list':
    case 'lessons':
      if (args.length > 0) return fail(`"${subcommand}" takes no arguments.`);
      return finish({ kind: subcommand });
    case 'help': {
      if (args.length === 0) return finish({ kind: 'help' });
      const topic = (args[0] ?? '').replace(/^\//, '').toLowerCase();
      if (args.length > 1 || !(LAB_SUBCOMMANDS as readonly string[]).includes(topic)) {
        return fail(`There is no help on ${shown(args.join(' '))}. Try: ${SUGGESTED}.`);
      }
      return finish({ kind: 'help', topic });
    }
    case 'build':
      if (args.length > 1) return fail('"build" takes at most one folder path, e.g. "/lab build ./my-image".');
      return finish({ kind: 'build', ...(args[0] ? { path: args[0] } : {}) });
    case 'kubectl': {
      if (isCreateDeployment(args)) {
        const created = parseCreateDeployment(args);
        return created.ok ? finish({ kind: 'create-deployment', create: created.command }) : fail(created.error);
      }
      const parsed = parseKubectlArgs(args);
      return parsed.ok ? finish({ kind: 'kubectl', kubectl: parsed.command, args }) : fail(parsed.error);
    }
    case 'apply': {
      if (args.length > 1)
        return fail('"apply" takes at most one file name; the manifest itself is attached or pasted.');
      const file = args[0];
      // biome-ignore lint/suspicious/noControlCharactersInRegex: a file name is shown back, so no control characters
      if (file !== undefined && (file.length > 256 || /[\u0000-\u001f]/.test(file)))
        return fail('That file name is not valid.');
      return finish(file === undefined ? { kind: 'apply' } : { kind: 'apply', file });
    }
    case 'class':
      return parseClass(args);
    case 'help-me': {
      const parsed = parseHelpMe(args);
      return parsed.ok ? finish(parsed.command) : parsed;
    }
    default:
      return fail(`Unknown subcommand ${shown(first)}. Try: ${SUGGESTED}.`);
  }
}
