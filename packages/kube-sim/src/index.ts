export { ApiError } from './api-error.js';
export type { FaultOptions, RequestStats } from './faults.js';
export { type KubeSim, type KubeSimOptions, startKubeSim } from './kube-sim.js';
