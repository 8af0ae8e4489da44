export { describeLabStoreContract, type LabStoreContractHarness } from './contract.js';
export { createMemoryLabStore, type MemoryLabStoreOptions } from './memory-store.js';
