import type { ServerResponse } from 'node:http';
import type { KubeApi } from './api.js';
import { ApiError } from './api-error.js';
import type { ExecRequest, ExecRunner, ExecSession } from './exec.js';
import type { LogSource, PodLogOptions } from './http-server.js';
import { buildPodStatus, podContainers } from './pod-status.js';
import { resourceByKind } from './resources.js';
import type { StoreEvent } from './store.js';
import { type KubeObject, nowIso } from './types.js';

const Pod = resourceByKind('Pod');

export interface Kubelet extends LogSource, ExecRunner {
  stop(): Promise<void>;
}

/** Pods become Running and Ready after a delay; no container runs. For scale tests. */
export class VirtualKubelet implements Kubelet {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly unsubscribe: () => void;
  private nextIp = 2;
  /** Pods this kubelet has started (or is starting). */
  private readonly started = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly readyDelayMs: number,
  ) {
    this.unsubscribe = api.store.subscribe((event) => this.observe(event));
  }

  private observe(event: StoreEvent): void {
    if (event.resource !== Pod) return;
    const pod = event.object;
    const uid = pod.metadata.uid ?? '';
    if (event.type === 'DELETED') {
      clearTimeout(this.timers.get(uid));
      this.timers.delete(uid);
      this.started.delete(uid);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      clearTimeout(this.timers.get(uid));
      this.timers.delete(uid);
      setImmediate(() => {
        if (this.api.store.get(Pod, pod.metadata.namespace, pod.metadata.name ?? ''))
          this.api.store.remove(Pod, pod.metadata.namespace, pod.metadata.name ?? '');
      });
      return;
    }
    // A pod starts once the scheduler gave it a node (at creation, or later when room freed).
    if (pod.spec?.nodeName && !this.timers.has(uid) && !this.started.has(uid)) {
      this.started.add(uid);
      const timer = setTimeout(() => {
        this.timers.delete(uid);
        this.markRunning(pod);
      }, this.readyDelayMs);
      this.timers.set(uid, timer);
    }
  }

  private markRunning(pod: KubeObject): void {
    const n = this.nextIp++;
    const ip = `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
    const startedAt = nowIso();
    this.api.store.mutate(Pod, pod.metadata.namespace, pod.metadata.name ?? '', (current) => {
      if (current.metadata.uid !== pod.metadata.uid || current.metadata.deletionTimestamp) return;
      current.status = buildPodStatus(
        current,
        podContainers(current).map((c) => ({
          name: String(c.name),
          image: String(c.image),
          restartCount: 0,
          state: { kind: 'running', startedAt },
        })),
        { podIP: ip, restartPolicy: String(current.spec?.restartPolicy ?? 'Always') },
      );
    });
  }

  async streamLogs(_pod: KubeObject, _options: PodLogOptions, res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end();
  }

  async exec(_pod: KubeObject, _request: ExecRequest, session: ExecSession): Promise<void> {
    session.fail(
      new ApiError(400, 'BadRequest', 'the virtual kubelet runs no containers: exec needs --kubelet docker'),
    );
  }

  async stop(): Promise<void> {
    this.unsubscribe();
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
