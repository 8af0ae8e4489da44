import { Writable } from 'node:stream';
import type { Logger } from '@labbot/config';
import { LabbotError } from '@labbot/core';
import type Dockerode from 'dockerode';
import {
  BuilderErrorCode,
  dockerStatusOf,
  dockerUnavailableError,
  isDaemonUnreachable,
  messageOf,
  wrapDockerError,
} from './errors.js';
import { followProgress } from './progress.js';

/** One container run, as the Docker step of a lesson shows it. */
export interface RunOnceOptions {
  image: string;
  /** Command and arguments; the image's CMD when absent. */
  command?: string[];
  /** Wall-clock bound: the container is killed after it. */
  timeoutMs: number;
  /** Bytes of stdout+stderr kept; the rest is dropped and `truncated` is set. */
  maxOutputBytes: number;
  /** User to run as (`uid[:gid]` or a name from the image's /etc/passwd). */
  user?: string;
  /** Memory limit in bytes (default 256 MiB, no swap). */
  memoryBytes?: number;
  /** CPU bound in billionths of a CPU (default none). */
  nanoCpus?: number;
  /** Processes at most (default 128). */
  pidsLimit?: number;
  /** Largest file the container may write (RLIMIT_FSIZE; default none). */
  maxFileBytes?: number;
  /** Size of the writable /tmp (a tmpfs, counted in the memory limit; default 16 MiB). */
  tmpBytes?: number;
}

/** What the container printed and how it ended. */
export interface RunOnceResult {
  /** stdout and stderr interleaved as they arrived, at most maxOutputBytes bytes. */
  output: string;
  /** Exit code, or null when the container was killed on timeout. */
  exitCode: number | null;
  /** Whether output beyond maxOutputBytes was dropped. */
  truncated: boolean;
  /** Whether the container was killed because timeoutMs passed. */
  timedOut: boolean;
  /** Whether the kernel killed the container for exceeding its memory limit. */
  oomKilled: boolean;
}

/** Settings runOnce takes from its builder. */
export interface RunOnceContext {
  registry: string | undefined;
  labels: Record<string, string>;
  logger?: Logger | undefined;
}

const DEFAULT_MEMORY = 256 * 1024 ** 2;
const DEFAULT_TMP = 16 * 1024 ** 2;

class BoundedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk);
        callback();
      },
    });
  }

  private add(chunk: Buffer): void {
    const room = this.limit - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(Buffer.from(kept));
    this.size += kept.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function daemonMessage(error: unknown): string {
  const json = (error as { json?: unknown } | null)?.json;
  const message = (json as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : messageOf(error);
}

async function pullFromRegistry(docker: Dockerode, image: string, registry: string): Promise<void> {
  const stream = (await docker.pull(image, { authconfig: { serveraddress: registry } })) as NodeJS.ReadableStream;
  const result = await followProgress(docker, stream, () => {});
  if (result.error !== undefined) throw new Error(result.error);
}

/**
 * Registers a wait for the container's removal and resolves once the daemon took it (the response header), with the
 * exit status to come. Sent before the start: a container the daemon removes itself (AutoRemove) may be gone before a
 * wait sent after the start reaches it, which would lose its exit code (the docker CLI's `run --rm` does the same).
 */
function waitForRemoval(docker: Dockerode, id: string): Promise<{ removed: Promise<{ StatusCode?: number }> }> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: `/containers/${id}/wait?`,
        method: 'POST',
        isStream: true,
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
        options: { condition: 'removed' },
      },
      (error, stream) => {
        if (error) return reject(error);
        const removed = readJson<{ StatusCode?: number }>(stream as NodeJS.ReadableStream);
        // Awaited by the caller; this only keeps a failure from being unhandled before it is.
        removed.catch(() => {});
        resolve({ removed });
      },
    );
  });
}

/** Subscribes to the daemon's `oom` events of the container; `seen()` says whether one came. */
async function watchOom(docker: Dockerode, id: string): Promise<{ seen: () => boolean; close: () => void }> {
  const stream = (await docker.getEvents({
    filters: { type: ['container'], container: [id], event: ['oom'] },
  })) as NodeJS.ReadableStream & { destroy?: () => void };
  let seen = false;
  stream.on('data', () => {
    seen = true;
  });
  stream.on('error', () => {});
  return { seen: () => seen, close: () => stream.destroy?.() };
}

function readJson<T>(stream: NodeJS.ReadableStream): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(Buffer.from(chunk)));
    stream.on('error', reject);
    stream.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as T);
      } catch (error) {
        reject(error);
      }
    });
  });
}

/**
 * Runs a container once: no network, memory bound, output bound, time bound, always removed. The daemon removes the
 * container itself when it exits (AutoRemove), so a runner killed while its container runs leaves none behind; the
 * attach, the wait and the OOM watch are all in place before the start, so nothing is asked of the daemon after it.
 */
export async function runOnce(
  docker: Dockerode,
  context: RunOnceContext,
  options: RunOnceOptions,
): Promise<RunOnceResult> {
  const memory = options.memoryBytes ?? DEFAULT_MEMORY;
  const spec: Dockerode.ContainerCreateOptions = {
    Image: options.image,
    ...(options.command ? { Cmd: options.command } : {}),
    ...(options.user ? { User: options.user } : {}),
    Labels: { ...context.labels, 'labbot.dev/run-once': 'true' },
    Tty: false,
    OpenStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: options.pidsLimit ?? 128,
      ...(options.nanoCpus ? { NanoCpus: options.nanoCpus } : {}),
      ...(options.maxFileBytes
        ? { Ulimits: [{ Name: 'fsize', Soft: options.maxFileBytes, Hard: options.maxFileBytes }] }
        : {}),
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      // Read-only image, as the lesson Deployments' readOnlyRootFilesystem: the only place to write is a bounded /tmp
      // in memory, so no run can fill the engine's disk however many files it writes.
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': `rw,nosuid,nodev,noexec,size=${options.tmpBytes ?? DEFAULT_TMP}` },
      // Output is read through attach; nothing needs to be stored on the daemon's disk.
      LogConfig: { Type: 'none', Config: {} },
      // Removed by the daemon as it exits, also when the runner that started it is gone by then.
      AutoRemove: true,
    },
  };
  const errorContext = { image: options.image };

  let container: Dockerode.Container;
  try {
    container = await docker.createContainer(spec);
  } catch (error) {
    if (dockerStatusOf(error) !== 404) {
      throw wrapDockerError(
        error,
        BuilderErrorCode.runFailed,
        'Creating the container failed',
        'The lesson container could not be created.',
        errorContext,
      );
    }
    const registry = context.registry;
    if (!registry || !options.image.startsWith(`${registry}/`)) {
      throw new LabbotError(BuilderErrorCode.imageMissing, `Image ${options.image} is not in the local Docker engine`, {
        cause: error,
        userMessage: `The image "${options.image}" is not available on this server.`,
        context: errorContext,
      });
    }
    try {
      await pullFromRegistry(docker, options.image, registry);
      container = await docker.createContainer(spec);
    } catch (pullError) {
      throw wrapDockerError(
        pullError,
        BuilderErrorCode.imageMissing,
        `Pulling ${options.image} failed`,
        `The image "${options.image}" could not be fetched from the registry.`,
        errorContext,
      );
    }
  }

  const output = new BoundedOutput(options.maxOutputBytes);
  let timer: NodeJS.Timeout | undefined;
  let oom: { seen: () => boolean; close: () => void } | undefined;
  // Whether the daemon said the container is removed; until then (not started, a failed wait) it is removed here.
  let removed = false;
  try {
    const [stream, { removed: removal }, watch] = await Promise.all([
      container.attach({ stream: true, stdout: true, stderr: true }) as Promise<NodeJS.ReadableStream>,
      waitForRemoval(docker, container.id),
      watchOom(docker, container.id),
    ]);
    oom = watch;
    removal.then(
      () => {
        removed = true;
      },
      () => {},
    );
    const sink = output.writable();
    docker.modem.demuxStream(stream, sink, sink);
    const streamEnded = new Promise<void>((resolve) => {
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', () => resolve());
    });
    try {
      await container.start();
    } catch (error) {
      if (isDaemonUnreachable(error)) throw dockerUnavailableError(error, errorContext);
      const message = daemonMessage(error);
      throw new LabbotError(BuilderErrorCode.runFailed, `Starting a container of ${options.image} failed: ${message}`, {
        cause: error,
        userMessage: `The lesson container could not start: ${message}`,
        context: errorContext,
      });
    }
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
    });
    const outcome = await Promise.race([removal, timedOut]);
    if (outcome === 'timeout') {
      await container.kill().catch(() => {});
      // Killed: the daemon removes it now (bounded: otherwise it is removed below).
      await Promise.race([removal, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]).catch(() => {});
    }
    // Output still in flight after the exit; bounded so a stuck stream cannot hold the caller.
    await Promise.race([streamEnded, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    return {
      output: output.text(),
      exitCode: outcome === 'timeout' ? null : (outcome.StatusCode ?? null),
      truncated: output.truncated,
      timedOut: outcome === 'timeout',
      // The daemon tells the OOM kill before it handles the exit, so it came before the removal did.
      oomKilled: oom.seen(),
    };
  } catch (error) {
    throw wrapDockerError(
      error,
      BuilderErrorCode.runFailed,
      `Running ${options.image} failed`,
      'The lesson container failed to run.',
      errorContext,
    );
  } finally {
    clearTimeout(timer);
    oom?.close();
    // Not started, or its removal not confirmed: the daemon may not remove it, so it goes here (gone: nothing to do).
    if (!removed) {
      await container.remove({ force: true }).catch((error: unknown) => {
        if (dockerStatusOf(error) !== 404) {
          context.logger?.warn(
            { image: options.image, error: messageOf(error) },
            'removing the run-once container failed',
          );
        }
      });
    }
  }
}
