import { LabbotError } from '@labbot/core';

/** Error codes of a learner's Dockerfile or files, refused before anything is built. */
export const LearnerBuildErrorCode = {
  fromNotAllowed: 'LEARNER_FROM_NOT_ALLOWED',
  dockerfileInvalid: 'LEARNER_DOCKERFILE_INVALID',
  instructionRefused: 'LEARNER_INSTRUCTION_REFUSED',
  copyMissingFile: 'LEARNER_COPY_MISSING_FILE',
  cmdNotJson: 'LEARNER_CMD_NOT_JSON',
  contextTooLarge: 'LEARNER_CONTEXT_TOO_LARGE',
  fileInvalid: 'LEARNER_FILE_INVALID',
  stepFailed: 'LEARNER_STEP_FAILED',
  pidsLimit: 'LEARNER_PIDS_LIMIT',
  fileSizeLimit: 'LEARNER_FILE_SIZE_LIMIT',
  memoryLimit: 'LEARNER_MEMORY_LIMIT',
  imageTooLarge: 'LEARNER_IMAGE_TOO_LARGE',
  buildTimeout: 'LEARNER_BUILD_TIMEOUT',
  noOutput: 'LEARNER_NO_OUTPUT',
} as const;

/** One file the learner sent with their Dockerfile. */
export interface LearnerFile {
  /** Relative path with forward slashes, e.g. `app/hello.sh`. */
  path: string;
  content: Buffer;
  /** Permission bits (default 0o644; a local folder keeps its own). */
  mode?: number;
}

/** One instruction of a learner's Dockerfile, after line continuations are joined. */
export type LearnerInstruction =
  | { keyword: 'FROM'; line: number; text: string; image: string }
  | { keyword: 'RUN'; line: number; text: string; command: string[]; shellForm: boolean }
  | { keyword: 'CMD' | 'ENTRYPOINT'; line: number; text: string; command: string[]; shellForm: boolean }
  | { keyword: 'COPY'; line: number; text: string; sources: string[]; destination: string; chown?: string }
  | { keyword: 'ENV' | 'LABEL'; line: number; text: string; pairs: [string, string][] }
  | { keyword: 'WORKDIR' | 'USER'; line: number; text: string; value: string }
  | { keyword: 'EXPOSE'; line: number; text: string; ports: string[] };

export interface LearnerDockerfile {
  instructions: LearnerInstruction[];
  baseImage: string;
}

export interface CheckLearnerBuildOptions {
  dockerfile: string;
  files: readonly LearnerFile[];
  /** Images FROM may name (the lesson's; the offline base by default). */
  allowedBaseImages: readonly string[];
  /** Bytes of the Dockerfile plus every file (default 1 MiB). */
  maxContextBytes?: number;
  /** Files sent at most (default 50). */
  maxFiles?: number;
}

export const DEFAULT_MAX_CONTEXT_BYTES = 1024 * 1024;
const DEFAULT_MAX_FILES = 50;
const MAX_INSTRUCTIONS = 50;

/** Instructions a lab build refuses, each with why and what to use instead. */
const REFUSED: Record<string, string> = {
  ADD: 'ADD is not available in labs (it can download URLs and unpack archives); use COPY for your files.',
  VOLUME: 'VOLUME is not available in labs: a lab container keeps no data of its own.',
  ONBUILD: 'ONBUILD is not available in labs.',
  SHELL: 'SHELL is not available in labs; RUN uses /bin/sh -c.',
  HEALTHCHECK: 'HEALTHCHECK is not available in labs; Kubernetes probes do that job in a Deployment.',
  STOPSIGNAL: 'STOPSIGNAL is not available in labs.',
  ARG: 'ARG is not available in labs: write the values in the Dockerfile itself.',
  MAINTAINER: 'MAINTAINER is deprecated; use LABEL maintainer="you" instead.',
};

const KNOWN = new Set(['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'COPY', 'ENV', 'LABEL', 'WORKDIR', 'USER', 'EXPOSE']);

function refuse(code: string, message: string, context: Record<string, string | number> = {}): LabbotError {
  return new LabbotError(code, message, { userMessage: message, context });
}

function quoteLine(line: number, text: string): string {
  const shown = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  return `line ${line}: \`${shown}\``;
}

/** Checks one path a learner sent: relative, forward slashes, no "..", printable, short. */
export function checkLearnerPath(path: string): void {
  const problem =
    path === ''
      ? 'is empty'
      : path.length > 200
        ? 'is longer than 200 characters'
        : path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')
          ? 'must be relative, with forward slashes'
          : path.split('/').some((part) => part === '..' || part === '.' || part === '')
            ? 'must not contain "..", "." or empty parts'
            : // biome-ignore lint/suspicious/noControlCharactersInRegex: this is the check for them
              /[\u0000-\u001f\u007f]/.test(path)
              ? 'contains control characters'
              : undefined;
  if (problem) {
    throw refuse(LearnerBuildErrorCode.fileInvalid, `The file name "${path.slice(0, 60)}" ${problem}.`, { path });
  }
}

/** Joins `\` continuations and drops comments; each instruction keeps the line it starts on. */
function logicalLines(text: string): { line: number; text: string }[] {
  const result: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== undefined && trimmed.startsWith('#')) return; // comments inside a continuation are dropped
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === undefined) current = { line: index + 1, text: part.trim() };
    else current.text = `${current.text} ${part.trim()}`.trim();
    if (!continued) {
      result.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) result.push(current);
  return result;
}

/** The exec form (`["a", "b"]`) or the shell form; a line that starts with "[" must be valid JSON. */
function commandOf(
  keyword: string,
  rest: string,
  line: number,
  text: string,
): { command: string[]; shellForm: boolean } {
  if (!rest.startsWith('[')) return { command: ['/bin/sh', '-c', rest], shellForm: true };
  let parsed: unknown;
  try {
    parsed = JSON.parse(rest);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((item) => typeof item === 'string')) {
    const singleQuotes = rest.includes("'");
    throw refuse(
      LearnerBuildErrorCode.cmdNotJson,
      `${keyword} at ${quoteLine(line, text)} starts with "[" but is not a valid JSON list of strings${
        singleQuotes ? ' (JSON needs double quotes "…", not single quotes)' : ''
      }. Write it like ${keyword} ["echo", "Hello from my image"]. (Docker would quietly run the whole line as a shell command instead, and the container would fail in a confusing way.)`,
      { line },
    );
  }
  return { command: parsed as string[], shellForm: false };
}

/** `KEY=value KEY2="v 2"` or the old `KEY value` form. */
function pairsOf(keyword: string, rest: string, line: number, text: string): [string, string][] {
  const pairs: [string, string][] = [];
  if (!/^[^\s=]+=/.test(rest)) {
    const match = /^(\S+)\s+(.*)$/.exec(rest);
    if (!match?.[1] || match[2] === undefined)
      throw refuse(LearnerBuildErrorCode.dockerfileInvalid, `${keyword} at ${quoteLine(line, text)} needs KEY=value.`, {
        line,
      });
    return [[match[1], match[2]]];
  }
  const pattern = /([^\s=]+)=("((?:[^"\\]|\\.)*)"|'([^']*)'|(\S*))/g;
  let consumed = '';
  for (const match of rest.matchAll(pattern)) {
    const key = match[1] ?? '';
    const value = match[3] !== undefined ? match[3].replace(/\\(.)/g, '$1') : (match[4] ?? match[5] ?? '');
    pairs.push([key, value]);
    consumed += match[0];
  }
  if (consumed.replace(/\s/g, '').length !== rest.replace(/\s/g, '').length) {
    throw refuse(
      LearnerBuildErrorCode.dockerfileInvalid,
      `${keyword} at ${quoteLine(line, text)} could not be read: write KEY=value pairs, with quotes around values that contain spaces.`,
      { line },
    );
  }
  return pairs;
}

/** Splits words, keeping a JSON list (`COPY ["a b", "/x/"]`) as one list. */
function wordsOf(rest: string): string[] {
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
    } catch {
      // fall through to plain words
    }
  }
  return rest.split(/\s+/).filter((word) => word !== '');
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  return new RegExp(`^${escaped}$`);
}

/** The sent files one COPY source means: a file, a folder's files, or a `*` / `?` pattern; `.` is everything. */
export function matchCopySource(source: string, files: readonly LearnerFile[]): LearnerFile[] {
  const cleaned = source.replace(/^\.\//, '').replace(/\/+$/, '');
  if (cleaned === '' || cleaned === '.') return [...files];
  if (/[*?]/.test(cleaned)) {
    const pattern = globToRegExp(cleaned);
    // A pattern may name a file or a folder (whose files it then means).
    return files.filter((file) => {
      const parts = file.path.split('/');
      return parts.some((_, index) => pattern.test(parts.slice(0, index + 1).join('/')));
    });
  }
  return files.filter((file) => file.path === cleaned || file.path.startsWith(`${cleaned}/`));
}

function parseInstruction(
  entry: { line: number; text: string },
  files: readonly LearnerFile[],
  allowedBaseImages: readonly string[],
): LearnerInstruction {
  const { line, text } = entry;
  const match = /^(\S+)\s*(.*)$/.exec(text);
  const keyword = (match?.[1] ?? '').toUpperCase();
  const rest = (match?.[2] ?? '').trim();
  const refused = REFUSED[keyword];
  if (refused) throw refuse(LearnerBuildErrorCode.instructionRefused, `${quoteLine(line, text)}: ${refused}`, { line });
  if (!KNOWN.has(keyword)) {
    throw refuse(
      LearnerBuildErrorCode.dockerfileInvalid,
      `${quoteLine(line, text)}: "${keyword.slice(0, 20)}" is not a Dockerfile instruction. Labs understand FROM, RUN, COPY, WORKDIR, ENV, USER, EXPOSE, LABEL, CMD and ENTRYPOINT.`,
      { line },
    );
  }
  if (rest === '') {
    throw refuse(LearnerBuildErrorCode.dockerfileInvalid, `${keyword} at line ${line} needs arguments.`, { line });
  }
  switch (keyword) {
    case 'FROM': {
      const words = rest.split(/\s+/);
      const image = words[0] ?? '';
      const allowed = allowedBaseImages.join(', ');
      if (words.some((word) => word.startsWith('--')) || words.length > 1) {
        throw refuse(
          LearnerBuildErrorCode.fromNotAllowed,
          `${quoteLine(line, text)}: labs build one stage from one base image, with no options. Write \`FROM ${allowedBaseImages[0] ?? ''}\`.`,
          { line },
        );
      }
      if (!allowedBaseImages.includes(image)) {
        throw refuse(
          LearnerBuildErrorCode.fromNotAllowed,
          `FROM "${image.slice(0, 100)}" is not allowed here (${quoteLine(line, text)}). Lab images are built offline, so nothing can be downloaded: start from ${allowedBaseImages.length === 1 ? 'the base image' : 'one of the base images'} this lesson allows: ${allowed}. Write \`FROM ${allowedBaseImages[0] ?? ''}\`.`,
          { line, image: image.slice(0, 200) },
        );
      }
      return { keyword, line, text, image };
    }
    case 'RUN': {
      if (rest.startsWith('--')) {
        throw refuse(
          LearnerBuildErrorCode.instructionRefused,
          `${quoteLine(line, text)}: RUN options (--mount, --network, --security) are not available in labs; build steps never have network or host access.`,
          { line },
        );
      }
      return { keyword, line, text, ...commandOf(keyword, rest, line, text) };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return { keyword, line, text, ...commandOf(keyword, rest, line, text) };
    case 'COPY': {
      const words = wordsOf(rest);
      let chown: string | undefined;
      while (words[0]?.startsWith('--')) {
        const flag = words.shift() ?? '';
        const chownMatch = /^--chown=(\d+)(?::(\d+))?$/.exec(flag);
        if (chownMatch) {
          chown = flag.slice('--chown='.length);
          continue;
        }
        throw refuse(
          LearnerBuildErrorCode.instructionRefused,
          flag.startsWith('--from')
            ? `${quoteLine(line, text)}: COPY --from (multi-stage builds and other images) is not available in labs; copy your own files.`
            : `${quoteLine(line, text)}: the option ${flag.split('=')[0]} is not available in labs (only --chown=UID:GID with numbers).`,
          { line },
        );
      }
      if (words.length < 2) {
        throw refuse(
          LearnerBuildErrorCode.dockerfileInvalid,
          `COPY at ${quoteLine(line, text)} needs a source and a destination, e.g. COPY hello.sh /app/hello.sh.`,
          { line },
        );
      }
      const destination = words.pop() ?? '';
      for (const source of words) {
        if (source.startsWith('/') || source.split('/').includes('..')) {
          throw refuse(
            LearnerBuildErrorCode.copyMissingFile,
            `COPY at ${quoteLine(line, text)}: "${source}" is outside your files. COPY takes files you sent, by their relative name (e.g. COPY hello.sh /app/).`,
            { line },
          );
        }
        if (matchCopySource(source, files).length === 0) {
          const sent = files.map((file) => file.path).slice(0, 10);
          throw refuse(
            LearnerBuildErrorCode.copyMissingFile,
            `COPY at ${quoteLine(line, text)} needs "${source}", but you did not send a file of that name. ${
              sent.length ? `You sent: ${sent.join(', ')}.` : 'You sent only the Dockerfile.'
            } Send the file together with your Dockerfile (names are case-sensitive and relative to your folder).`,
            { line, source },
          );
        }
      }
      return { keyword, line, text, sources: words, destination, ...(chown ? { chown } : {}) };
    }
    case 'ENV':
    case 'LABEL':
      return { keyword, line, text, pairs: pairsOf(keyword, rest, line, text) };
    case 'WORKDIR':
      if (!rest.startsWith('/') || rest.split('/').includes('..')) {
        throw refuse(
          LearnerBuildErrorCode.dockerfileInvalid,
          `WORKDIR at ${quoteLine(line, text)} must be an absolute path such as /app.`,
          { line },
        );
      }
      return { keyword, line, text, value: rest };
    case 'USER':
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?$/.test(rest)) {
        throw refuse(
          LearnerBuildErrorCode.dockerfileInvalid,
          `USER at ${quoteLine(line, text)} needs a user name or number.`,
          {
            line,
          },
        );
      }
      return { keyword, line, text, value: rest };
    default: {
      const ports = rest.split(/\s+/);
      if (!ports.every((port) => /^\d{1,5}(\/(tcp|udp))?$/.test(port))) {
        throw refuse(
          LearnerBuildErrorCode.dockerfileInvalid,
          `EXPOSE at ${quoteLine(line, text)} takes port numbers, e.g. EXPOSE 8080.`,
          {
            line,
          },
        );
      }
      return { keyword: 'EXPOSE', line, text, ports };
    }
  }
}

/**
 * Parses and checks a learner's Dockerfile and files before anything is built: size and names of the
 * files, FROM only from the allowed base images, the instructions labs support, COPY sources that
 * exist, CMD/ENTRYPOINT/RUN exec forms that are valid JSON. Throws a LabbotError whose userMessage teaches.
 */
export function checkLearnerBuild(options: CheckLearnerBuildOptions): LearnerDockerfile {
  const maxBytes = options.maxContextBytes ?? DEFAULT_MAX_CONTEXT_BYTES;
  const maxFiles = options.maxFiles ?? DEFAULT_MAX_FILES;
  if (options.files.length > maxFiles) {
    throw refuse(
      LearnerBuildErrorCode.contextTooLarge,
      `You sent ${options.files.length} files; a lab build takes at most ${maxFiles}.`,
    );
  }
  const seen = new Set<string>();
  let total = Buffer.byteLength(options.dockerfile, 'utf8');
  for (const file of options.files) {
    checkLearnerPath(file.path);
    if (seen.has(file.path))
      throw refuse(LearnerBuildErrorCode.fileInvalid, `The file "${file.path}" was sent twice.`, {
        path: file.path,
      });
    seen.add(file.path);
    total += file.content.length;
  }
  if (total > maxBytes) {
    throw refuse(
      LearnerBuildErrorCode.contextTooLarge,
      `Your Dockerfile and files add up to ${formatBytes(total)}; a lab build takes at most ${formatBytes(maxBytes)}. Send only what the image needs.`,
      { bytes: total },
    );
  }
  if (options.dockerfile.trim() === '') {
    throw refuse(LearnerBuildErrorCode.dockerfileInvalid, 'Your Dockerfile is empty: start it with a FROM line.');
  }
  const lines = logicalLines(options.dockerfile);
  if (lines.length > MAX_INSTRUCTIONS) {
    throw refuse(
      LearnerBuildErrorCode.dockerfileInvalid,
      `Your Dockerfile has ${lines.length} instructions; a lab build takes at most ${MAX_INSTRUCTIONS}.`,
    );
  }
  const instructions = lines.map((entry) => parseInstruction(entry, options.files, options.allowedBaseImages));
  const first = instructions[0];
  if (first?.keyword !== 'FROM') {
    throw refuse(
      LearnerBuildErrorCode.dockerfileInvalid,
      `A Dockerfile starts with FROM (the image to build on); yours starts with ${first?.keyword ?? 'nothing'}. Add \`FROM ${options.allowedBaseImages[0] ?? ''}\` as its first line.`,
    );
  }
  const extraFrom = instructions.slice(1).find((instruction) => instruction.keyword === 'FROM');
  if (extraFrom) {
    throw refuse(
      LearnerBuildErrorCode.fromNotAllowed,
      `A second FROM at line ${extraFrom.line}: labs build one stage only. Keep the first FROM and remove the others.`,
      { line: extraFrom.line },
    );
  }
  return { instructions, baseImage: first.image };
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${bytes} bytes`;
}
