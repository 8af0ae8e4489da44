import type { PodSummary } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { evaluateChecks } from '../checks.js';
import { getLesson } from '../loader.js';
import { LessonSpecSchema } from '../schema.js';

const FIRST = 'labbot/learner-abc:first';
const SECOND = 'labbot/learner-abc:second';
const pod = (name: string, image: string, ready = true): PodSummary => ({
  name,
  phase: ready ? 'Running' : 'Waiting',
  ready,
  readyContainers: ready ? 1 : 0,
  totalContainers: 1,
  restarts: ready ? 0 : 4,
  image,
});
const threeOf = (image: string, ready = true) => ['a', 'b', 'c'].map((name) => pod(`hello-${name}`, image, ready));
interface Steps {
  builtImages: string[];
  generatedDeployments: string[];
  applies: number;
}
const nothing: Steps = { builtImages: [], generatedDeployments: [], applies: 0 };

describe('the your-first-image checks: one per step', () => {
  it('all fail with a hint on a fresh lab', async () => {
    const lesson = await getLesson('your-first-image');
    const fresh = evaluateChecks(lesson, { pods: [], learner: nothing });
    expect(fresh.map((result) => [result.name.slice(0, 7), result.passed])).toEqual([
      ['Step 1:', false],
      ['Step 2:', false],
      ['Step 3:', false],
      ['Step 4:', false],
    ]);
    expect(fresh.every((result) => (result.hint ?? '').length > 20)).toBe(true);
  });

  it('each step passes as the learner does it, in order', async () => {
    const lesson = await getLesson('your-first-image');
    const passed = (facts: Parameters<typeof evaluateChecks>[1]) =>
      evaluateChecks(lesson, facts).map((result) => result.passed);
    const built: Steps = { builtImages: [FIRST], generatedDeployments: [], applies: 0 };
    expect(passed({ pods: [], learner: built })).toEqual([true, false, false, false]);
    const ran = { pods: [], containerOutput: 'Hello from my first image!\n', learner: built };
    expect(passed(ran)).toEqual([true, true, false, false]);
    const generated = { ...built, generatedDeployments: ['hello'] };
    expect(passed({ ...ran, learner: generated })).toEqual([true, true, true, false]);
    // Applied, 3 pods ready on the learner's image: every step done.
    const applied = { ...generated, applies: 1 };
    expect(passed({ ...ran, pods: threeOf(FIRST), learner: applied })).toEqual([true, true, true, true]);
  });

  it('a manifest of another Deployment does not count for step 3', async () => {
    const lesson = await getLesson('your-first-image');
    const results = evaluateChecks(lesson, {
      pods: [],
      learner: { builtImages: [FIRST], generatedDeployments: ['web'], applies: 0 },
    });
    expect(results[2]?.passed).toBe(false);
  });

  it('step 4 wants pods of the last build, ready, after an apply of the learner', async () => {
    const lesson = await getLesson('your-first-image');
    const step4 = (pods: PodSummary[], learner: Steps) => evaluateChecks(lesson, { pods, learner })[3]?.passed;
    const applied: Steps = { builtImages: [FIRST], generatedDeployments: ['hello'], applies: 1 };
    // The crash-loop trap: 3 pods, none ready.
    expect(step4(threeOf(FIRST, false), applied)).toBe(false);
    // Ready pods, but not applied by the learner.
    expect(step4(threeOf(FIRST), { ...applied, applies: 0 })).toBe(false);
    // Rebuilt since: the pods still run the old image.
    expect(step4(threeOf(FIRST), { ...applied, builtImages: [FIRST, SECOND] })).toBe(false);
    expect(step4(threeOf(SECOND), { ...applied, builtImages: [FIRST, SECOND] })).toBe(true);
    // Two of three ready is not three.
    expect(step4([...threeOf(FIRST).slice(0, 2), pod('hello-c', FIRST, false)], applied)).toBe(false);
  });

  it('the learner kinds are refused in a lesson without learnerBuild', () => {
    const spec = {
      id: 'plain',
      title: 'Plain',
      summary: 'A lesson whose learners do not build.',
      steps: [{ id: 'one', title: 'One', text: 'Do it.' }],
      deployment: { name: 'hello' },
      checks: [{ kind: 'manifestGenerated', hint: 'Generate it.' }],
    };
    const parsed = LessonSpecSchema.safeParse(spec);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      [
        'checks.0.kind',
        '"manifestGenerated" checks what the learner builds and deploys: the lesson needs a learnerBuild section',
      ],
    ]);
    expect(LessonSpecSchema.safeParse({ ...spec, learnerBuild: {} }).success).toBe(true);
  });
});
