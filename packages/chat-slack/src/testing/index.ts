export { type AdapterOnSim, startAdapterOnSim } from './adapter-on-sim.js';
