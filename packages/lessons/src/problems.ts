import { LabbotError } from '@labbot/core';
import type { z } from 'zod';
import { CHECK_KINDS } from './schema.js';

/** One thing wrong with a lesson: which file, which field, what is wrong. */
export interface LessonProblem {
  /** The file, relative to the lesson folder (e.g. lesson.yaml, deployment.yaml). */
  file: string;
  /** The field, e.g. deployment.replicas or checks[2].kind; empty for the whole file. */
  field: string;
  /** What is wrong, in plain words. */
  message: string;
}

/** One line per problem, short: a field or message made of the author's text is cut and kept on one line. */
export function formatProblem(problem: LessonProblem): string {
  const prefix = `${oneLine(problem.file, 60)}: ${problem.field ? `${oneLine(problem.field, 60)}: ` : ''}`;
  return `${prefix}${oneLine(problem.message, Math.max(60, 200 - prefix.length))}`;
}

function oneLine(text: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  return cut(text.replace(/[\u0000-\u001f\u007f]+/g, ' '), max);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The error thrown for an invalid lesson: code LESSON_INVALID, one line per problem, a learner-safe summary. */
export class LessonInvalidError extends LabbotError {
  readonly problems: readonly LessonProblem[];
  readonly lessonDir: string;

  constructor(lessonDir: string, label: string, problems: readonly LessonProblem[], cause?: unknown) {
    const lines = problems.map(formatProblem);
    const first = cut(lines[0] ?? 'unknown problem', 120);
    const more = lines.length > 1 ? ` (and ${lines.length - 1} more)` : '';
    super('LESSON_INVALID', `lesson ${label} is invalid:\n  ${lines.join('\n  ')}`, {
      cause,
      // One short line for the learner (the log has every problem in full).
      userMessage: `The lesson "${cut(label, 40)}" is not valid: ${first}${more}.`,
      retryable: false,
      context: { lessonDir },
    });
    this.name = 'LessonInvalidError';
    this.problems = problems;
    this.lessonDir = lessonDir;
  }
}

/** `checks[2].kind` from a zod path. */
export function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let current = data;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${cut(JSON.stringify(value) ?? String(value), 40)}`;
}

/** Turns zod issues into problems in plain words ("is missing", "unknown field", "unknown check kind"). */
const CHECK_KIND_LIST = CHECK_KINDS.join(', ');

export function problemsFromZod(file: string, error: z.ZodError, data: unknown): LessonProblem[] {
  const problems: LessonProblem[] = [];
  for (const issue of error.issues) {
    const field = fieldOf(issue.path);
    const value = valueAt(data, issue.path);
    switch (issue.code) {
      case 'invalid_type':
        problems.push({
          file,
          field,
          message:
            value === undefined
              ? 'is missing'
              : `must be ${issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}, not ${describeType(value)}`,
        });
        break;
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          problems.push({
            file,
            field: fieldOf([...issue.path, key]),
            message: 'is not a known field (check the spelling)',
          });
        }
        break;
      case 'invalid_union': {
        // zod 4 points an unknown discriminator at the field itself (checks[2].kind); older shapes at the item.
        const atKind = issue.path[issue.path.length - 1] === 'kind';
        const kind = atKind
          ? value
          : value !== null && typeof value === 'object'
            ? (value as Record<string, unknown>)['kind']
            : undefined;
        problems.push({
          file,
          field: atKind ? field : `${field}.kind`,
          message:
            kind === undefined
              ? `is missing; use one of ${CHECK_KIND_LIST}`
              : `unknown check kind ${cut(JSON.stringify(kind) ?? String(kind), 20)}; use one of ${CHECK_KIND_LIST}`,
        });
        break;
      }
      case 'invalid_value':
        problems.push({
          file,
          field,
          message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, not ${describeType(value)}`,
        });
        break;
      case 'too_small':
      case 'too_big': {
        const bound = String(issue.code === 'too_small' ? issue.minimum : issue.maximum);
        const word = issue.code === 'too_small' ? 'at least' : 'at most';
        const message =
          issue.origin === 'string'
            ? `must be ${word} ${bound} characters long`
            : issue.origin === 'array'
              ? `must have ${word} ${bound} items`
              : `must be ${word} ${bound}`;
        problems.push({ file, field, message });
        break;
      }
      default:
        problems.push({ file, field, message: issue.message });
    }
  }
  return problems;
}
