import { describeClusterDriverContract } from './contract.js';
import { createMemoryClusterDriver } from './memory-cluster.js';

describeClusterDriverContract('in memory', { create: () => createMemoryClusterDriver() });
