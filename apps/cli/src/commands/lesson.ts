import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LESSON_FILE, type Lesson, LessonInvalidError, lessonJsonSchema, loadLesson } from '@labbot/lessons';
import type { Command } from 'commander';

/** Where the command writes (a seam for tests); defaults to the process streams. */
export interface LessonCommandOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: LessonCommandOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export interface LessonValidation {
  ok: boolean;
  /** One block per lesson: ✓ with a summary, or ✗ with one line per problem (file: field: what is wrong). */
  report: string;
}

function describeLesson(lesson: Lesson): string {
  const { spec } = lesson;
  const variants = Object.keys(spec.variants);
  return (
    `✓ ${spec.id} (${spec.title}): ${spec.steps.length} steps, ${spec.checks.length} checks, ` +
    `deployment ${spec.deployment.name} × ${spec.deployment.replicas}` +
    (variants.length > 0 ? `, variants: ${variants.join(', ')}` : '')
  );
}

async function validateOne(dir: string): Promise<{ ok: boolean; text: string }> {
  try {
    return { ok: true, text: describeLesson(await loadLesson(dir)) };
  } catch (error) {
    if (error instanceof LessonInvalidError) {
      const problems = error.problems.map((p) => `    ${p.file}${p.field ? `: ${p.field}` : ''}: ${p.message}`);
      return { ok: false, text: `✗ ${dir}\n${problems.join('\n')}` };
    }
    return { ok: false, text: `✗ ${dir}\n    ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function hasLessonFile(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).includes(LESSON_FILE);
  } catch {
    return false;
  }
}

/** Validates one lesson folder, or every `<id>/lesson.yaml` in a folder of lessons. */
export async function validateLessonDir(dir: string): Promise<LessonValidation> {
  const root = resolve(dir);
  if (await hasLessonFile(root)) {
    const result = await validateOne(root);
    return { ok: result.ok, report: result.text };
  }
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return { ok: false, report: `✗ ${root}\n    is not a folder that can be read` };
  }
  const lessonDirs: string[] = [];
  for (const name of entries.sort()) if (await hasLessonFile(join(root, name))) lessonDirs.push(join(root, name));
  if (lessonDirs.length === 0) {
    return { ok: false, report: `✗ ${root}\n    has no ${LESSON_FILE} (nor any <lesson>/${LESSON_FILE} below it)` };
  }
  const results = [];
  for (const lessonDir of lessonDirs) results.push(await validateOne(lessonDir));
  return { ok: results.every((r) => r.ok), report: results.map((r) => r.text).join('\n') };
}

/** `labbot lesson schema` and `labbot lesson validate <dir>`. */
export function registerLessonCommand(program: Command, output: LessonCommandOutput = processOutput): void {
  const lesson = program.command('lesson').description('lesson authoring: the lesson.yaml JSON Schema and a validator');
  lesson
    .command('schema')
    .description('print the JSON Schema of lesson.yaml (for editors)')
    .action(() => {
      output.out(`${JSON.stringify(lessonJsonSchema(), null, 2)}\n`);
    });
  lesson
    .command('validate')
    .argument('<dir>', 'a lesson folder (with lesson.yaml) or a folder of lesson folders')
    .description('check a lesson: lesson.yaml fields, paths inside the folder, the deployment template')
    .action(async (dir: string) => {
      const result = await validateLessonDir(dir);
      (result.ok ? output.out : output.err)(`${result.report}\n`);
      if (!result.ok) process.exitCode = 1;
    });
}
