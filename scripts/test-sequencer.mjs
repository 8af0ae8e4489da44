// Orders the test files of each vitest project longest first, by the time each file held its worker in earlier
// runs (hooks and imports included, from .labbot/test-durations.json, written by scripts/file-timings.mjs), so a
// long file never starts last with the other worker idle. vitest's own order uses its cache of test durations,
// which leaves out beforeAll hooks (ops-image.int builds labbot's image in one: 2 minutes it counts as 17 s).
// Files without a recorded time (a fresh checkout, a new file) go first, larger files first, as vitest does.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer } from 'vitest/node';

export const durationsFile = (root) => `${root}/.labbot/test-durations.json`;
export const durationKey = (project, file) => `${project}:${file}`;

export default class LongestFirstSequencer extends BaseSequencer {
  async sort(files) {
    const root = this.ctx.config.root;
    const path = durationsFile(root);
    const seconds = existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : {};
    const known = (spec) => seconds[durationKey(spec.project.name, relative(root, spec.moduleId))];
    const size = (spec) => (existsSync(spec.moduleId) ? statSync(spec.moduleId).size : 0);
    return [...files].sort((a, b) => {
      const groupOrder = a.project.config.sequence.groupOrder - b.project.config.sequence.groupOrder;
      if (groupOrder !== 0) return groupOrder;
      if (a.project.name !== b.project.name) return a.project.name < b.project.name ? -1 : 1;
      const [timeA, timeB] = [known(a), known(b)];
      if (timeA === undefined || timeB === undefined) {
        if (timeA !== undefined) return 1;
        if (timeB !== undefined) return -1;
        return size(b) - size(a);
      }
      return timeB - timeA;
    });
  }
}
