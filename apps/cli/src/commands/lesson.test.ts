import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtInLessonsDir } from '@labbot/lessons';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { registerLessonCommand } from './lesson.js';

const scratch = await mkdtemp(join(tmpdir(), 'labbot-cli-lesson-'));
afterAll(() => rm(scratch, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = undefined;
});

async function runLabbot(args: string[]): Promise<{ out: string; err: string; exitCode: number }> {
  let out = '';
  let err = '';
  const program = new Command('labbot').exitOverride();
  registerLessonCommand(program, { out: (t) => (out += t), err: (t) => (err += t) });
  process.exitCode = undefined;
  await program.parseAsync(['node', 'labbot', ...args]);
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { out, err, exitCode };
}

describe('labbot lesson', () => {
  it('schema prints the JSON Schema of lesson.yaml', async () => {
    const { out, exitCode } = await runLabbot(['lesson', 'schema']);
    const schema = JSON.parse(out);
    expect(exitCode).toBe(0);
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'title', 'summary', 'steps', 'deployment']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['build', 'run', 'deployment', 'variants', 'checks', 'limits']),
    );
  });

  it('validate accepts the built-in lessons folder and one lesson folder', async () => {
    const all = await runLabbot(['lesson', 'validate', builtInLessonsDir()]);
    expect(all.exitCode).toBe(0);
    expect(all.out).toMatch(
      /^✓ docker-vs-kubernetes \(Docker vs Kubernetes\): 4 steps, 3 checks, deployment hello × 3, variants: exits$/m,
    );
    const one = await runLabbot(['lesson', 'validate', join(builtInLessonsDir(), 'docker-vs-kubernetes')]);
    expect(one.exitCode).toBe(0);
  });

  it('validate names file, field and problem, and exits 1', async () => {
    const dir = join(scratch, 'docker-vs-kubernetes');
    await cp(join(builtInLessonsDir(), 'docker-vs-kubernetes'), dir, { recursive: true });
    const file = join(dir, 'lesson.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('  template: deployment.yaml', '  template: ../../x.yaml'),
    );
    const { err, exitCode } = await runLabbot(['lesson', 'validate', dir]);
    expect(exitCode).toBe(1);
    expect(err).toContain(`✗ ${dir}`);
    expect(err).toContain('lesson.yaml: deployment.template: must not contain ".." (it would leave the lesson folder)');
  });

  it('validate says so when the folder holds no lesson', async () => {
    const { err, exitCode } = await runLabbot(['lesson', 'validate', join(scratch, 'none-such')]);
    expect(exitCode).toBe(1);
    expect(err).toMatch(/has no lesson\.yaml|is not a folder/);
  });
});
