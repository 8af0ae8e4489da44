import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { builtInLessonsDir, LessonInvalidError, loadLesson } from './index.js';

// docs/lessons.md shows malformed lesson.yaml fragments (```yaml invalid <field>); each one, merged over the
// built-in lesson, must be refused by the validator with a problem on that field.
const guide = await readFile(fileURLToPath(new URL('../../../docs/lessons.md', import.meta.url)), 'utf8');
const examples = [...guide.matchAll(/```yaml invalid (\S+)\n([\s\S]*?)```/g)].map((match) => ({
  field: match[1] ?? '',
  fragment: match[2] ?? '',
}));
const scratch = await mkdtemp(join(tmpdir(), 'labbot-guide-'));

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the lesson authors guide', () => {
  it('has malformed examples to check', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
  });

  it.each(examples)('refuses the example on $field', async ({ field, fragment }) => {
    const dir = join(scratch, field.replace(/\W/g, '-'), 'docker-vs-kubernetes');
    await mkdir(join(dir, '..'), { recursive: true });
    await cp(join(builtInLessonsDir(), 'docker-vs-kubernetes'), dir, { recursive: true });
    const lesson = parse(await readFile(join(dir, 'lesson.yaml'), 'utf8')) as Record<string, unknown>;
    const merged = { ...lesson, ...(parse(fragment) as Record<string, unknown>) };
    await writeFile(join(dir, 'lesson.yaml'), stringify(merged));
    const error = await loadLesson(dir).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(LessonInvalidError);
    const fields = (error as LessonInvalidError).problems.map((problem) => problem.field);
    expect(fields, (error as Error).message).toContain(field);
  });

  it('both built-in lessons carry the schema line the guide describes', async () => {
    for (const id of ['docker-vs-kubernetes', 'rolling-update']) {
      const text = await readFile(join(builtInLessonsDir(), id, 'lesson.yaml'), 'utf8');
      expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../../lesson.schema.json');
      await expect(loadLesson(join(builtInLessonsDir(), id))).resolves.toMatchObject({ id });
    }
  });
});
