// Hostile input (issue #13), property-based with fast-check: the lesson loader on lesson.yaml files an author (or
// an attacker with write access to a lessons folder) could write. 1,000+ cases: the loader never throws anything but
// LessonInvalidError, every problem is one short line, and the sentence a learner sees is one short line too.
import { cp, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { refusalProblem } from '@labbot/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { builtInLessonsDir, loadLesson } from './loader.js';
import { formatProblem, LessonInvalidError } from './problems.js';

const RUNS = Number(process.env.LABBOT_FUZZ_RUNS ?? 1000);
// A thousand cases take seconds, more on a loaded machine: more than the unit tests' default 10 s.
const FUZZ_TIMEOUT_MS = 120_000;
const LESSON = 'your-first-image';
let root: string;
let dir: string;
let realDir: string;
let original: Record<string, unknown>;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'labbot-lesson-fuzz-'));
  dir = join(root, LESSON);
  await cp(join(builtInLessonsDir(), LESSON), dir, { recursive: true });
  original = parse(await readFile(join(dir, 'lesson.yaml'), 'utf8'));
  realDir = await realpath(dir);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const PATHS = [
  ['id'],
  ['title'],
  ['summary'],
  ['steps'],
  ['steps', 0],
  ['steps', 0, 'id'],
  ['steps', 0, 'text'],
  ['steps', 0, 'shownAt'],
  ['build'],
  ['build', 'context'],
  ['build', 'dockerfile'],
  ['build', 'args'],
  ['build', 'network'],
  ['run', 'command'],
  ['run', 'timeoutSeconds'],
  ['deployment'],
  ['deployment', 'template'],
  ['deployment', 'name'],
  ['deployment', 'replicas'],
  ['checks'],
  ['checks', 0],
  ['checks', 0, 'kind'],
  ['checks', 2, 'deployment'],
  ['checks', 3, 'count'],
  ['limits', 'pods'],
  ['limits', 'cpu'],
  ['limits', 'memory'],
  ['learnerBuild'],
  ['learnerBuild', 'baseImages'],
  ['variants'],
  ['images'],
  ['imageName'],
  ['__proto__'],
] as const;
const HOSTILE = [
  null,
  true,
  0,
  -1,
  1e308,
  '',
  '../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows',
  '..',
  'a/../../b',
  '~/x',
  'x'.repeat(5000),
  'Deployment',
  'podsReady',
  'learnerDeployed',
  'manifestGenerated',
  [],
  {},
  [{}],
  { x: 1 },
  { '../x': { description: 'escape' } },
  { v2: { context: '../..' } },
  '{{image}}',
  '\u0000',
  '\u202e',
  '🙂',
];

function setPath(object: Record<string, unknown>, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = object;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof key === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  const last = path.at(-1);
  if (last !== undefined)
    Object.defineProperty(node, last, { value, enumerable: true, configurable: true, writable: true });
}

const edited = fc
  .array(fc.tuple(fc.constantFrom(...PATHS), fc.oneof(fc.constantFrom(...HOSTILE), fc.jsonValue({ maxDepth: 3 }))), {
    minLength: 1,
    maxLength: 4,
  })
  .map((edits) => {
    const object = structuredClone(original);
    for (const [path, value] of edits) setPath(object, path, value);
    return stringify(object);
  });

const lessonText = fc.oneof(
  { weight: 4, arbitrary: edited },
  { weight: 1, arbitrary: fc.string({ maxLength: 2000, unit: 'binary' }) },
  {
    weight: 1,
    arbitrary: fc
      .array(
        fc.constantFrom(
          'a: &a [*a, *a]\n',
          'b: *a\n',
          '<<: *a\n',
          '!!js/function f\n',
          'id: x\n',
          'id: y\n',
          '---\n',
          '{\n',
          "'\n",
          '? [k]\n: v\n',
        ),
        { maxLength: 10 },
      )
      .map((lines) => lines.join('')),
  },
);

describe('the lesson loader, fuzzed', () => {
  it(
    'loads the lesson or refuses it with LessonInvalidError: each problem one line, the learner sentence short',
    async () => {
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(lessonText, async (text) => {
          await writeFile(join(dir, 'lesson.yaml'), text);
          const outcome = await loadLesson(dir).then(
            (lesson) => ({ lesson }),
            (error: unknown) => ({ error }),
          );
          if ('lesson' in outcome) {
            // Whatever loads stays inside its folder.
            expect(outcome.lesson.builds.default.contextDir.startsWith(realDir)).toBe(true);
            return;
          }
          refused += 1;
          expect(outcome.error, text).toBeInstanceOf(LessonInvalidError);
          const error = outcome.error as LessonInvalidError;
          expect(error.problems.length).toBeGreaterThan(0);
          for (const problem of error.problems) expect(refusalProblem(formatProblem(problem)), text).toBeUndefined();
          expect(refusalProblem(error.userMessage), text).toBeUndefined();
        }),
        { numRuns: RUNS },
      );
      expect(refused).toBeGreaterThan(RUNS / 2);
    },
    FUZZ_TIMEOUT_MS,
  );
});
