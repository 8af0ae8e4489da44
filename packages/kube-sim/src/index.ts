export { type KubeSim, type SimNodeOptions, startKubeSim } from './kube-sim.js';
