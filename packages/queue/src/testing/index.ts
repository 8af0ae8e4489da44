export { describeQueuesContract, type QueuesContractHarness } from './contract.js';
export { createMemoryQueues, type MemoryQueues } from './memory-queues.js';
