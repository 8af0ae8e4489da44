import { existsSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import type { KubeApi } from './api.js';
import { ApiError } from './api-error.js';
import type { ExecRequest, ExecSession } from './exec.js';
import type { PodLogOptions } from './http-server.js';
import type { Kubelet } from './kubelet-virtual.js';
import {
  buildPodStatus,
  type ContainerRuntimeStatus,
  type ContainerState,
  podContainers,
  podRef,
} from './pod-status.js';
import { parseQuantity } from './quantity.js';
import { resourceByKind } from './resources.js';
import type { StoreEvent } from './store.js';
import { isObject, type JsonObject, type KubeObject, nowIso } from './types.js';

const Pod = resourceByKind('Pod');
const instanceLabel = 'dev.labbot.kube-sim.instance';
/** `<pid namespace>:<pid>` of the process that runs the simulator: its containers are orphans once that process is gone. */
const ownerLabel = 'dev.labbot.kube-sim.owner';

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return 'unknown';
  }
}

/** Whether the owner of a container (an ownerLabel value) is a process that has ended, in our pid namespace. */
function ownerIsGone(owner: string, namespace: string): boolean {
  const separator = owner.lastIndexOf(':');
  const pid = Number(owner.slice(separator + 1));
  if (owner.slice(0, separator) !== namespace || namespace === 'unknown' || !Number.isInteger(pid) || pid <= 0)
    return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return isObject(error) && error.code === 'ESRCH';
  }
}

export interface DockerKubeletOptions {
  docker?: Docker;
  /** Identifies this simulator's containers (a label), so stop() removes only its own. */
  instanceId: string;
  /** Extra labels on every container (tests add `labbot.test=1`). */
  labels?: Record<string, string>;
  /** First CrashLoopBackOff delay; it doubles per restart up to `maxBackoffMs`. Upstream: 10 s. */
  backoffBaseMs: number;
  maxBackoffMs?: number;
  /** `127.0.0.1:5050`: images naming it (or any loopback registry) are pulled; nothing else is. */
  registry?: string;
  /**
   * How long a started container must still be running before it is reported running (and its pod Ready); one that
   * exits sooner is only ever reported terminated. A real kubelet learns container state at its PLEG relist (every
   * 1 s), so a process that ends milliseconds after its start is never seen running there. Default 150 ms.
   */
  relistDelayMs?: number;
}

/**
 * 150 ms: a container that prints and exits is gone a few ms after its start (4-10 ms from the engine's StartedAt to
 * its FinishedAt here, more on a loaded machine), while a pod that does run is Ready only this much later than it was.
 */
const defaultRelistDelayMs = 150;
/**
 * The real kubelet's relist period (genericPlegRelistPeriod). The engine marks a container exited only 40-450 ms after
 * its process ended (measured here, more under load; its die event comes as late), so when the engine says running
 * but the process is not seen alive (ended, or out of sight from here), the engine is asked again at this point after
 * the start and believed, as a kubelet would.
 */
const engineRelistMs = 1000;

/** Whether this machine has a /proc to look at processes in (Linux); without one (macOS), the engine is believed. */
const procMounted = existsSync('/proc/self/stat');

/**
 * Whether a container's main process (its pid in the engine's inspect) is alive, in the container's own cgroup, as
 * seen in this machine's /proc. False when it has ended, and when it cannot be told (an engine in a VM or in another
 * pid namespace, a pid already reused): the caller then waits for the engine.
 */
async function mainProcessAlive(pid: number, dockerId: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses and may itself hold spaces or parentheses.
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    if (state === 'Z' || state === 'X' || state === 'x') return false;
    return (await readFile(`/proc/${pid}/cgroup`, 'utf8')).includes(dockerId);
  } catch {
    return false;
  }
}

interface ContainerRuntime {
  spec: JsonObject;
  status: ContainerRuntimeStatus;
  dockerId?: string;
  previousDockerId?: string;
  backoffCount: number;
  timer?: NodeJS.Timeout;
  /** Until it fires, the container just started is not reported running (see `relistDelayMs`). */
  relistTimer?: NodeJS.Timeout;
  /** The container whose exit was already handled (the relist and the die event may both see it). */
  exitHandledFor?: string;
  /** The container the engine reported an OOM kill for ("oom" event), which may come after its "die". */
  oomKilled?: string;
}

interface PodRuntime {
  uid: string;
  namespace: string;
  name: string;
  containers: Map<string, ContainerRuntime>;
  deleting: boolean;
}

function isLoopbackRegistry(image: string, registry: string | undefined): boolean {
  const first = image.split('/')[0] ?? '';
  if (!image.includes('/')) return false;
  if (registry && first === registry) return true;
  return /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(first);
}

/** Milliseconds as Go prints a time.Duration: `200ms`, `1.6s`, `10s`, `5m0s`. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number(seconds.toFixed(3))}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${Number((seconds - minutes * 60).toFixed(3))}s`;
}

function demux(buffer: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const type = buffer[offset];
    const size = buffer.readUInt32BE(offset + 4);
    if (type === undefined || type > 2 || offset + 8 + size > buffer.length) return buffer;
    parts.push(buffer.subarray(offset + 8, offset + 8 + size));
    offset += 8 + size;
  }
  return Buffer.concat(parts);
}

/**
 * Each pod runs as real containers on the local Docker engine; pod status follows Docker's events, and a started
 * container is reported running only once a relist shortly after its start still finds it running.
 */
export class DockerKubelet implements Kubelet {
  private readonly docker: Docker;
  private readonly pods = new Map<string, PodRuntime>();
  private readonly unsubscribe: () => void;
  private events: NodeJS.ReadableStream | undefined;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly owner = `${pidNamespace()}:${process.pid}`;

  constructor(
    private readonly api: KubeApi,
    private readonly options: DockerKubeletOptions,
  ) {
    this.docker = options.docker ?? new Docker();
    this.unsubscribe = api.store.subscribe((event) => this.observe(event));
  }

  /** Opens the Docker event stream (die/oom of this instance's containers); removes containers of simulators whose process ended. */
  async start(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw new Error(
        `kube-sim docker kubelet: cannot reach the Docker engine (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      );
    }
    await this.removeOrphans();
    const stream = await this.docker.getEvents({
      filters: JSON.stringify({
        type: ['container'],
        event: ['die', 'oom'],
        label: [`${instanceLabel}=${this.options.instanceId}`],
      }),
    } as Docker.GetEventsOptions);
    this.events = stream;
    let buffered = '';
    stream.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        this.onDockerEvent(line);
      }
    });
    stream.on('error', () => undefined);
  }

  private track<T>(promise: Promise<T>): void {
    const tracked = promise.catch((error: unknown) => {
      if (!this.stopped)
        process.emitWarning(`kube-sim kubelet: ${error instanceof Error ? error.message : String(error)}`);
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private observe(event: StoreEvent): void {
    if (event.resource !== Pod || this.stopped) return;
    const pod = event.object;
    const uid = pod.metadata.uid ?? '';
    // A pod starts once the scheduler gave it a node (at creation, or later when room freed).
    if (event.type !== 'DELETED' && pod.spec?.nodeName && !pod.metadata.deletionTimestamp && !this.pods.has(uid)) {
      const runtime: PodRuntime = {
        uid,
        namespace: pod.metadata.namespace ?? '',
        name: pod.metadata.name ?? '',
        containers: new Map(),
        deleting: false,
      };
      for (const spec of podContainers(pod)) {
        runtime.containers.set(String(spec.name), {
          spec,
          backoffCount: 0,
          status: {
            name: String(spec.name),
            image: String(spec.image),
            restartCount: 0,
            state: { kind: 'waiting', reason: 'ContainerCreating' },
          },
        });
      }
      this.pods.set(uid, runtime);
      this.api.recordEvent(
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${pod.spec?.nodeName ?? 'sim-node-1'}`,
        'default-scheduler',
      );
      this.publish(runtime);
      for (const container of runtime.containers.values()) this.track(this.startContainer(runtime, container));
      return;
    }
    const runtime = this.pods.get(uid);
    if (event.type !== 'DELETED' && pod.metadata.deletionTimestamp && runtime && !runtime.deleting) {
      runtime.deleting = true;
      this.track(this.killPod(runtime, pod));
    }
  }

  private currentPod(runtime: PodRuntime): KubeObject | undefined {
    const pod = this.api.store.get(Pod, runtime.namespace, runtime.name);
    return pod && pod.metadata.uid === runtime.uid ? pod : undefined;
  }

  private publish(runtime: PodRuntime): void {
    if (runtime.deleting || this.stopped) return;
    const pod = this.currentPod(runtime);
    if (!pod || pod.metadata.deletionTimestamp) return;
    const status = buildPodStatus(
      pod,
      [...runtime.containers.values()].map((c) => c.status),
      { podIP: '127.0.0.1', restartPolicy: String(pod.spec?.restartPolicy ?? 'Always') },
    );
    this.api.store.mutate(Pod, runtime.namespace, runtime.name, (current) => {
      current.status = { ...status, qosClass: current.status?.qosClass ?? status.qosClass };
    });
  }

  private podEvent(runtime: PodRuntime, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const pod = this.currentPod(runtime);
    if (pod) this.api.recordEvent(pod, type, reason, message, 'kubelet');
  }

  /** Username and password for `registry` from the pod's imagePullSecrets (`kubernetes.io/dockerconfigjson`). */
  private pullCredentials(runtime: PodRuntime, registry: string): { username: string; password: string } | undefined {
    const pod = this.currentPod(runtime);
    const refs = isObject(pod?.spec) && Array.isArray(pod.spec.imagePullSecrets) ? pod.spec.imagePullSecrets : [];
    for (const ref of refs) {
      if (!isObject(ref) || typeof ref.name !== 'string') continue;
      const secret = this.api.store.get(resourceByKind('Secret'), runtime.namespace, ref.name);
      const data = isObject(secret?.data) ? secret.data['.dockerconfigjson'] : undefined;
      if (typeof data !== 'string') continue;
      try {
        const config = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as {
          auths?: Record<string, { username?: string; password?: string; auth?: string }>;
        };
        const entry = config.auths?.[registry];
        if (!entry) continue;
        const [username, password] = entry.auth
          ? Buffer.from(entry.auth, 'base64').toString('utf8').split(/:(.*)/s)
          : [entry.username, entry.password];
        if (username && password !== undefined) return { username, password };
      } catch {
        // A malformed secret gives no credentials, as the kubelet skips it.
      }
    }
    return undefined;
  }

  private async ensureImage(runtime: PodRuntime, container: ContainerRuntime): Promise<boolean> {
    const image = String(container.spec.image);
    const policy = String(container.spec.imagePullPolicy ?? 'IfNotPresent');
    const present = await this.docker
      .getImage(image)
      .inspect()
      .then(() => true)
      .catch(() => false);
    const pullable = isLoopbackRegistry(image, this.options.registry);
    if (present && (policy !== 'Always' || !pullable)) {
      this.podEvent(runtime, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return true;
    }
    if (policy === 'Never') {
      container.status.state = {
        kind: 'waiting',
        reason: 'ErrImageNeverPull',
        message: `Container image "${image}" is not present with pull policy of Never`,
      };
      this.podEvent(runtime, 'Warning', 'ErrImageNeverPull', container.status.state.message ?? '');
      this.publish(runtime);
      return false;
    }
    this.podEvent(runtime, 'Normal', 'Pulling', `Pulling image "${image}"`);
    let failure = `image "${image}" is not present on the node and kube-sim pulls only from the local registry`;
    if (pullable) {
      try {
        const server = image.split('/')[0] ?? '';
        // Like the kubelet: the credentials of the pod's imagePullSecrets for this registry, none otherwise.
        const stream = await this.docker.pull(image, {
          authconfig: { serveraddress: server, ...this.pullCredentials(runtime, server) },
        });
        await new Promise<void>((resolve, reject) => {
          this.docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) => {
            const failed = output?.find((item) => isObject(item) && item.error);
            if (error) reject(error);
            else if (isObject(failed)) reject(new Error(String(failed.error)));
            else resolve();
          });
        });
        this.podEvent(runtime, 'Normal', 'Pulled', `Successfully pulled image "${image}"`);
        return true;
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
    }
    const message = `Failed to pull image "${image}": rpc error: code = NotFound desc = ${failure}`;
    container.status.state = { kind: 'waiting', reason: 'ErrImagePull', message };
    this.podEvent(runtime, 'Warning', 'Failed', message);
    this.podEvent(runtime, 'Warning', 'Failed', 'Error: ErrImagePull');
    this.publish(runtime);
    const delay = this.backoff(container);
    container.timer = setTimeout(
      () => {
        if (runtime.deleting || this.stopped) return;
        container.status.state = {
          kind: 'waiting',
          reason: 'ImagePullBackOff',
          message: `Back-off pulling image "${image}"`,
        };
        this.podEvent(runtime, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
        this.podEvent(runtime, 'Warning', 'Failed', 'Error: ImagePullBackOff');
        this.publish(runtime);
        container.timer = setTimeout(() => {
          if (!runtime.deleting && !this.stopped) this.track(this.startContainer(runtime, container));
        }, delay);
      },
      Math.min(delay, 200),
    );
    return false;
  }

  private backoff(container: ContainerRuntime): number {
    const max = this.options.maxBackoffMs ?? Math.max(this.options.backoffBaseMs * 30, 300_000);
    const delay = Math.min(this.options.backoffBaseMs * 2 ** container.backoffCount, max);
    container.backoffCount++;
    return delay;
  }

  private async userFor(
    pod: KubeObject,
    container: JsonObject,
    image: string,
  ): Promise<{ user?: string; error?: string }> {
    const podContext = isObject(pod.spec?.securityContext) ? pod.spec.securityContext : {};
    const context = isObject(container.securityContext) ? container.securityContext : {};
    const runAsUser = context.runAsUser ?? podContext.runAsUser;
    const runAsGroup = context.runAsGroup ?? podContext.runAsGroup;
    const nonRoot = (context.runAsNonRoot ?? podContext.runAsNonRoot) === true;
    if (runAsUser !== undefined) {
      if (nonRoot && Number(runAsUser) === 0) return { error: "container's runAsUser breaks non-root policy" };
      return { user: runAsGroup !== undefined ? `${String(runAsUser)}:${String(runAsGroup)}` : String(runAsUser) };
    }
    if (!nonRoot) return {};
    const info = await this.docker.getImage(image).inspect();
    const imageUser = (info.Config?.User ?? '').split(':')[0] ?? '';
    const ref = `pod: "${podRef(pod)}", container: ${String(container.name)}`;
    if (imageUser === '' || imageUser === '0' || imageUser === 'root')
      return { error: `container has runAsNonRoot and image will run as root (${ref})` };
    if (!/^\d+$/.test(imageUser))
      return {
        error: `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root (${ref})`,
      };
    return {};
  }

  private async startContainer(runtime: PodRuntime, container: ContainerRuntime): Promise<void> {
    container.timer = undefined;
    if (runtime.deleting || this.stopped) return;
    const pod = this.currentPod(runtime);
    if (!pod) return;
    const image = String(container.spec.image);
    if (!(await this.ensureImage(runtime, container))) return;
    if (runtime.deleting || this.stopped) return;
    const spec = container.spec;
    const user = await this.userFor(pod, spec, image);
    if (user.error) {
      container.status.state = { kind: 'waiting', reason: 'CreateContainerConfigError', message: user.error };
      this.podEvent(runtime, 'Warning', 'Failed', `Error: ${user.error}`);
      this.publish(runtime);
      return;
    }
    const resources = isObject(spec.resources) ? spec.resources : {};
    const limits = isObject(resources.limits) ? resources.limits : {};
    const context = isObject(spec.securityContext) ? spec.securityContext : {};
    const capabilities = isObject(context.capabilities) ? context.capabilities : {};
    const env = Array.isArray(spec.env)
      ? spec.env
          .filter(isObject)
          .filter((e) => e.value !== undefined)
          .map((e) => `${String(e.name)}=${String(e.value)}`)
      : [];
    const labels = {
      ...this.options.labels,
      [instanceLabel]: this.options.instanceId,
      [ownerLabel]: this.owner,
      'io.kubernetes.pod.uid': runtime.uid,
      'io.kubernetes.pod.name': runtime.name,
      'io.kubernetes.pod.namespace': runtime.namespace,
      'io.kubernetes.container.name': String(spec.name),
    };
    const memory =
      limits.memory !== undefined ? Math.max(6 * 1024 * 1024, Math.round(parseQuantity(limits.memory))) : undefined;
    const cpu = limits.cpu !== undefined ? Math.round(parseQuantity(limits.cpu) * 1e9) : undefined;
    const created = await this.docker.createContainer({
      name: `k8s_${String(spec.name)}_${runtime.name}_${runtime.namespace}_${runtime.uid.slice(0, 8)}_${container.status.restartCount}`,
      Image: image,
      ...(Array.isArray(spec.command) ? { Entrypoint: spec.command.map(String) } : {}),
      ...(Array.isArray(spec.args) ? { Cmd: spec.args.map(String) } : {}),
      Env: env,
      ...(spec.workingDir ? { WorkingDir: String(spec.workingDir) } : {}),
      ...(user.user ? { User: user.user } : {}),
      Tty: spec.tty === true,
      OpenStdin: spec.stdin === true,
      Labels: labels,
      HostConfig: {
        NetworkMode: 'none',
        ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
        ...(cpu ? { NanoCpus: cpu } : {}),
        ReadonlyRootfs: context.readOnlyRootFilesystem === true,
        ...(Array.isArray(capabilities.drop) ? { CapDrop: capabilities.drop.map(String) } : {}),
        ...(Array.isArray(capabilities.add)
          ? { CapAdd: capabilities.add.map(String).filter((c) => c === 'NET_BIND_SERVICE') }
          : {}),
        ...(context.allowPrivilegeEscalation === false ? { SecurityOpt: ['no-new-privileges'] } : {}),
      },
    });
    if (container.dockerId) {
      if (container.previousDockerId) await this.removeContainer(container.previousDockerId);
      container.previousDockerId = container.dockerId;
    }
    container.dockerId = created.id;
    this.podEvent(runtime, 'Normal', 'Created', `Created container: ${String(spec.name)}`);
    if (runtime.deleting || this.stopped) {
      await this.removeContainer(created.id);
      return;
    }
    await created.start();
    container.status.containerID = `docker://${created.id}`;
    this.podEvent(runtime, 'Normal', 'Started', `Started container ${String(spec.name)}`);
    // The status keeps what it said (ContainerCreating, the back-off) until a relist sees the container running.
    clearTimeout(container.relistTimer);
    const delay = this.options.relistDelayMs ?? defaultRelistDelayMs;
    container.relistTimer = setTimeout(() => {
      container.relistTimer = undefined;
      this.track(this.relist(runtime, container, created.id, Math.max(0, engineRelistMs - delay)));
    }, delay);
  }

  /**
   * A look at a container some time after its start: running if its process still is; exited if the engine says so
   * (and the die event has not told it yet). When the engine says running but the process cannot be seen alive in
   * /proc (it ended, and the engine has yet to tell; or the engine's processes are not visible from here), the engine
   * is asked again at `engineRelistMs` after the start and then believed.
   */
  private async relist(
    runtime: PodRuntime,
    container: ContainerRuntime,
    dockerId: string,
    againAfterMs: number | undefined,
  ): Promise<void> {
    const current = () =>
      container.dockerId === dockerId && container.exitHandledFor !== dockerId && !runtime.deleting && !this.stopped;
    if (!current()) return;
    const info = await this.docker.getContainer(dockerId).inspect();
    if (!info.State.Running) {
      if (current()) this.onExit(runtime, container, dockerId);
      return;
    }
    if (againAfterMs !== undefined && procMounted && !(await mainProcessAlive(info.State.Pid, dockerId))) {
      if (!current()) return;
      container.relistTimer = setTimeout(() => {
        container.relistTimer = undefined;
        this.track(this.relist(runtime, container, dockerId, undefined));
      }, againAfterMs);
      return;
    }
    // The die event may have come in while the engine answered: the exit is handled there.
    if (!current()) return;
    container.status.imageID = `docker-pullable://${info.Image}`;
    container.status.state = { kind: 'running', startedAt: info.State.StartedAt.replace(/\.\d+Z$/, 'Z') };
    this.publish(runtime);
  }

  private onDockerEvent(line: string): void {
    let event: unknown;
    try {
      event = JSON.parse(line);
    } catch {
      return;
    }
    if (!isObject(event) || !isObject(event.Actor) || !isObject(event.Actor.Attributes)) return;
    const attributes = event.Actor.Attributes;
    const runtime = this.pods.get(String(attributes['io.kubernetes.pod.uid']));
    const container = runtime?.containers.get(String(attributes['io.kubernetes.container.name']));
    if (!runtime || !container || event.Actor.ID !== container.dockerId) return;
    if (event.status === 'oom' || event.Action === 'oom') this.onOomKill(runtime, container, String(event.Actor.ID));
    else this.onExit(runtime, container, String(event.Actor.ID));
  }

  /**
   * The engine's OOM event is separate from the exit and, on a busy engine, can be handled after it: the
   * inspect at "die" then still says OOMKilled false. The kubelet reports the kill either way, so a
   * termination already recorded as an Error of this container becomes OOMKilled.
   */
  private onOomKill(runtime: PodRuntime, container: ContainerRuntime, dockerId: string): void {
    container.oomKilled = dockerId;
    const id = `docker://${dockerId}`;
    let changed = false;
    for (const state of [container.status.state, container.status.lastState]) {
      if (state?.kind === 'terminated' && state.containerID === id && state.reason === 'Error') {
        state.reason = 'OOMKilled';
        changed = true;
      }
    }
    if (changed && !runtime.deleting && !this.stopped) this.publish(runtime);
  }

  private onExit(runtime: PodRuntime, container: ContainerRuntime, dockerId: string): void {
    if (container.exitHandledFor === dockerId || runtime.deleting || this.stopped) return;
    container.exitHandledFor = dockerId;
    // No relist of this container is needed any more (onExit is only ever told of the latest container).
    clearTimeout(container.relistTimer);
    container.relistTimer = undefined;
    this.track(
      (async () => {
        const info = await this.docker.getContainer(dockerId).inspect();
        container.status.imageID = `docker-pullable://${info.Image}`;
        const exitCode = info.State.ExitCode;
        const oomKilled = info.State.OOMKilled || container.oomKilled === dockerId;
        const reason = oomKilled ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error';
        const startedAt = info.State.StartedAt.replace(/\.\d+Z$/, 'Z');
        const terminated: ContainerState = {
          kind: 'terminated',
          exitCode,
          reason,
          startedAt,
          finishedAt: info.State.FinishedAt.replace(/\.\d+Z$/, 'Z') || nowIso(),
          containerID: `docker://${dockerId}`,
        };
        const pod = this.currentPod(runtime);
        if (!pod || runtime.deleting) return;
        const policy = String(pod.spec?.restartPolicy ?? 'Always');
        const restart = policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
        if (!restart) {
          container.status.state = terminated;
          this.publish(runtime);
          return;
        }
        if (Date.parse(terminated.finishedAt) - Date.parse(startedAt) > 10 * 60_000) container.backoffCount = 0;
        const delay = container.status.restartCount === 0 && container.backoffCount === 0 ? 0 : this.backoff(container);
        if (container.backoffCount === 0) container.backoffCount = 1;
        container.status.lastState = terminated;
        if (delay > 0) {
          const message = `back-off ${goDuration(delay)} restarting failed container=${String(container.spec.name)} pod=${podRef(pod)}`;
          container.status.state = { kind: 'waiting', reason: 'CrashLoopBackOff', message };
          this.podEvent(
            runtime,
            'Warning',
            'BackOff',
            `Back-off restarting failed container ${String(container.spec.name)} in pod ${podRef(pod)}`,
          );
        } else container.status.state = terminated;
        this.publish(runtime);
        container.timer = setTimeout(() => {
          if (runtime.deleting || this.stopped) return;
          container.status.restartCount++;
          this.track(this.startContainer(runtime, container));
        }, delay);
      })(),
    );
  }

  private async removeContainer(id: string): Promise<void> {
    await this.docker
      .getContainer(id)
      .remove({ force: true })
      .catch((error: unknown) => {
        // 404: already gone; 409: Docker is already removing it (a restart and a delete raced).
        if (!(isObject(error) && (error.statusCode === 404 || error.statusCode === 409))) throw error;
      });
  }

  private async killPod(runtime: PodRuntime, pod: KubeObject): Promise<void> {
    for (const container of runtime.containers.values()) {
      clearTimeout(container.timer);
      clearTimeout(container.relistTimer);
      if (container.dockerId)
        this.api.recordEvent(pod, 'Normal', 'Killing', `Stopping container ${String(container.spec.name)}`, 'kubelet');
    }
    // The pod goes from the API even when Docker fails, or its namespace would stay Terminating for good.
    let failure: unknown;
    await this.removePodContainers(runtime.uid).catch((error: unknown) => {
      failure = error;
    });
    this.pods.delete(runtime.uid);
    const current = this.api.store.get(Pod, runtime.namespace, runtime.name);
    if (current?.metadata.uid === runtime.uid) {
      try {
        this.api.store.remove(Pod, runtime.namespace, runtime.name);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    if (failure) throw failure;
  }

  private async removePodContainers(uid: string): Promise<void> {
    const containers = await this.docker.listContainers({
      all: true,
      filters: JSON.stringify({
        label: [`io.kubernetes.pod.uid=${uid}`, `${instanceLabel}=${this.options.instanceId}`],
      }),
    });
    await Promise.all(containers.map((c) => this.removeContainer(c.Id)));
  }

  async streamLogs(pod: KubeObject, options: PodLogOptions, res: ServerResponse, closed: AbortSignal): Promise<void> {
    const runtime = this.pods.get(pod.metadata.uid ?? '');
    const names = podContainers(pod).map((c) => String(c.name));
    const name = options.container ?? (names.length === 1 ? names[0] : undefined);
    if (!name) {
      throw new ApiError(
        400,
        'BadRequest',
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
      );
    }
    const container = runtime?.containers.get(name);
    if (!container)
      throw new ApiError(400, 'BadRequest', `container ${name} is not valid for pod ${pod.metadata.name}`);
    const id = options.previous
      ? (container.previousDockerId ??
        (container.exitHandledFor === container.dockerId ? container.dockerId : undefined))
      : container.dockerId;
    if (!id) {
      const state = container.status.state;
      const reason = state.kind === 'waiting' ? state.reason : 'ContainerCreating';
      throw new ApiError(
        400,
        'BadRequest',
        options.previous
          ? `previous terminated container "${name}" in pod "${pod.metadata.name}" not found`
          : `container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`,
      );
    }
    const dockerContainer = this.docker.getContainer(id);
    const base = {
      stdout: true,
      stderr: true,
      timestamps: options.timestamps,
      ...(options.tailLines !== undefined ? { tail: options.tailLines } : {}),
    };
    const tty = container.spec.tty === true;
    if (!options.follow) {
      const buffer = (await dockerContainer.logs({ ...base, follow: false })) as unknown as Buffer;
      const text = tty ? buffer : demux(Buffer.from(buffer));
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': text.length });
      res.end(text);
      return;
    }
    const stream = (await dockerContainer.logs({ ...base, follow: true })) as unknown as NodeJS.ReadableStream & {
      destroy?: () => void;
    };
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const out = new PassThrough();
    out.pipe(res);
    if (tty) stream.pipe(out);
    else this.docker.modem.demuxStream(stream, out, out);
    await new Promise<void>((resolve) => {
      stream.on('end', () => resolve());
      stream.on('error', () => resolve());
      closed.addEventListener('abort', () => {
        stream.destroy?.();
        resolve();
      });
    });
    out.end();
  }

  /** `kubectl exec`: a `docker exec` in the pod's running container, streams bridged to the session. */
  async exec(pod: KubeObject, request: ExecRequest, session: ExecSession): Promise<void> {
    const runtime = this.pods.get(pod.metadata.uid ?? '');
    const names = podContainers(pod).map((c) => String(c.name));
    const name = request.container ?? names[0];
    const container = name ? runtime?.containers.get(name) : undefined;
    if (!container?.dockerId || container.status.state.kind !== 'running') {
      throw new ApiError(400, 'BadRequest', `unable to upgrade connection: container not found ("${name ?? ''}")`);
    }
    const exec = await this.docker.getContainer(container.dockerId).exec({
      Cmd: request.command,
      AttachStdin: request.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: request.tty,
    });
    const stream = (await exec.start({
      hijack: true,
      stdin: request.stdin,
      Tty: request.tty,
    })) as unknown as NodeJS.ReadWriteStream & {
      destroy(): void;
      end(): void;
    };
    session.onInput((data) => {
      if (data === null) stream.end();
      else stream.write(data);
    });
    session.onResize(({ width, height }) => {
      if (request.tty) exec.resize({ w: width, h: height }).catch(() => undefined);
    });
    session.closed.addEventListener('abort', () => stream.destroy());
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (chunk: Buffer) => session.write(1, chunk));
    stderr.on('data', (chunk: Buffer) => session.write(2, chunk));
    if (request.tty) stream.pipe(stdout);
    else this.docker.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve) => {
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', () => resolve());
    });
    if (session.closed.aborted) return;
    const info = await exec.inspect();
    session.finish(info.ExitCode ?? 0, request.command);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    for (const runtime of this.pods.values())
      for (const container of runtime.containers.values()) {
        clearTimeout(container.timer);
        clearTimeout(container.relistTimer);
      }
    (this.events as (NodeJS.ReadableStream & { destroy?: () => void }) | undefined)?.destroy?.();
    await Promise.allSettled([...this.pending]);
    await this.removeContainersLabelled(`${instanceLabel}=${this.options.instanceId}`);
    this.pods.clear();
  }

  /** Removes every container with the label, whatever state it is in; a removal that fails does not stop the others. */
  private async removeContainersLabelled(label: string): Promise<void> {
    const containers = await this.docker.listContainers({ all: true, filters: JSON.stringify({ label: [label] }) });
    const results = await Promise.allSettled(containers.map((c) => this.removeContainer(c.Id)));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Containers left by simulators whose process ended without stop() (a killed test worker): they would
   * pile up on the engine, run after run. Only processes of this pid namespace are judged, by their pid.
   */
  private async removeOrphans(): Promise<void> {
    const namespace = pidNamespace();
    const containers = await this.docker.listContainers({
      all: true,
      filters: JSON.stringify({ label: [ownerLabel] }),
    });
    const orphans = containers.filter((c) => ownerIsGone(c.Labels?.[ownerLabel] ?? '', namespace));
    await Promise.allSettled(orphans.map((c) => this.removeContainer(c.Id)));
  }
}
