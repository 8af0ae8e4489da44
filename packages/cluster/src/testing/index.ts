export { type ClusterDriverContractHarness, describeClusterDriverContract } from './contract.js';
export {
  createMemoryClusterDriver,
  type MemoryClusterDriver,
  type MemoryClusterDriverOptions,
} from './memory-cluster.js';
export * from './pod-fixtures.js';
