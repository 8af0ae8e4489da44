import { startKubeSim } from '@labbot/kube-sim';
import { createClusterDriver } from './driver.js';
import { loadKubeConfig } from './kubeconfig.js';
import { describeClusterDriverContract } from './testing/contract.js';

let sim: Awaited<ReturnType<typeof startKubeSim>> | undefined;

describeClusterDriverContract('kube-sim', {
  create: async () => {
    sim = await startKubeSim({ kubelet: 'virtual' });
    const kubeConfig = loadKubeConfig({ mode: 'sim', kubeconfigYaml: sim.kubeconfig });
    return createClusterDriver({ kubeConfig, ceilings: { cpu: '2', memory: '1Gi', pods: 10 } });
  },
  cleanup: async () => {
    await sim?.stop();
  },
});
