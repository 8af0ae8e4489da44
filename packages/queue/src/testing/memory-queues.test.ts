import { describeQueuesContract } from './contract.js';
import { createMemoryQueues } from './memory-queues.js';

describeQueuesContract('in memory', { create: () => createMemoryQueues() });
