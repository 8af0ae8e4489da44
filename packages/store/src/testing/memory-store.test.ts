import { describeLabStoreContract } from './contract.js';
import { createMemoryLabStore } from './memory-store.js';

describeLabStoreContract('in memory', {
  create: ({ clock, historyLimit }) =>
    createMemoryLabStore({ clock, ...(historyLimit !== undefined ? { historyLimit } : {}) }),
});
