import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECK_KINDS, lessonJsonSchema } from './schema.js';

// lesson.schema.json is committed so editors can use it (the built-in lesson.yaml points at it).
// Regenerate with: node apps/cli/bin/labbot.js lesson schema > packages/lessons/lesson.schema.json
describe('lesson JSON Schema', () => {
  it('the committed lesson.schema.json matches the zod schema', async () => {
    const committed = JSON.parse(await readFile(join(import.meta.dirname, '..', 'lesson.schema.json'), 'utf8'));
    expect(committed).toEqual(lessonJsonSchema());
  });

  it('describes defaults as optional and check kinds as a closed list', () => {
    const schema = lessonJsonSchema() as {
      required: string[];
      properties: Record<string, { items?: { oneOf?: { properties: { kind: { const: string } } }[] } }>;
    };
    expect(schema.required).toEqual(['id', 'title', 'summary', 'steps', 'deployment']);
    const kinds = schema.properties['checks']?.items?.oneOf?.map((option) => option.properties.kind.const);
    // The closed list is the one the loader names in its errors: a kind added to one and not the other fails here.
    expect(kinds).toEqual([...CHECK_KINDS]);
  });
});
