import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'vitest';

/**
 * Compares `value`, as indented JSON, with the golden file at `file`. A missing or different golden fails;
 * UPDATE_GOLDEN=1 writes the file instead (review the diff like code, then commit it).
 */
export function expectGolden(file: string, value: unknown): void {
  const json = `${JSON.stringify(value, null, 2)}\n`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, json);
  } else if (!existsSync(file)) {
    throw new Error(`golden file ${file} is missing: run the test with UPDATE_GOLDEN=1, review it and commit it`);
  }
  expect(json, `golden file ${file} (UPDATE_GOLDEN=1 rewrites it)`).toBe(readFileSync(file, 'utf8'));
}
