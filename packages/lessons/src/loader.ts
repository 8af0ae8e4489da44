import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, sep } from 'node:path';
import { LabbotError } from '@labbot/core';
import { isCollection, isPair, parseDocument, visit } from 'yaml';
import { findEscapingSymlinks, isDirectory, resolveInside } from './paths.js';
import { LessonInvalidError, type LessonProblem, problemsFromZod } from './problems.js';
import {
  BASE_IMAGE_BUILD_ARG,
  DEFAULT_BASE_IMAGE,
  type LessonBuildSpec,
  type LessonRunSpec,
  type LessonSpec,
  LessonSpecSchema,
} from './schema.js';
import { type RenderedDeployment, renderTemplate } from './template.js';

export const LESSON_FILE = 'lesson.yaml';
const MAX_FILE_BYTES = 256 * 1024;

/** A build, resolved on disk: what the builder needs to make one lesson image. */
export interface ResolvedBuild {
  /** Absolute, real path of the build context folder (inside the lesson folder). */
  contextDir: string;
  /** The Dockerfile's path relative to the context, with forward slashes (what Docker's API takes). */
  dockerfile: string;
  /** Absolute path of the Dockerfile. */
  dockerfilePath: string;
  network: boolean;
  args: Record<string, string>;
}

/** A loaded, validated lesson. */
export interface Lesson {
  id: string;
  spec: LessonSpec;
  /** Absolute, real path of the lesson folder. */
  dir: string;
  /** The build of the lesson itself and of each variant, resolved on disk. */
  builds: { default: ResolvedBuild; variants: Record<string, ResolvedBuild>; images?: Record<string, ResolvedBuild> };
  /** The deployment template's text (read once at load). */
  deploymentTemplate: string;
  /** Where it came from. */
  source: 'built-in' | 'extra' | 'dir';
}

/**
 * The folder of the built-in lessons: `<package>/lessons`, found by the package's name rather than this file's place,
 * so it is the same from src/, dist/ and a bundle that inlines this package elsewhere (apps/runner's dist/main.js).
 */
export function builtInLessonsDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@labbot/lessons/package.json')), 'lessons');
}

function invalid(dir: string, problems: LessonProblem[], cause?: unknown): LessonInvalidError {
  return new LessonInvalidError(dir, basename(dir), problems, cause);
}

async function readBounded(path: string): Promise<string> {
  const info = await stat(path);
  if (info.size > MAX_FILE_BYTES) throw new Error(`is larger than ${MAX_FILE_BYTES / 1024} KiB`);
  return readFile(path, 'utf8');
}

async function resolveBuild(
  dir: string,
  build: LessonBuildSpec,
  field: string,
  problems: LessonProblem[],
): Promise<ResolvedBuild | undefined> {
  const context = await resolveInside(dir, dir, build.context, 'directory');
  if (!context.ok) {
    problems.push({ file: LESSON_FILE, field: `${field}.context`, message: `"${build.context}" ${context.message}` });
    return undefined;
  }
  const dockerfile = await resolveInside(context.path, context.path, build.dockerfile, 'file');
  if (!dockerfile.ok) {
    const message = dockerfile.message.replace('lesson folder', 'build context');
    problems.push({ file: LESSON_FILE, field: `${field}.dockerfile`, message: `"${build.dockerfile}" ${message}` });
    return undefined;
  }
  const symlinks = await findEscapingSymlinks(dir, context.path);
  for (const link of symlinks.escaping) {
    problems.push({ file: link, field: '', message: 'is a symlink that leads out of the lesson folder' });
  }
  if (symlinks.tooLarge) {
    problems.push({
      file: LESSON_FILE,
      field: `${field}.context`,
      message: 'the build context is too large (over 5000 entries)',
    });
  }
  return {
    contextDir: context.path,
    dockerfile: relative(context.path, dockerfile.path).split(sep).join('/'),
    dockerfilePath: dockerfile.path,
    network: build.network,
    args: build.args,
  };
}

export interface LoadLessonOptions {
  source?: Lesson['source'];
  /** Require lesson.yaml's id to equal the folder name (default true). */
  requireIdMatchesFolder?: boolean;
}

/**
 * Loads and validates one lesson folder. Throws LessonInvalidError (code LESSON_INVALID) naming the
 * file, the field and what is wrong, for every problem found.
 */
export async function loadLesson(lessonDir: string, options: LoadLessonOptions = {}): Promise<Lesson> {
  if (!(await isDirectory(lessonDir))) {
    throw invalid(lessonDir, [{ file: lessonDir, field: '', message: 'is not a folder' }]);
  }
  const dir = await realpath(lessonDir);
  const lessonFile = await resolveInside(dir, dir, LESSON_FILE, 'file');
  if (!lessonFile.ok) throw invalid(dir, [{ file: LESSON_FILE, field: '', message: lessonFile.message }]);
  let text: string;
  try {
    text = await readBounded(lessonFile.path);
  } catch (error) {
    const message = error instanceof Error && error.message.startsWith('is larger') ? error.message : 'cannot be read';
    throw invalid(dir, [{ file: LESSON_FILE, field: '', message }], error);
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw invalid(
      dir,
      document.errors.slice(0, 5).map((error) => ({
        file: LESSON_FILE,
        field: error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '',
        message: `is not valid YAML: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    );
  }
  // A list or mapping as a key has no JSON form: yaml would turn it into a string and print a process warning.
  let complexKeyAt: number | undefined;
  visit(document, (_key, node) => {
    if (!isPair(node) || !isCollection(node.key)) return undefined;
    complexKeyAt = node.key.range?.[0] ?? 0;
    return visit.BREAK;
  });
  if (complexKeyAt !== undefined) {
    const line = text.slice(0, complexKeyAt).split('\n').length;
    throw invalid(dir, [
      {
        file: LESSON_FILE,
        field: `line ${line}`,
        message: 'has a key that is a list or a mapping; a key must be a plain name',
      },
    ]);
  }
  let data: unknown;
  try {
    // toJS throws on an alias to no anchor, and on an alias bomb (more than maxAliasCount expansions).
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '').slice(0, 100) : 'cannot be read';
    throw invalid(dir, [{ file: LESSON_FILE, field: '', message: `is not valid YAML: ${reason}` }], error);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw invalid(dir, [
      { file: LESSON_FILE, field: '', message: 'must be a YAML mapping of fields (id, title, summary, steps...)' },
    ]);
  }
  const parsed = LessonSpecSchema.safeParse(data);
  if (!parsed.success) throw invalid(dir, problemsFromZod(LESSON_FILE, parsed.error, data), parsed.error);
  const spec = parsed.data;

  const problems: LessonProblem[] = [];
  if ((options.requireIdMatchesFolder ?? true) && spec.id !== basename(dir)) {
    problems.push({
      file: LESSON_FILE,
      field: 'id',
      message: `"${spec.id}" must equal the folder name "${basename(dir)}"`,
    });
  }
  const defaultBuild = await resolveBuild(dir, spec.build, 'build', problems);
  const variantBuilds: Record<string, ResolvedBuild> = {};
  for (const [name, variant] of Object.entries(spec.variants)) {
    const build = variant.build
      ? await resolveBuild(dir, variant.build, `variants.${name}.build`, problems)
      : defaultBuild;
    if (build) variantBuilds[name] = build;
  }
  const imageBuilds: Record<string, ResolvedBuild> = {};
  for (const [name, build] of Object.entries(spec.images)) {
    const resolved = await resolveBuild(dir, build, `images.${name}`, problems);
    if (resolved) imageBuilds[name] = resolved;
  }

  let deploymentTemplate = '';
  const template = await resolveInside(dir, dir, spec.deployment.template, 'file');
  if (!template.ok) {
    problems.push({
      file: LESSON_FILE,
      field: 'deployment.template',
      message: `"${spec.deployment.template}" ${template.message}`,
    });
  } else {
    deploymentTemplate = await readBounded(template.path);
    const templateFile = relative(dir, template.path).split(sep).join('/');
    const rendered = renderTemplate(deploymentTemplate, sampleValues(spec));
    if (!rendered.ok) {
      for (const problem of rendered.problems) problems.push({ file: templateFile, ...problem });
    }
  }
  if (problems.length > 0 || !defaultBuild) throw invalid(dir, problems);
  return {
    id: spec.id,
    spec,
    dir,
    builds: { default: defaultBuild, variants: variantBuilds, images: imageBuilds },
    deploymentTemplate,
    source: options.source ?? 'dir',
  };
}

function sampleValues(spec: LessonSpec) {
  const labels = { app: spec.deployment.name, 'labbot.dev/lab': '000000000000' };
  return {
    name: spec.deployment.name,
    image: `labbot/${spec.id}:0000000000000000`,
    replicas: spec.deployment.replicas,
    labels,
    selectorLabels: labels,
    lessonId: spec.id,
  };
}

export interface LoadLessonsOptions {
  /** The built-in lessons (default: this package's lessons/ folder). */
  builtInDir?: string;
  /** An operator's own lessons folder, added to the built-ins. */
  extraDir?: string;
  /** Skip invalid lessons (reported in `problems`) instead of throwing. Default false. */
  skipInvalid?: boolean;
}

export interface LessonCatalog {
  lessons: readonly Lesson[];
  /** The lessons that failed to load (only with skipInvalid). */
  problems: readonly LabbotError[];
  /** The lesson with this id; throws LabbotError LESSON_NOT_FOUND with a learner-safe message. */
  get(id: string): Lesson;
  find(id: string): Lesson | undefined;
  ids(): string[];
}

async function lessonFolders(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true });
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => join(root, entry.name))
    .sort();
}

/** Loads every lesson under the built-in folder and the optional extra folder (`<dir>/<id>/lesson.yaml`). */
export async function loadLessons(options: LoadLessonsOptions = {}): Promise<LessonCatalog> {
  const lessons = new Map<string, Lesson>();
  const problems: LabbotError[] = [];
  const roots: [string, Lesson['source']][] = [[options.builtInDir ?? builtInLessonsDir(), 'built-in']];
  if (options.extraDir) roots.push([options.extraDir, 'extra']);
  for (const [root, source] of roots) {
    if (!(await isDirectory(root))) {
      throw new LabbotError('LESSON_INVALID', `lessons folder ${root} does not exist`, {
        userMessage: 'The lessons folder is missing; ask an operator to check the configuration.',
        context: { root },
      });
    }
    for (const folder of await lessonFolders(root)) {
      try {
        const lesson = await loadLesson(folder, { source });
        const existing = lessons.get(lesson.id);
        if (existing) {
          throw invalid(lesson.dir, [
            {
              file: LESSON_FILE,
              field: 'id',
              message: `"${lesson.id}" is already used by the lesson in ${existing.dir}`,
            },
          ]);
        }
        lessons.set(lesson.id, lesson);
      } catch (error) {
        if (!options.skipInvalid || !(error instanceof LabbotError)) throw error;
        problems.push(error);
      }
    }
  }
  return createCatalog([...lessons.values()], problems);
}

function createCatalog(lessons: Lesson[], problems: LabbotError[]): LessonCatalog {
  const byId = new Map(lessons.map((lesson) => [lesson.id, lesson]));
  return {
    lessons,
    problems,
    find: (id) => byId.get(id),
    ids: () => [...byId.keys()].sort(),
    get(id) {
      const lesson = byId.get(id);
      if (!lesson) {
        const known = [...byId.keys()].sort().join(', ');
        throw new LabbotError('LESSON_NOT_FOUND', `no lesson ${JSON.stringify(id)}`, {
          userMessage: `There is no lesson "${id.slice(0, 63)}".${known ? ` Lessons: ${known}.` : ''}`,
          context: { lessonId: id },
        });
      }
      return lesson;
    },
  };
}

let builtIns: Promise<LessonCatalog> | undefined;

/** A built-in lesson by id (the built-in catalog is loaded once per process). */
export async function getLesson(id: string): Promise<Lesson> {
  builtIns ??= loadLessons();
  try {
    return (await builtIns).get(id);
  } catch (error) {
    if (!(error instanceof LabbotError)) builtIns = undefined; // an I/O failure: try again next time
    throw error;
  }
}

export interface BuildSpecOptions {
  /** The base image (LABBOT_BASE_IMAGE); default labbot/busybox:1. A lesson's own BASE_IMAGE arg wins. */
  baseImage?: string;
}

/** What to build for a lesson or one of its variants: context, Dockerfile, args (with BASE_IMAGE), network. */
export function buildSpecFor(lesson: Lesson, variant?: string, options: BuildSpecOptions = {}): ResolvedBuild {
  const build = variant === undefined ? lesson.builds.default : lesson.builds.variants[variant];
  if (!build) throw unknownVariant(lesson, variant ?? '');
  return { ...build, args: { [BASE_IMAGE_BUILD_ARG]: options.baseImage ?? DEFAULT_BASE_IMAGE, ...build.args } };
}

/** The lesson's extra images (`images:`), each with what to build; the lab builds them next to its own. */
export function extraImageBuildsFor(
  lesson: Lesson,
  options: BuildSpecOptions = {},
): { name: string; build: ResolvedBuild }[] {
  return Object.entries(lesson.builds.images ?? {}).map(([name, build]) => ({
    name,
    build: { ...build, args: { [BASE_IMAGE_BUILD_ARG]: options.baseImage ?? DEFAULT_BASE_IMAGE, ...build.args } },
  }));
}

/** The name a learner writes for a lesson image in `/lab apply`: `<lesson id>:<short name>`. */
export function labImageName(lesson: Pick<Lesson, 'id'>, shortName: string): string {
  return `${lesson.id}:${shortName}`;
}

/** The run settings of the Docker step for a lesson or one of its variants. */
export function runSpecFor(lesson: Lesson, variant?: string): LessonRunSpec {
  if (variant === undefined) return lesson.spec.run;
  const spec = lesson.spec.variants[variant];
  if (!spec) throw unknownVariant(lesson, variant);
  return spec.run ?? lesson.spec.run;
}

function unknownVariant(lesson: Lesson, variant: string): LabbotError {
  const known = Object.keys(lesson.spec.variants).join(', ') || 'none';
  return new LabbotError(
    'LESSON_VARIANT_NOT_FOUND',
    `lesson ${lesson.id} has no variant ${JSON.stringify(variant)} (variants: ${known})`,
    {
      userMessage: `The lesson "${lesson.id}" has no variant "${variant.slice(0, 63)}" (variants: ${known}).`,
      context: { lessonId: lesson.id, variant },
    },
  );
}

export interface RenderDeploymentOptions {
  /** The image reference to run (tag from the builder). */
  image: string;
  /** Labels for the Deployment and its pods (e.g. labbot.dev/lab); app=<name> is added. */
  labels?: Record<string, string>;
  /** Labels for the selector (stable for the lab's life); app=<name> is added. Also added to `labels`. */
  selectorLabels?: Record<string, string>;
  /** Overrides the lesson's replica count. */
  replicas?: number;
}

/** Renders the lesson's deployment template to YAML text and a parsed manifest (validated). */
export function renderDeployment(
  lesson: Lesson,
  options: RenderDeploymentOptions,
): { yaml: string; manifest: RenderedDeployment } {
  const name = lesson.spec.deployment.name;
  const selectorLabels = { ...options.selectorLabels, app: name };
  const labels = { ...options.labels, ...selectorLabels };
  const result = renderTemplate(lesson.deploymentTemplate, {
    name,
    image: options.image,
    replicas: options.replicas ?? lesson.spec.deployment.replicas,
    labels,
    selectorLabels,
    lessonId: lesson.id,
  });
  if (!result.ok) {
    throw invalid(
      lesson.dir,
      result.problems.map((problem) => ({ file: lesson.spec.deployment.template, ...problem })),
    );
  }
  return { yaml: result.yaml, manifest: result.manifest };
}
