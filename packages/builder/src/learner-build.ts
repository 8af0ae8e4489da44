import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { Writable } from 'node:stream';
import type { Logger } from '@labbot/config';
import { LabbotError, LabIdSchema } from '@labbot/core';
import Dockerode from 'dockerode';
import { imageExists } from './docker-engine.js';
import { BuilderErrorCode, dockerStatusOf, messageOf, wrapDockerError } from './errors.js';
import {
  checkLearnerBuild,
  DEFAULT_MAX_CONTEXT_BYTES,
  formatBytes,
  LearnerBuildErrorCode,
  type LearnerDockerfile,
  type LearnerFile,
  type LearnerInstruction,
  matchCopySource,
} from './learner-dockerfile.js';
import { followProgress } from './progress.js';
import { type RunOnceResult, runOnce } from './run-once.js';
import { type TarEntry, tarOf } from './tar.js';

/** Bounds of one learner build and of the one container run after it. */
export interface LearnerBuildLimits {
  /** Dockerfile plus files, in bytes (default 1 MiB). */
  maxContextBytes: number;
  /** Files sent at most (default 50). */
  maxFiles: number;
  /** Wall-clock bound of the whole build (default 120 s). */
  buildTimeoutMs: number;
  /** Wall-clock bound of the run after the build (default 15 s). */
  runTimeoutMs: number;
  /** Memory of each build step and of the run, no swap (default 256 MiB). */
  memoryBytes: number;
  /** CPU of each build step and of the run, in billionths of a CPU (default half a CPU). */
  nanoCpus: number;
  /** Processes (and threads) in each build step and in the run (default 64). */
  pidsLimit: number;
  /** Largest file a build step or the run may write (RLIMIT_FSIZE, default 64 MiB). */
  maxFileBytes: number;
  /** Largest image, base included (default 128 MiB). */
  maxImageBytes: number;
  /** Output of the run kept (default 8 KiB). */
  maxOutputBytes: number;
}

export const DEFAULT_LEARNER_BUILD_LIMITS: LearnerBuildLimits = {
  maxContextBytes: DEFAULT_MAX_CONTEXT_BYTES,
  maxFiles: 50,
  buildTimeoutMs: 120_000,
  runTimeoutMs: 15_000,
  memoryBytes: 256 * 1024 ** 2,
  nanoCpus: 500_000_000,
  pidsLimit: 64,
  maxFileBytes: 64 * 1024 ** 2,
  maxImageBytes: 128 * 1024 ** 2,
  maxOutputBytes: 8192,
};

export interface LearnerBuilderOptions {
  docker?: Dockerode;
  /** Images a learner's FROM may name unless a request says otherwise (the offline base, typically). */
  allowedBaseImages: readonly string[];
  /** Registry host[:port]: images are tagged `<registry>/labbot/learner-<lab>:<hash>` and pushed there. */
  registry?: string;
  /** Extra labels on every container and image (e.g. a test run's own label, to find leftovers). */
  labels?: Record<string, string>;
  limits?: Partial<LearnerBuildLimits>;
  logger?: Logger;
  /** Build lines kept in results and errors (default 20). */
  logTailLines?: number;
}

export interface LearnerBuildRequest {
  labId: string;
  dockerfile: string;
  files: readonly LearnerFile[];
  /** The lesson's allowed base images (the builder's default when absent or empty). */
  allowedBaseImages?: readonly string[];
  onLog?: (line: string) => void;
}

export interface LearnerBuildResult {
  tag: string;
  hash: string;
  /** True when the same Dockerfile and files were built before for this lab. */
  cached: boolean;
  logTail: string[];
  sizeBytes: number;
}

export interface LearnerRunResult extends RunOnceResult {
  /** A teaching note when the run needs one (printed nothing, exited with an error, was stopped). */
  note?: string;
}

export interface LearnerBuilder {
  /** Parses and checks without building (what build does first); throws the teaching error. */
  check(request: LearnerBuildRequest): LearnerDockerfile;
  /** Builds a learner's Dockerfile step by step in hardened containers; the image is labelled with the lab. */
  build(request: LearnerBuildRequest): Promise<LearnerBuildResult>;
  /** Runs the image once like `docker run`, under the same limits, and says what a learner should notice. */
  run(tag: string, labId: string): Promise<LearnerRunResult>;
  /** Deletes every image built for a lab (when the lab ends); returns how many tags were removed. */
  removeImagesOf(labId: string): Promise<number>;
  readonly limits: LearnerBuildLimits;
}

export const LEARNER_BUILD_LABEL = 'labbot.dev/learner-build';
const LAB_LABEL = 'labbot.dev/lab';
/** Capabilities a build step keeps (file ownership and users, as package installs need); everything else is dropped. */
const BUILD_CAPABILITIES = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'SETUID', 'SETGID'];

interface ImageConfig {
  Env: string[];
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  WorkingDir: string;
  User: string;
  ExposedPorts: Record<string, object>;
  Labels: Record<string, string>;
}

/** Hash of what a learner sent: the Dockerfile and every file (path, mode, content). */
export function hashLearnerBuild(dockerfile: string, files: readonly LearnerFile[]): string {
  const hash = createHash('sha256');
  hash.update('labbot-learner-build-v1\0');
  hash.update(`${dockerfile}\0`);
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    hash.update(`${file.path}\0${(file.mode ?? 0o644).toString(8)}\0`);
    hash.update(createHash('sha256').update(file.content).digest('hex'));
  }
  return hash.digest('hex').slice(0, 16);
}

/** The repository of a lab's own images: `labbot/learner-<lab>`, prefixed with the registry when set. */
export function learnerRepositoryFor(labId: string, registry?: string): string {
  const repository = `labbot/learner-${LabIdSchema.parse(labId)}`;
  return registry ? `${registry.replace(/\/+$/, '')}/${repository}` : repository;
}

class StepOutput {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(
    private readonly emit: (line: string) => void,
    private readonly keep: number,
  ) {}
  writable(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, callback) => {
        this.add(chunk.toString('utf8'));
        callback();
      },
    });
  }
  private add(text: string): void {
    const parts = (this.partial + text).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.push(line);
  }
  private push(line: string): void {
    const cut = line.slice(0, 2000);
    this.lines.push(cut);
    if (this.lines.length > this.keep) this.lines.shift();
    this.emit(cut);
  }
  flush(): void {
    if (this.partial !== '') this.push(this.partial);
    this.partial = '';
  }
  text(): string {
    return this.lines.join('\n');
  }
}

function learnerError(code: string, message: string, context: Record<string, string | number> = {}): LabbotError {
  return new LabbotError(code, message, { userMessage: message, context });
}

/** Creates the hardened builder of learners' Dockerfiles over one Docker engine. */
export function createLearnerBuilder(options: LearnerBuilderOptions): LearnerBuilder {
  const docker = options.docker ?? new Dockerode();
  const limits: LearnerBuildLimits = { ...DEFAULT_LEARNER_BUILD_LIMITS, ...options.limits };
  const registry = options.registry?.replace(/\/+$/, '') || undefined;
  const extraLabels = options.labels ?? {};
  const logger = options.logger;
  const tailSize = options.logTailLines ?? 20;

  function labelsFor(labId: string): Record<string, string> {
    return { ...extraLabels, [LAB_LABEL]: labId, [LEARNER_BUILD_LABEL]: 'true' };
  }

  /** The sandbox of every build step and of the run: no network, no privilege, bounded everything, no host paths. */
  function hostConfig(kind: 'build' | 'run'): Dockerode.HostConfig {
    return {
      NetworkMode: 'none',
      Privileged: false,
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes,
      NanoCpus: limits.nanoCpus,
      PidsLimit: limits.pidsLimit,
      CapDrop: ['ALL'],
      ...(kind === 'build' ? { CapAdd: BUILD_CAPABILITIES } : {}),
      SecurityOpt: ['no-new-privileges'],
      Ulimits: [
        { Name: 'fsize', Soft: limits.maxFileBytes, Hard: limits.maxFileBytes },
        { Name: 'nofile', Soft: 1024, Hard: 1024 },
      ],
      Binds: [],
      Mounts: [],
      Devices: [],
      LogConfig: { Type: 'none', Config: {} },
    };
  }

  function check(request: LearnerBuildRequest): LearnerDockerfile {
    const allowed = request.allowedBaseImages?.length ? request.allowedBaseImages : options.allowedBaseImages;
    return checkLearnerBuild({
      dockerfile: request.dockerfile,
      files: request.files,
      allowedBaseImages: allowed,
      maxContextBytes: limits.maxContextBytes,
      maxFiles: limits.maxFiles,
    });
  }

  async function removeContainer(container: Dockerode.Container): Promise<void> {
    await container.remove({ force: true }).catch((error: unknown) => {
      if (dockerStatusOf(error) !== 404) logger?.warn({ error: messageOf(error) }, 'removing a build container failed');
    });
  }

  async function removeImage(id: string): Promise<void> {
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch((error: unknown) => {
        if (dockerStatusOf(error) !== 404)
          logger?.warn({ image: id, error: messageOf(error) }, 'removing an image failed');
      });
  }

  async function build(request: LearnerBuildRequest): Promise<LearnerBuildResult> {
    const parsed = check(request);
    const hash = hashLearnerBuild(request.dockerfile, request.files);
    const repository = learnerRepositoryFor(request.labId, registry);
    const tag = `${repository}:${hash}`;
    const tail: string[] = [];
    const emit = (line: string) => {
      tail.push(line);
      if (tail.length > tailSize) tail.shift();
      try {
        request.onLog?.(line);
      } catch (error) {
        logger?.warn({ error: messageOf(error) }, 'build log listener threw');
      }
    };
    if (await imageExists(docker, tag)) {
      const info = await docker.getImage(tag).inspect();
      return { tag, hash, cached: true, logTail: [], sizeBytes: info.Size };
    }
    const labels = labelsFor(request.labId);
    const deadline = Date.now() + limits.buildTimeoutMs;
    const created: string[] = [];
    const context = { labId: request.labId, tag };
    logger?.info(context, 'learner build started');
    try {
      let base: Dockerode.ImageInspectInfo;
      try {
        base = await docker.getImage(parsed.baseImage).inspect();
      } catch (error) {
        if (dockerStatusOf(error) !== 404) throw error;
        throw new LabbotError(BuilderErrorCode.baseImageMissing, `Base image ${parsed.baseImage} is missing`, {
          cause: error,
          userMessage: `The base image "${parsed.baseImage}" is not loaded on this server, and nothing can be downloaded here. Ask an operator to load it.`,
          context,
        });
      }
      const config: ImageConfig = {
        Env: base.Config.Env ?? [],
        Cmd: base.Config.Cmd ?? null,
        Entrypoint: (base.Config.Entrypoint as string[] | null | undefined) ?? null,
        WorkingDir: base.Config.WorkingDir || '/',
        User: base.Config.User ?? '',
        ExposedPorts: { ...(base.Config.ExposedPorts ?? {}) },
        Labels: { ...(base.Config.Labels ?? {}) },
      };
      let current = base.Id;
      let cmdSet = false;
      const total = parsed.instructions.length;
      for (const [index, instruction] of parsed.instructions.entries()) {
        emit(`Step ${index + 1}/${total} : ${instruction.text}`);
        switch (instruction.keyword) {
          case 'FROM':
            break;
          case 'ENV':
            for (const [key, value] of instruction.pairs) {
              config.Env = [...config.Env.filter((entry) => !entry.startsWith(`${key}=`)), `${key}=${value}`];
            }
            break;
          case 'LABEL':
            for (const [key, value] of instruction.pairs) config.Labels[key] = value;
            break;
          case 'WORKDIR':
            config.WorkingDir = posix.resolve(config.WorkingDir, instruction.value);
            break;
          case 'USER':
            config.User = instruction.value;
            break;
          case 'EXPOSE':
            for (const port of instruction.ports) config.ExposedPorts[port.includes('/') ? port : `${port}/tcp`] = {};
            break;
          case 'CMD':
            config.Cmd = instruction.command;
            cmdSet = true;
            break;
          case 'ENTRYPOINT':
            config.Entrypoint = instruction.command;
            // As Docker does: a new ENTRYPOINT drops the CMD inherited from the base image.
            if (!cmdSet) config.Cmd = null;
            break;
          case 'RUN':
            current = await runStep(current, instruction, config, labels, deadline, emit, created);
            break;
          case 'COPY':
            current = await copyStep(current, instruction, config, labels, request.files, created);
            break;
        }
      }
      // The last commit carries the image's own settings (CMD, ENV, USER...) and the tag.
      const finalId = await commitConfig(current, config, labels, repository, hash, created);
      const info = await docker.getImage(finalId).inspect();
      if (info.Size > limits.maxImageBytes) {
        throw learnerError(
          LearnerBuildErrorCode.imageTooLarge,
          `Your image is ${formatBytes(info.Size)}; lab images may be at most ${formatBytes(limits.maxImageBytes)}. Keep only the files it needs.`,
          { bytes: info.Size },
        );
      }
      if (registry) await push(repository, hash);
      emit(`Successfully built ${hash}`);
      emit(`Successfully tagged ${tag}`);
      logger?.info({ ...context, bytes: info.Size }, 'learner image built');
      return { tag, hash, cached: false, logTail: [...tail], sizeBytes: info.Size };
    } catch (error) {
      // Nothing of a failed build stays: its images go, newest first (children before parents).
      for (const id of [...created].reverse()) await removeImage(id);
      if (error instanceof LabbotError) {
        if (error.userMessage && error.code.startsWith('LEARNER_') && tail.length) {
          throw new LabbotError(error.code, error.message, {
            cause: error.cause,
            userMessage: error.userMessage,
            context: { ...error.context, ...context, logTail: tail.slice(-5).join('\n') },
          });
        }
        throw error;
      }
      throw wrapDockerError(
        error,
        BuilderErrorCode.buildFailed,
        'Learner build failed',
        'Your image could not be built.',
        context,
      );
    }
  }

  async function runStep(
    image: string,
    instruction: Extract<LearnerInstruction, { keyword: 'RUN' }>,
    config: ImageConfig,
    labels: Record<string, string>,
    deadline: number,
    emit: (line: string) => void,
    created: string[],
  ): Promise<string> {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timeoutError(instruction);
    const container = await docker.createContainer({
      Image: image,
      Cmd: instruction.command,
      Entrypoint: [''],
      Env: config.Env,
      WorkingDir: config.WorkingDir,
      User: config.User,
      Labels: { ...config.Labels, ...labels },
      Tty: false,
      AttachStdout: true,
      AttachStderr: true,
      NetworkDisabled: true,
      HostConfig: hostConfig('build'),
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const output = new StepOutput(emit, 50);
      const stream = (await container.attach({ stream: true, stdout: true, stderr: true })) as NodeJS.ReadableStream;
      const sink = output.writable();
      docker.modem.demuxStream(stream, sink, sink);
      const ended = new Promise<void>((resolve) => {
        stream.on('end', resolve);
        stream.on('close', resolve);
        stream.on('error', () => resolve());
      });
      await container.start();
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), remaining);
      });
      const outcome = await Promise.race([container.wait() as Promise<{ StatusCode?: number }>, timedOut]);
      if (outcome === 'timeout') {
        await container.kill().catch(() => {});
        throw timeoutError(instruction);
      }
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 1000).unref())]);
      output.flush();
      const state = (await container.inspect()).State;
      const exitCode = outcome.StatusCode ?? -1;
      if (exitCode !== 0) throw stepError(instruction, exitCode, output.text(), state.OOMKilled === true);
      // dockerode's types lack the size option of inspect (`?size=1`, which adds SizeRw).
      const inspectWithSize = container.inspect.bind(container) as unknown as (options: {
        size: boolean;
      }) => Promise<{ SizeRw?: number }>;
      const sized = await inspectWithSize({ size: true });
      if ((sized.SizeRw ?? 0) > limits.maxImageBytes) {
        throw learnerError(
          LearnerBuildErrorCode.imageTooLarge,
          `RUN at line ${instruction.line} wrote ${formatBytes(sized.SizeRw ?? 0)}; lab images may be at most ${formatBytes(limits.maxImageBytes)}.`,
          { line: instruction.line },
        );
      }
      const committed = (await container.commit({ pause: false })) as { Id: string };
      created.push(committed.Id);
      return committed.Id;
    } finally {
      clearTimeout(timer);
      await removeContainer(container);
    }
  }

  function timeoutError(instruction: LearnerInstruction): LabbotError {
    const seconds = Math.round(limits.buildTimeoutMs / 1000);
    return new LabbotError(LearnerBuildErrorCode.buildTimeout, `Learner build passed ${limits.buildTimeoutMs} ms`, {
      userMessage: `Your build took longer than ${seconds} seconds and was stopped at line ${instruction.line} (\`${instruction.text.slice(0, 80)}\`). A build step must finish on its own: no servers, no \`sleep\` loops in RUN (start those with CMD instead).`,
      context: { line: instruction.line },
    });
  }

  function stepError(
    instruction: LearnerInstruction,
    exitCode: number,
    output: string,
    oomKilled: boolean,
  ): LabbotError {
    const where = `RUN at line ${instruction.line} (\`${instruction.text.slice(0, 80)}\`)`;
    const last = output
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(-5);
    const shown = last.length ? `\nIts last lines:\n${last.join('\n')}` : '';
    if (/can't fork|Resource temporarily unavailable|fork: retry|Cannot fork/i.test(output)) {
      return learnerError(
        LearnerBuildErrorCode.pidsLimit,
        `${where} tried to start too many processes: a lab build step may run at most ${limits.pidsLimit} at once, so the extra ones were refused and the step failed (exit code ${exitCode}).${shown}`,
        { line: instruction.line, exitCode },
      );
    }
    if (exitCode === 153 || /File size limit exceeded|File too large/i.test(output)) {
      return learnerError(
        LearnerBuildErrorCode.fileSizeLimit,
        `${where} tried to write a file bigger than ${formatBytes(limits.maxFileBytes)}, the largest a lab build allows; the write was stopped and the step failed.${shown}`,
        { line: instruction.line, exitCode },
      );
    }
    if (oomKilled || exitCode === 137) {
      return learnerError(
        LearnerBuildErrorCode.memoryLimit,
        `${where} used more than ${formatBytes(limits.memoryBytes)} of memory and was stopped.${shown}`,
        { line: instruction.line, exitCode },
      );
    }
    const network =
      /bad address|network is unreachable|could not resolve|connection refused|no route to host|temporary failure in name resolution|unable to resolve|download|wget:|curl:|apt|apk /i.test(
        output,
      ) || /\b(wget|curl|apt-get|apk|pip|npm|git)\b|https?:\/\//.test(instruction.text);
    return learnerError(
      LearnerBuildErrorCode.stepFailed,
      `${where} failed with exit code ${exitCode}.${
        network
          ? ' Build steps in a lab have no network: nothing can be downloaded or installed from the internet. Send the files you need with your Dockerfile and COPY them instead.'
          : ''
      }${shown}`,
      { line: instruction.line, exitCode },
    );
  }

  /** The tar entries of one COPY: each source's files at their destination, with the folders above them. */
  function copyEntries(
    instruction: Extract<LearnerInstruction, { keyword: 'COPY' }>,
    config: ImageConfig,
    files: readonly LearnerFile[],
    destinationIsFolder: boolean,
  ): TarEntry[] {
    const [uid = 0, gid = uid] = (instruction.chown ?? '0').split(':').map(Number);
    const destination = posix.resolve(config.WorkingDir, instruction.destination);
    const intoFolder =
      destinationIsFolder ||
      /(^|\/)\.?$/.test(instruction.destination) ||
      instruction.sources.length > 1 ||
      instruction.sources.some((source) => /[*?]/.test(source));
    const targets = new Map<string, LearnerFile>();
    for (const source of instruction.sources) {
      const cleaned = source.replace(/^\.\//, '').replace(/\/+$/, '');
      for (const file of matchCopySource(source, files)) {
        let target: string;
        if (file.path === cleaned || /[*?]/.test(cleaned)) {
          target = intoFolder ? posix.join(destination, posix.basename(file.path)) : destination;
        } else if (cleaned === '' || cleaned === '.') {
          target = posix.join(destination, file.path);
        } else {
          target = posix.join(destination, file.path.slice(cleaned.length + 1));
        }
        targets.set(target, file);
      }
    }
    const entries: TarEntry[] = [];
    const folders = new Set<string>();
    for (const [target, file] of [...targets].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const parts = target.split('/').filter(Boolean);
      for (let depth = 1; depth < parts.length; depth++) {
        const folder = parts.slice(0, depth).join('/');
        // Folders that exist in every image keep their own owner and mode.
        if (folders.has(folder) || ['bin', 'etc', 'usr', 'tmp', 'var', 'lib', 'sbin', 'root', 'home'].includes(folder))
          continue;
        folders.add(folder);
        entries.push({ path: folder, type: 'directory', mode: 0o755, uid, gid });
      }
      entries.push({ path: parts.join('/'), type: 'file', mode: file.mode ?? 0o644, uid, gid, content: file.content });
    }
    return entries;
  }

  async function copyStep(
    image: string,
    instruction: Extract<LearnerInstruction, { keyword: 'COPY' }>,
    config: ImageConfig,
    labels: Record<string, string>,
    files: readonly LearnerFile[],
    created: string[],
  ): Promise<string> {
    const container = await docker.createContainer({
      Image: image,
      Cmd: ['/bin/true'],
      Entrypoint: [''],
      Labels: { ...config.Labels, ...labels },
      NetworkDisabled: true,
      HostConfig: hostConfig('build'),
    });
    try {
      const destination = posix.resolve(config.WorkingDir, instruction.destination);
      const entries = copyEntries(instruction, config, files, await isFolder(container, destination));
      await container.putArchive(tarOf(entries), { path: '/' });
      const committed = (await container.commit({ pause: false })) as { Id: string };
      created.push(committed.Id);
      return committed.Id;
    } finally {
      await removeContainer(container);
    }
  }

  /** Whether a path is a folder in the container's filesystem (COPY a.sh /app means /app/a.sh then). */
  async function isFolder(container: Dockerode.Container, path: string): Promise<boolean> {
    try {
      const response = (await container.infoArchive({ path })) as {
        headers?: Record<string, string | undefined>;
        resume?: () => void;
      };
      response.resume?.();
      const stat = response.headers?.['x-docker-container-path-stat'];
      if (!stat) return false;
      const { mode } = JSON.parse(Buffer.from(stat, 'base64').toString('utf8')) as { mode?: number };
      // Go's os.ModeDir is the top bit of a 32-bit mode.
      return mode !== undefined && (mode & 0x80000000) !== 0;
    } catch (error) {
      if (dockerStatusOf(error) === 404) return false;
      throw error;
    }
  }

  async function commitConfig(
    image: string,
    config: ImageConfig,
    labels: Record<string, string>,
    repository: string,
    hash: string,
    created: string[],
  ): Promise<string> {
    const container = await docker.createContainer({
      Image: image,
      Cmd: config.Cmd ?? [],
      Entrypoint: config.Entrypoint ?? [''],
      Env: config.Env,
      WorkingDir: config.WorkingDir,
      User: config.User,
      ExposedPorts: config.ExposedPorts,
      Labels: { ...config.Labels, ...labels },
      NetworkDisabled: true,
      HostConfig: hostConfig('build'),
    });
    try {
      const committed = (await container.commit({ repo: repository, tag: hash, pause: false })) as { Id: string };
      created.push(committed.Id);
      return committed.Id;
    } finally {
      await removeContainer(container);
    }
  }

  async function push(repository: string, reference: string): Promise<void> {
    const stream = (await docker.getImage(repository).push({
      tag: reference,
      authconfig: { serveraddress: registry },
    })) as NodeJS.ReadableStream;
    const result = await followProgress(docker, stream, () => {});
    if (result.error !== undefined) {
      throw new LabbotError(BuilderErrorCode.pushFailed, `Pushing ${repository}:${reference} failed: ${result.error}`, {
        retryable: true,
        userMessage: 'Your image was built but could not be stored in the registry. Try again shortly.',
      });
    }
  }

  async function run(tag: string, labId: string): Promise<LearnerRunResult> {
    const result = await runOnce(
      docker,
      { registry, labels: labelsFor(labId), logger },
      {
        image: tag,
        timeoutMs: limits.runTimeoutMs,
        maxOutputBytes: limits.maxOutputBytes,
        user: '10001',
        memoryBytes: limits.memoryBytes,
        nanoCpus: limits.nanoCpus,
        pidsLimit: limits.pidsLimit,
        maxFileBytes: limits.maxFileBytes,
      },
    );
    return { ...result, ...noteOf(result) };
  }

  function noteOf(result: RunOnceResult): { note?: string } {
    if (result.timedOut) {
      return {
        note: `Your container was still running after ${Math.round(limits.runTimeoutMs / 1000)} seconds, so labbot stopped it. That is fine for a server (a Deployment wants containers that keep running); for this step, what it printed so far is shown.`,
      };
    }
    if (result.oomKilled)
      return { note: `Your container used more than ${formatBytes(limits.memoryBytes)} and was stopped.` };
    if (result.output.trim() === '') {
      return {
        note:
          result.exitCode === 0
            ? 'Your container ran and printed nothing. A container only shows what its main process prints: give your image a CMD that prints something, e.g. CMD ["echo", "Hello from my image"], then /lab build again.'
            : `Your container printed nothing and ended with exit code ${result.exitCode}. Check that CMD names a program that exists in the image (e.g. CMD ["/bin/sh", "/app/hello.sh"] after COPY hello.sh /app/).`,
      };
    }
    if (result.exitCode !== 0 && result.output.includes('Read-only file system')) {
      return {
        note: "Your container tried to write into its image, which labbot runs read-only (as the lab's Deployment does with readOnlyRootFilesystem). Write to /tmp instead, or print what you wanted to save.",
      };
    }
    if (result.exitCode !== 0) {
      return { note: `Your container ended with exit code ${result.exitCode}: its main process reported an error.` };
    }
    return {};
  }

  async function removeImagesOf(labId: string): Promise<number> {
    const images = await docker.listImages({
      all: true,
      filters: JSON.stringify({ label: [`${LAB_LABEL}=${LabIdSchema.parse(labId)}`, `${LEARNER_BUILD_LABEL}=true`] }),
    });
    let removed = 0;
    // Tagged images first: deleting one also removes its untagged parents (the build's steps).
    const ordered = [...images].sort((a, b) => (b.RepoTags?.length ?? 0) - (a.RepoTags?.length ?? 0));
    for (const image of ordered) {
      const tags = (image.RepoTags ?? []).filter((tag) => tag !== '<none>:<none>');
      for (const tag of tags) {
        await removeImage(tag);
        removed += 1;
      }
      if (tags.length === 0) await removeImage(image.Id);
    }
    return removed;
  }

  return { check, build, run, removeImagesOf, limits };
}
