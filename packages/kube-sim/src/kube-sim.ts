import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { KubeApi, systemNamespaces } from './api.js';
import { ControllerManager } from './controllers.js';
import { ExecGateway } from './exec.js';
import { emptyStats, type FaultOptions, type RequestStats } from './faults.js';
import { HttpApiServer } from './http-server.js';
import { DockerKubelet } from './kubelet-docker.js';
import { type Kubelet, VirtualKubelet } from './kubelet-virtual.js';
import { nodeName } from './pod-status.js';
import { resourceByKind } from './resources.js';
import { ObjectStore } from './store.js';
import { clone } from './types.js';

export interface KubeSimOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** `docker`: pods are containers on the local engine. `virtual`: pods only pretend to run. */
  kubelet: 'docker' | 'virtual';
  /** First CrashLoopBackOff / ImagePullBackOff delay in ms (upstream 10 000); doubles per restart. */
  backoffBaseMs?: number;
  /** Virtual kubelet: delay before a pod is Running and Ready (default 50 ms). */
  virtualReadyDelayMs?: number;
  docker?: { client?: Docker; labels?: Record<string, string> };
  faults?: FaultOptions;
  /** The local registry (`127.0.0.1:5050`) the Docker kubelet may pull from. */
  registry?: string;
  /** How many past changes a watch may resume from before 410 Gone (default 10 000). */
  watchHistory?: number;
  /** How long a deleted namespace shows Terminating before its contents go (default 300 ms). */
  namespaceTerminationDelayMs?: number;
  /** Bearer token of the kubeconfig user (`kube-sim` by default); requests without a token are served too. */
  token?: string;
}

export interface KubeSim {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A kubeconfig (YAML) for kubectl or client-node: plain http, a token user, context `kube-sim`. */
  kubeconfig: string;
  writeKubeconfig(path: string): Promise<void>;
  /** Kubernetes API requests served so far, by verb and resource. */
  stats(): RequestStats;
  resetStats(): void;
  /** Changes fault injection while running. */
  setFaults(faults: FaultOptions): void;
  /** Closes every open watch now (cleanly, or `abrupt`ly as a network cut); returns how many. */
  dropWatches(abrupt?: boolean): number;
  /** Stops serving, stops controllers and the kubelet, removes every container it started. */
  stop(): Promise<void>;
}

function kubeconfigFor(url: string, token: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-sim',
    '  cluster:',
    `    server: ${url}`,
    // client-node 2 refuses plain http unless this is set; kubectl ignores it for http.
    '    insecure-skip-tls-verify: true',
    'contexts:',
    '- name: kube-sim',
    '  context:',
    '    cluster: kube-sim',
    '    user: kube-sim',
    '    namespace: default',
    'current-context: kube-sim',
    'preferences: {}',
    'users:',
    '- name: kube-sim',
    '  user:',
    `    token: ${token}`,
    '',
  ].join('\n');
}

function seed(api: KubeApi): void {
  for (const name of systemNamespaces)
    api.create(resourceByKind('Namespace'), undefined, { metadata: { name } }, { manager: 'kube-apiserver' });
  api.store.create(resourceByKind('Node'), {
    metadata: {
      name: nodeName,
      labels: {
        'kubernetes.io/hostname': nodeName,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/control-plane': '',
      },
    },
    spec: {},
    status: {
      capacity: { cpu: '2', memory: '8Gi', pods: '2000' },
      allocatable: { cpu: '2', memory: '8Gi', pods: '2000' },
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: nodeName },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.32.0-kube-sim',
        containerRuntimeVersion: 'docker://20.10',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  });
}

/** Starts the simulator on 127.0.0.1 and resolves once it serves. */
export async function startKubeSim(options: KubeSimOptions): Promise<KubeSim> {
  const store = new ObjectStore({ historyLimit: options.watchHistory ?? 10_000 });
  const api = new KubeApi(store);
  const controllers = new ControllerManager(api, {
    namespaceTerminationDelayMs: options.namespaceTerminationDelayMs ?? 300,
  });
  const instanceId = randomBytes(6).toString('hex');
  let kubelet: Kubelet;
  if (options.kubelet === 'docker') {
    const dockerKubelet = new DockerKubelet(api, {
      instanceId,
      backoffBaseMs: options.backoffBaseMs ?? 10_000,
      ...(options.docker?.client ? { docker: options.docker.client } : {}),
      ...(options.docker?.labels ? { labels: options.docker.labels } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
    });
    await dockerKubelet.start();
    kubelet = dockerKubelet;
  } else kubelet = new VirtualKubelet(api, options.virtualReadyDelayMs ?? 50);
  seed(api);
  const token = options.token ?? 'kube-sim';
  let stats = emptyStats();
  const faults: FaultOptions = { ...options.faults };
  const exec = new ExecGateway(kubelet);
  const http = new HttpApiServer({
    api,
    exec,
    token,
    faults,
    get stats() {
      return stats;
    },
    logs: kubelet,
  });
  await new Promise<void>((resolve, reject) => {
    http.server.once('error', reject);
    http.server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (http.server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const kubeconfig = kubeconfigFor(url, token);
  let stopping: Promise<void> | undefined;
  return {
    url,
    kubeconfig,
    writeKubeconfig: (path) => writeFile(path, kubeconfig, { mode: 0o600 }),
    stats: () => clone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
    setFaults: (next) => {
      for (const key of Object.keys(faults) as (keyof FaultOptions)[]) delete faults[key];
      Object.assign(faults, next);
    },
    dropWatches: (abrupt) => http.dropWatches(abrupt),
    stop: () => {
      stopping ??= (async () => {
        controllers.stop();
        exec.close();
        http.dropWatches();
        http.server.closeAllConnections();
        await new Promise<void>((resolve) => http.server.close(() => resolve()));
        await kubelet.stop();
      })();
      return stopping;
    },
  };
}
