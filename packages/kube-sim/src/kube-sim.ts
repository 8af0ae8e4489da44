import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type Docker from 'dockerode';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { KubeApi, systemNamespaces } from './api.js';
import { Authenticator } from './authn.js';
import { ControllerManager } from './controllers.js';
import { ExecGateway } from './exec.js';
import { emptyStats, type FaultOptions, type RequestStats } from './faults.js';
import { HttpApiServer } from './http-server.js';
import { DockerKubelet } from './kubelet-docker.js';
import { type Kubelet, VirtualKubelet } from './kubelet-virtual.js';
import { bootstrapPolicy } from './rbac.js';
import { resourceByKind } from './resources.js';
import { ObjectStore } from './store.js';
import { servingCertificate } from './tls.js';
import { clone } from './types.js';

export interface KubeSimOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
  /** `docker`: pods are containers on the local engine. `virtual`: pods only pretend to run. */
  kubelet: 'docker' | 'virtual';
  /** First CrashLoopBackOff / ImagePullBackOff delay in ms (upstream 10 000); doubles per restart. */
  backoffBaseMs?: number;
  /**
   * Docker kubelet: how long a started container must still be running before it is reported running and its pod
   * Ready (default 150 ms), as a real kubelet sees containers only at its relist: one that exits sooner never is.
   */
  relistDelayMs?: number;
  /** Virtual kubelet: delay before a pod is Running and Ready (default 50 ms). */
  virtualReadyDelayMs?: number;
  docker?: { client?: Docker; labels?: Record<string, string> };
  faults?: FaultOptions;
  /** The local registry (`127.0.0.1:5050`) the Docker kubelet may pull from. */
  registry?: string;
  /** How many past changes a watch may resume from before 410 Gone (default 10 000). */
  watchHistory?: number;
  /**
   * How often a watch that asked for bookmarks (`allowWatchBookmarks=true`) gets a BOOKMARK with the current
   * resourceVersion (default 15 s). The API server sends them about once a minute; clients may not rely on when.
   */
  watchBookmarkMs?: number;
  /** How long a deleted namespace shows Terminating before its contents go (default 300 ms). */
  namespaceTerminationDelayMs?: number;
  /** Bearer token of the kubeconfig's admin user (group system:masters); random when absent. */
  token?: string;
  /** Clock seam for ServiceAccount token expiry (ms since the epoch). */
  now?: () => number;
  /** The simulated nodes (what `GET /api/v1/nodes` reports as allocatable); pods are spread over them. */
  nodes?: SimNodeOptions;
}

export interface SimNodeOptions {
  /** How many nodes (default 8), named sim-node-1, sim-node-2, ... */
  count?: number;
  /** Pods one node takes (default 110, the real kubelet's --max-pods default). */
  podsPerNode?: number;
  /** CPU of one node (default "16"). */
  cpu?: string;
  /** Memory of one node (default "64Gi"). */
  memory?: string;
}

export interface KubeSim {
  /** `https://127.0.0.1:<port>` */
  url: string;
  /** A kubeconfig (YAML) for kubectl or client-node: the admin token (system:masters), the CA, context `kube-sim`. */
  kubeconfig: string;
  writeKubeconfig(path: string): Promise<void>;
  /** The admin bearer token of `kubeconfig`. */
  adminToken: string;
  /** The self-signed CA certificate (PEM) the server's certificate chains to. */
  caCert: string;
  /** A kubeconfig for another bearer token (a ServiceAccount's), same cluster and CA. */
  kubeconfigForToken(token: string, namespace?: string): string;
  /** TokenRequest for a ServiceAccount, as `kubectl create token` does (default 1 h). */
  createToken(namespace: string, serviceAccount: string, expirationSeconds?: number): string;
  /** A fetch of a path with the admin token, trusting the simulator's CA (for tests and benches). */
  fetch(path: string, init?: RequestInit): Promise<Response>;
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

function kubeconfigFor(url: string, token: string, caCert: string, namespace = 'default'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: kube-sim',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority-data: ${Buffer.from(caCert).toString('base64')}`,
    'contexts:',
    '- name: kube-sim',
    '  context:',
    '    cluster: kube-sim',
    '    user: kube-sim',
    `    namespace: ${namespace}`,
    'current-context: kube-sim',
    'preferences: {}',
    'users:',
    '- name: kube-sim',
    '  user:',
    `    token: ${token}`,
    '',
  ].join('\n');
}

function seed(api: KubeApi, nodes: SimNodeOptions = {}): void {
  const policy = bootstrapPolicy();
  for (const role of policy.roles) api.store.create(resourceByKind('ClusterRole'), role);
  for (const binding of policy.bindings) api.store.create(resourceByKind('ClusterRoleBinding'), binding);
  for (const name of systemNamespaces)
    api.create(resourceByKind('Namespace'), undefined, { metadata: { name } }, { manager: 'kube-apiserver' });
  const count = Math.max(1, Math.floor(nodes.count ?? 8));
  const allocatable = {
    cpu: nodes.cpu ?? '16',
    memory: nodes.memory ?? '64Gi',
    pods: String(Math.max(1, Math.floor(nodes.podsPerNode ?? 110))),
  };
  for (let index = 0; index < count; index++) {
    const name = `sim-node-${index + 1}`;
    api.store.create(resourceByKind('Node'), {
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          ...(index === 0 ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
        },
      },
      spec: {},
      status: {
        capacity: { ...allocatable },
        allocatable,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
        ],
        addresses: [
          { type: 'InternalIP', address: `127.0.0.${index + 1}` },
          { type: 'Hostname', address: name },
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
      ...(options.relistDelayMs !== undefined ? { relistDelayMs: options.relistDelayMs } : {}),
      ...(options.docker?.client ? { docker: options.docker.client } : {}),
      ...(options.docker?.labels ? { labels: options.docker.labels } : {}),
      ...(options.registry ? { registry: options.registry } : {}),
    });
    await dockerKubelet.start();
    kubelet = dockerKubelet;
  } else kubelet = new VirtualKubelet(api, options.virtualReadyDelayMs ?? 50);
  seed(api, options.nodes);
  const token = options.token ?? randomBytes(24).toString('base64url');
  const authenticator = new Authenticator({ store, adminToken: token, now: options.now ?? Date.now });
  const tls = await servingCertificate();
  let stats = emptyStats();
  const faults: FaultOptions = { ...options.faults };
  const exec = new ExecGateway(kubelet);
  const http = new HttpApiServer({
    api,
    exec,
    authenticator,
    tls,
    faults,
    watchBookmarkMs: options.watchBookmarkMs ?? 15_000,
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
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = kubeconfigFor(url, token, tls.cert);
  const dispatcher = new Agent({ connect: { ca: tls.cert } });
  let stopping: Promise<void> | undefined;
  return {
    url,
    kubeconfig,
    adminToken: token,
    caCert: tls.cert,
    kubeconfigForToken: (other, namespace) => kubeconfigFor(url, other, tls.cert, namespace),
    createToken: (namespace, serviceAccount, seconds) => authenticator.issue(namespace, serviceAccount, seconds).token,
    fetch: (path, init = {}) =>
      fetch(`${url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) },
        dispatcher,
      }),
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
        await dispatcher.close();
      })();
      return stopping;
    },
  };
}
