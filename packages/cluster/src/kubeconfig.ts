import { KubeConfig } from '@kubernetes/client-node';
import { LabbotError } from '@labbot/core';

/** Where the driver's KubeConfig comes from. */
export interface LoadKubeConfigOptions {
  /** `file`: a kubeconfig file (or $KUBECONFIG / ~/.kube/config); `in-cluster`: the pod's ServiceAccount; `sim`: kube-sim. */
  mode: 'file' | 'in-cluster' | 'sim';
  /** Kubeconfig file for `file` mode; defaults to $KUBECONFIG then ~/.kube/config. */
  path?: string;
  /** Kubeconfig text, for `sim` mode (what startKubeSim returns) or `file` mode without a file. */
  kubeconfigYaml?: string;
  /** The simulator's URL, for `sim` mode without a kubeconfig text. */
  server?: string;
}

/** Builds a client-node KubeConfig; plain-http servers (kube-sim) get skipTLSVerify, which client-node 2 needs. */
export function loadKubeConfig(options: LoadKubeConfigOptions): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (options.mode === 'in-cluster') {
      kubeConfig.loadFromCluster();
    } else if (options.kubeconfigYaml !== undefined) {
      kubeConfig.loadFromString(options.kubeconfigYaml);
    } else if (options.mode === 'sim') {
      if (!options.server) throw new Error('sim mode needs kubeconfigYaml or server');
      kubeConfig.loadFromClusterAndUser(
        { name: 'kube-sim', server: options.server, skipTLSVerify: true },
        { name: 'kube-sim-user', token: 'kube-sim' },
      );
    } else if (options.path !== undefined) {
      kubeConfig.loadFromFile(options.path);
    } else {
      kubeConfig.loadFromDefault();
    }
  } catch (error) {
    throw new LabbotError('CLUSTER_CONFIG_INVALID', `cannot load kubeconfig (${options.mode}): ${String(error)}`, {
      cause: error,
      context: { mode: options.mode, path: options.path },
    });
  }
  const current = kubeConfig.getCurrentCluster();
  if (!current) {
    throw new LabbotError('CLUSTER_CONFIG_INVALID', `kubeconfig (${options.mode}) has no current cluster`, {
      context: { mode: options.mode, path: options.path },
    });
  }
  if (current.server.startsWith('http:') && !current.skipTLSVerify) {
    kubeConfig.loadFromOptions({
      clusters: kubeConfig.clusters.map((cluster) =>
        cluster.server.startsWith('http:') ? { ...cluster, skipTLSVerify: true } : cluster,
      ),
      users: kubeConfig.users,
      contexts: kubeConfig.contexts,
      currentContext: kubeConfig.currentContext,
    });
  }
  return kubeConfig;
}
