export { type ClusterDriverContractHarness, describeClusterDriverContract } from './contract.js';
export {
  createMemoryClusterDriver,
  type MemoryClusterDriver,
  type MemoryClusterDriverOptions,
} from './memory-cluster.js';
export { createMemoryRoomApi, type MemoryRoomApi } from './memory-room-api.js';
export * from './pod-fixtures.js';
