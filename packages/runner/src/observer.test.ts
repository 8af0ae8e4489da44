import { LAB_PHASES } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { countLabsByPhase } from './observer.js';
import { createRunnerWorld } from './testing/runner-fixtures.js';

describe('countLabsByPhase (the labs-by-phase gauge of /metrics)', () => {
  it('counts every lab once across pages, and shows every phase, zeros included', async () => {
    const world = createRunnerWorld();
    // More labs than one page of the store's listing (200).
    for (let index = 0; index < 450; index++) {
      const lab = await world.newLab();
      if (index % 3 === 0) {
        await world.store.update(lab.labId, (current) => ({
          ...current,
          observed: { ...current.observed, phase: 'ready', generation: 0 },
        }));
      }
    }
    const counts = await countLabsByPhase(world.store);
    expect(Object.keys(counts).sort()).toEqual([...LAB_PHASES].sort());
    expect(counts.ready).toBe(150);
    expect(counts.pending).toBe(300);
    expect(Object.values(counts).reduce((sum, count) => sum + count, 0)).toBe(450);
  });
});
