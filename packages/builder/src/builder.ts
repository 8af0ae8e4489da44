import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '@labbot/config';
import { LabbotError } from '@labbot/core';
import Dockerode from 'dockerode';
import {
  baseImagesOf,
  dockerfilePathIn,
  hashBuildContext,
  imageTagFor,
  listContextEntries,
  packEntries,
} from './context.js';
import { imageExists } from './docker-engine.js';
import { BuilderErrorCode, dockerUnavailableError, isDaemonUnreachable, messageOf, wrapDockerError } from './errors.js';
import { type BuildLock, createMemoryBuildLock } from './lock.js';
import { followProgress } from './progress.js';
import { type RunOnceOptions, type RunOnceResult, runOnce } from './run-once.js';

/** Bounds of one build. */
export interface BuildLimits {
  /** Wall-clock bound of a build (and of a push). */
  timeoutMs: number;
  /** Memory of each RUN step's container, in bytes (swap is not added). */
  memoryBytes: number;
  /** Relative CPU weight of the build containers. */
  cpuShares?: number;
}

/** Options of createBuilder. */
export interface BuilderOptions {
  /** Docker client; by default from DOCKER_HOST or /var/run/docker.sock. */
  docker?: Dockerode;
  /** Registry host[:port]: images are tagged `<registry>/labbot/<lesson>:<hash>` and pushed there. */
  registry?: string;
  /** Base URL of the registry's HTTP API; by default http:// for loopback hosts, https:// otherwise. */
  registryUrl?: string;
  /** Basic-auth credentials of the registry (never logged). */
  registryCredentials?: { username: string; password: string };
  /** Build bounds (defaults: 10 minutes, 1 GiB). */
  limits?: Partial<BuildLimits>;
  /** Lock shared by every builder of the same images (default: within this process only). */
  lock?: BuildLock;
  /** Logs builds and pushes; nothing is logged when absent. */
  logger?: Logger;
  /** Extra labels put on every image built and container run (e.g. `labbot.test=1`). */
  labels?: Record<string, string>;
  /**
   * TTL of the shared build lock, renewed every third of it while the build runs (default 15 s): after a
   * worker crash, another worker takes over the build within this time.
   */
  lockTtlMs?: number;
  /** Number of build output lines kept in results and errors (default 20). */
  logTailLines?: number;
}

/** One lesson image to make available. */
export interface EnsureImageOptions {
  lessonId: string;
  contextDir: string;
  /** Dockerfile path relative to contextDir (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** Whether build steps may use the network (default false: networkmode `none`). */
  network?: boolean;
  /** Called with each build output line, also when this call waits on a build another call started. */
  onLog?: (line: string) => void;
}

/** An image that exists (locally, and in the registry when one is configured). */
export interface EnsureImageResult {
  tag: string;
  hash: string;
  /** True when this call built nothing: the image existed or another call built it. */
  cached: boolean;
  /** The last build output lines (empty when nothing was built). */
  logTail: string[];
}

/** Counters that prove "one build per hash". */
export interface BuilderStats {
  /** Docker builds started. */
  builds: number;
  /** ensureImage calls answered at once by an image that already existed. */
  cacheHits: number;
  /** ensureImage calls that waited on a build started by another call or process. */
  waits: number;
  /** Pushes to the registry. */
  pushes: number;
  /** Builds or pushes that failed. */
  failures: number;
}

export interface Builder {
  /** Builds the lesson image unless it exists, one build per hash at a time across every builder. */
  ensureImage(options: EnsureImageOptions): Promise<EnsureImageResult>;
  /** Runs a container once with networking off, bounded output and time, and removes it. */
  runOnce(options: RunOnceOptions): Promise<RunOnceResult>;
  /** Whether an image tag exists in the local engine. */
  imageExistsLocally(tag: string): Promise<boolean>;
  /** Whether an image tag exists in the configured registry (false without one). */
  imageExistsInRegistry(tag: string): Promise<boolean>;
  stats(): BuilderStats;
  readonly docker: Dockerode;
  readonly registry: string | undefined;
}

/** What the lab runner needs of a builder: make the lesson image, run it once, count builds. */
export type ImageBuilder = Pick<Builder, 'ensureImage' | 'runOnce' | 'stats'>;

const DEFAULT_LIMITS: BuildLimits = { timeoutMs: 10 * 60_000, memoryBytes: 1024 ** 3 };
const MAX_LOCK_ROUNDS = 3;
/** Failures that a second build of the same content would repeat (timeouts and outages may not). */
const SHARED_FAILURE_CODES = new Set<string>([BuilderErrorCode.buildFailed, BuilderErrorCode.baseImageMissing]);

interface InFlight {
  promise: Promise<EnsureImageResult>;
  listeners: Set<(line: string) => void>;
}

function registryBaseUrl(registry: string): string {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
  return `${loopback ? 'http' : 'https'}://${registry}`;
}

function splitTag(tag: string): { repository: string; reference: string } {
  const colon = tag.lastIndexOf(':');
  if (colon <= tag.lastIndexOf('/')) return { repository: tag, reference: 'latest' };
  return { repository: tag.slice(0, colon), reference: tag.slice(colon + 1) };
}

const BASE_IMAGE_PATTERNS = [
  /pull access denied/i,
  /repository does not exist/i,
  /manifest (for .* )?not found/i,
  /manifest unknown/i,
  /no such image/i,
  /lookup .* (no such host|server misbehaving)/i,
  /dial tcp/i,
];

/** Bookkeeping lines of the classic builder (layer ids, intermediate containers) that tell a learner nothing. */
function isBuildNoise(line: string): boolean {
  return (
    /^\s*---> (Running in )?[0-9a-f]{12}$/.test(line) ||
    /^\s*---> Using cache$/.test(line) ||
    /^Removing intermediate container [0-9a-f]{12}$/.test(line)
  );
}

/** Creates a builder over one Docker engine (and optionally a registry). */
export function createBuilder(options: BuilderOptions = {}): Builder {
  const docker = options.docker ?? new Dockerode();
  const registry = options.registry?.replace(/\/+$/, '') || undefined;
  const registryUrl = options.registryUrl ?? (registry ? registryBaseUrl(registry) : undefined);
  const credentials = options.registryCredentials;
  const limits: BuildLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const lock = options.lock ?? createMemoryBuildLock();
  const logger = options.logger;
  const labels = options.labels ?? {};
  const tailSize = options.logTailLines ?? 20;
  const lockTtlMs = options.lockTtlMs ?? 15_000;
  const inFlight = new Map<string, InFlight>();
  const counters: BuilderStats = { builds: 0, cacheHits: 0, waits: 0, pushes: 0, failures: 0 };

  const imageExistsLocally = (tag: string) => imageExists(docker, tag);

  async function imageExistsInRegistry(tag: string): Promise<boolean> {
    if (!registry || !registryUrl || !tag.startsWith(`${registry}/`)) return false;
    const { repository, reference } = splitTag(tag.slice(registry.length + 1));
    try {
      const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, {
        method: 'HEAD',
        headers: {
          ...(credentials
            ? {
                authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`,
              }
            : {}),
          accept: [
            'application/vnd.docker.distribution.manifest.v2+json',
            'application/vnd.docker.distribution.manifest.list.v2+json',
            'application/vnd.oci.image.manifest.v1+json',
            'application/vnd.oci.image.index.v1+json',
          ].join(', '),
        },
        signal: AbortSignal.timeout(10_000),
      });
      return response.ok;
    } catch (error) {
      logger?.warn({ tag, error: messageOf(error) }, 'registry lookup failed; treating the image as absent');
      return false;
    }
  }

  /** 'ready' when nothing is left to do, 'push' when only the push is missing, 'build' otherwise. */
  async function missingWork(tag: string): Promise<'ready' | 'push' | 'build'> {
    if (registry) {
      if (await imageExistsInRegistry(tag)) return 'ready';
      return (await imageExistsLocally(tag)) ? 'push' : 'build';
    }
    return (await imageExistsLocally(tag)) ? 'ready' : 'build';
  }

  async function checkBaseImages(
    contextDir: string,
    dockerfile: string,
    lessonId: string,
    buildArgs: Record<string, string> | undefined,
  ): Promise<void> {
    const text = await readFile(path.join(contextDir, dockerfile), 'utf8');
    for (const image of baseImagesOf(text, buildArgs)) {
      if (await imageExistsLocally(image)) continue;
      // The daemon can pull from our own registry; everything else would need the internet.
      if (registry && image.startsWith(`${registry}/`)) continue;
      throw baseImageMissingError(image, lessonId);
    }
  }

  function baseImageMissingError(image: string, lessonId: string, cause?: unknown): LabbotError {
    return new LabbotError(BuilderErrorCode.baseImageMissing, `Base image ${image} is not in the local Docker engine`, {
      cause,
      userMessage: `The lesson's base image "${image}" is not available on this server, and images cannot be pulled from the internet here. Ask an operator to load it.`,
      context: { lessonId, image },
    });
  }

  async function push(tag: string, lessonId: string, emit: (line: string) => void): Promise<void> {
    if (!registry) return;
    const { repository, reference } = splitTag(tag);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
    counters.pushes += 1;
    try {
      const stream = (await docker.getImage(repository).push({
        tag: reference,
        authconfig: { serveraddress: registry, ...(credentials ?? {}) },
        abortSignal: controller.signal,
      })) as NodeJS.ReadableStream;
      const result = await followProgress(docker, stream, (event) => {
        for (const line of event.lines) emit(line);
      });
      if (result.error !== undefined) throw new Error(result.error);
      logger?.info({ tag }, 'image pushed');
    } catch (error) {
      counters.failures += 1;
      if (isDaemonUnreachable(error)) throw dockerUnavailableError(error, { tag, lessonId });
      const reason = controller.signal.aborted ? `timed out after ${limits.timeoutMs} ms` : messageOf(error);
      if (/unauthorized|authentication required|denied|401/i.test(reason)) {
        throw new LabbotError(
          BuilderErrorCode.registryAuthFailed,
          `Pushing ${tag} to ${registry} was refused: ${reason}`,
          {
            cause: error,
            retryable: false,
            userMessage: credentials
              ? `The image registry ${registry} refused labbot's credentials (LABBOT_REGISTRY_USERNAME / LABBOT_REGISTRY_PASSWORD); an operator must fix them.`
              : `The image registry ${registry} requires a login; an operator must set LABBOT_REGISTRY_USERNAME and LABBOT_REGISTRY_PASSWORD.`,
            context: { tag, lessonId, registry },
          },
        );
      }
      throw new LabbotError(BuilderErrorCode.pushFailed, `Pushing ${tag} to ${registry} failed: ${reason}`, {
        cause: error,
        retryable: true,
        userMessage: 'The lesson image was built but could not be stored in the registry. Try again shortly.',
        context: { tag, lessonId, registry },
      });
    } finally {
      clearTimeout(timer);
    }
  }

  async function build(
    request: EnsureImageOptions,
    tag: string,
    hash: string,
    emit: (line: string) => void,
    tail: string[],
  ): Promise<void> {
    const contextDir = path.resolve(request.contextDir);
    const dockerfile = dockerfilePathIn(contextDir, request.dockerfile);
    const entries = await listContextEntries(request);
    await checkBaseImages(contextDir, dockerfile, request.lessonId, request.buildArgs);
    counters.builds += 1;
    logger?.info({ tag, lessonId: request.lessonId }, 'image build started');
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), limits.timeoutMs);
    let lastStep: string | undefined;
    const context = { tag, hash, lessonId: request.lessonId };
    try {
      const stream = await docker.buildImage(packEntries(contextDir, entries), {
        t: tag,
        dockerfile,
        buildargs: request.buildArgs ?? {},
        labels: { ...labels, 'labbot.dev/lesson': request.lessonId, 'labbot.dev/context-hash': hash },
        ...(request.network ? {} : { networkmode: 'none' }),
        memory: limits.memoryBytes,
        memswap: limits.memoryBytes,
        ...(limits.cpuShares === undefined ? {} : { cpushares: limits.cpuShares }),
        rm: true,
        forcerm: true,
        abortSignal: controller.signal,
      });
      const result = await followProgress(docker, stream, (event) => {
        for (const line of event.lines) {
          if (/^Step \d+\/\d+ : /.test(line)) lastStep = line;
          if (!isBuildNoise(line)) emit(line);
        }
      });
      if (result.error !== undefined) throw buildError(result.error, lastStep, request.lessonId, tail, context);
      logger?.info(context, 'image built');
    } catch (error) {
      counters.failures += 1;
      if (error instanceof LabbotError) throw error;
      if (controller.signal.aborted) {
        throw new LabbotError(BuilderErrorCode.buildTimeout, `Build of ${tag} exceeded ${limits.timeoutMs} ms`, {
          cause: error,
          userMessage: `The lesson image took longer than ${Math.round(limits.timeoutMs / 1000)} seconds to build and was stopped.`,
          context,
        });
      }
      throw wrapDockerError(
        error,
        BuilderErrorCode.buildFailed,
        `Build of ${tag} failed`,
        'The lesson image could not be built.',
        {
          ...context,
        },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  function buildError(
    message: string,
    lastStep: string | undefined,
    lessonId: string,
    tail: string[],
    context: Record<string, string>,
  ): LabbotError {
    const fromStep = lastStep === undefined || /^Step \d+\/\d+ : FROM /i.test(lastStep);
    if (fromStep && BASE_IMAGE_PATTERNS.some((pattern) => pattern.test(message))) {
      const image = lastStep?.replace(/^Step \d+\/\d+ : FROM\s+/i, '').split(/\s+/)[0] ?? 'unknown';
      return baseImageMissingError(image, lessonId, new Error(message));
    }
    const step = lastStep?.replace(/^Step \d+\/\d+ : /, '');
    const lastLines = tail.slice(-5);
    const where = step ? ` at step "${step}"` : '';
    return new LabbotError(BuilderErrorCode.buildFailed, `Build of ${context.tag} failed${where}: ${message}`, {
      cause: new Error(message),
      userMessage: `The lesson image failed to build${where}: ${message.trim()}${lastLines.length ? `\nLast build lines:\n${lastLines.join('\n')}` : ''}`,
      context: { ...context, step: step ?? '', logTail: tail.join('\n') },
    });
  }

  /** Runs a lock operation; a lock backend that fails (Redis down) becomes a retryable LabbotError. */
  async function viaLock<T>(tag: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      throw new LabbotError(
        BuilderErrorCode.buildLockUnavailable,
        `The build lock failed for ${tag}: ${messageOf(error)}`,
        {
          cause: error,
          retryable: true,
          userMessage: 'The build coordination service is not reachable right now. Try again shortly.',
          context: { tag },
        },
      );
    }
  }

  /** Lets waiters in other processes report a deterministic failure instead of repeating the build. */
  async function shareFailure(lockKey: string, error: unknown): Promise<void> {
    if (!(error instanceof LabbotError) || !SHARED_FAILURE_CODES.has(error.code) || !lock.shareFailure) return;
    const failure = {
      code: error.code,
      message: error.message,
      ...(error.userMessage === undefined ? {} : { userMessage: error.userMessage }),
    };
    await lock.shareFailure(lockKey, failure).catch((shareError: unknown) => {
      logger?.warn({ lockKey, error: messageOf(shareError) }, 'sharing a build failure failed');
    });
  }

  async function produce(
    request: EnsureImageOptions,
    tag: string,
    hash: string,
    listeners: Set<(line: string) => void>,
  ): Promise<EnsureImageResult> {
    const tail: string[] = [];
    const emit = (line: string) => {
      tail.push(line);
      if (tail.length > tailSize) tail.shift();
      for (const listener of listeners) {
        try {
          listener(line);
        } catch (error) {
          logger?.warn({ tag, error: messageOf(error) }, 'build log listener threw');
        }
      }
    };
    const done = (cached: boolean): EnsureImageResult => ({ tag, hash, cached, logTail: [...tail] });

    if ((await missingWork(tag)) === 'ready') {
      counters.cacheHits += 1;
      return done(true);
    }
    const lockKey = `image:${tag}`;
    // A waiter gives up after a full build and push could have finished (plus slack).
    const waitMs = limits.timeoutMs * 2 + 30_000;
    for (let round = 0; round < MAX_LOCK_ROUNDS; round += 1) {
      const release = await viaLock(tag, () => lock.acquire(lockKey, lockTtlMs));
      if (release) {
        try {
          // Re-check under the lock: another process may have finished between our check and the lock.
          const work = await missingWork(tag);
          if (work === 'ready') return done(true);
          const emitShared = (line: string) => {
            emit(line);
            lock.shareLog?.(lockKey, line);
          };
          try {
            if (work === 'build') await build(request, tag, hash, emitShared, tail);
            await push(tag, request.lessonId, emitShared);
          } catch (error) {
            await shareFailure(lockKey, error);
            throw error;
          }
          return done(work === 'push');
        } finally {
          await release().catch((error: unknown) => logger?.warn({ tag, error: messageOf(error) }, 'lock release'));
        }
      }
      counters.waits += 1;
      logger?.info({ tag }, 'waiting for a build in another process');
      const freed = await viaLock(tag, () => lock.waitForRelease(lockKey, waitMs, emit));
      if ((await missingWork(tag)) === 'ready') return done(true);
      if (!freed) break;
      // The holder's build failed for a reason that building again here would only repeat.
      const failure = await lock.sharedFailure?.(lockKey).catch(() => null);
      if (failure) {
        throw new LabbotError(failure.code, failure.message, {
          ...(failure.userMessage === undefined ? {} : { userMessage: failure.userMessage }),
          context: { tag, lessonId: request.lessonId, reportedBy: 'another builder' },
        });
      }
    }
    throw new LabbotError(BuilderErrorCode.buildLockTimeout, `Gave up waiting for another build of ${tag}`, {
      retryable: true,
      userMessage: 'The lesson image is still being built by another worker. Try again in a minute.',
      context: { tag, lessonId: request.lessonId },
    });
  }

  async function ensureImage(request: EnsureImageOptions): Promise<EnsureImageResult> {
    const hash = await hashBuildContext(request);
    const tag = imageTagFor({ lessonId: request.lessonId, hash, registry });
    const existing = inFlight.get(tag);
    if (existing) {
      counters.waits += 1;
      if (request.onLog) existing.listeners.add(request.onLog);
      try {
        const result = await existing.promise;
        return { ...result, cached: true };
      } finally {
        if (request.onLog) existing.listeners.delete(request.onLog);
      }
    }
    const listeners = new Set<(line: string) => void>(request.onLog ? [request.onLog] : []);
    const promise = produce(request, tag, hash, listeners).finally(() => inFlight.delete(tag));
    inFlight.set(tag, { promise, listeners });
    return promise;
  }

  return {
    ensureImage,
    runOnce: (runOptions) => runOnce(docker, { registry, labels, logger }, runOptions),
    imageExistsLocally,
    imageExistsInRegistry,
    stats: () => ({ ...counters }),
    docker,
    registry,
  };
}
