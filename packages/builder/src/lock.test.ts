import { describe, it } from 'vitest';
import { createMemoryBuildLock } from './lock.js';
import { expectExclusiveWithWakeUp } from './lock.test-helpers.js';

describe('memory build lock', () => {
  it('lets one holder in at a time and wakes waiters on release', async () => {
    await expectExclusiveWithWakeUp(createMemoryBuildLock());
  });
});
