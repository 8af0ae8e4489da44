export { type KubeSim, startKubeSim } from './kube-sim.js';
