import { describeLabStoreContract } from './contract.js';
import { createMemoryRateLimiter } from './memory-rate-limiter.js';
import { createMemoryLabStore } from './memory-store.js';
import { describeRateLimiterContract } from './rate-limiter-contract.js';

describeLabStoreContract('in memory', {
  create: ({ clock, historyLimit }) =>
    createMemoryLabStore({ clock, ...(historyLimit !== undefined ? { historyLimit } : {}) }),
});

describeRateLimiterContract('in memory', { create: (options) => createMemoryRateLimiter(options) });
