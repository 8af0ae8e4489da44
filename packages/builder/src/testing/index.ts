export { type BuilderContractHarness, describeBuilderContract } from './contract.js';
export { createMemoryBuilder, type MemoryBuilder } from './memory-builder.js';
