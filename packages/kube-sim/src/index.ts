export { type KubeSim, type KubeSimOptions, type SimNodeOptions, startKubeSim } from './kube-sim.js';
