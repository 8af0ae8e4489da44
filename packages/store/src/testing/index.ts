export { describeLabStoreContract, type LabStoreContractHarness } from './contract.js';
export { createMemoryRateLimiter, type MemoryRateLimiterOptions } from './memory-rate-limiter.js';
export { createMemoryLabStore, type MemoryLabStoreOptions } from './memory-store.js';
export { describeRateLimiterContract, type RateLimiterContractHarness } from './rate-limiter-contract.js';
