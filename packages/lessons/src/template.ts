import { parseDocument, stringify } from 'yaml';
import { z } from 'zod';

/** Placeholders a deployment template may use, written `{{name}}` (spaces inside the braces are fine). */
export const TEMPLATE_PLACEHOLDERS = ['name', 'image', 'replicas', 'labels', 'selectorLabels', 'lessonId'] as const;

/** `{{key}}`, also written `{{ key }}`, `"{{key}}"` or (as a YAML formatter leaves it) `{ { key } }`. */
const PLACEHOLDER = /(["']?)\{\s*\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\s*\}\1/g;
/** A placeholder that is a whole YAML value (after "key: ", "- ", "[" or ","), in any of the forms above. */
const WHOLE_VALUE_PLACEHOLDER =
  /(^\s*-\s+|:\s+|[[,]\s*)(["']?)\{\s*\{\s*([A-Za-z][A-Za-z0-9]*)\s*\}\s*\}\2(?=\s*(?:#.*)?$|\s*[,\]}])/g;
/** A placeholder inside a string scalar after normalizing. */
const INNER_PLACEHOLDER = /\{\{([A-Za-z][A-Za-z0-9]*)\}\}/g;

export interface DeploymentTemplateValues {
  name: string;
  image: string;
  replicas: number;
  /** All labels of the pods and the Deployment (app=<name> is always included). */
  labels: Record<string, string>;
  /** The labels of the selector: a stable subset of `labels`. */
  selectorLabels: Record<string, string>;
  lessonId: string;
}

/** The parts of a rendered Deployment that labbot relies on; the rest is passed through untouched. */
const RenderedDeploymentSchema = z.looseObject({
  apiVersion: z.literal('apps/v1'),
  kind: z.literal('Deployment'),
  metadata: z.looseObject({
    name: z.string(),
  }),
  spec: z.looseObject({
    replicas: z.number().int(),
    selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()) }),
    template: z.looseObject({
      metadata: z.looseObject({ labels: z.record(z.string(), z.string()) }),
      spec: z.looseObject({
        containers: z.array(z.looseObject({ name: z.string(), image: z.string() })).min(1),
      }),
    }),
  }),
});

export type RenderedDeployment = z.infer<typeof RenderedDeploymentSchema>;

export interface TemplateProblem {
  field: string;
  message: string;
}

/** Placeholders used in a template that labbot does not know, with their line numbers. */
export function unknownPlaceholders(template: string): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  template.split('\n').forEach((line, index) => {
    if (line.trimStart().startsWith('#')) return; // a comment may mention placeholders freely
    for (const match of line.matchAll(PLACEHOLDER)) {
      const key = match[2] ?? '';
      if (!(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(key)) {
        problems.push({
          field: `line ${index + 1}`,
          message: `unknown placeholder {{${key}}}; use ${TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        });
      }
    }
  });
  return problems;
}

/** Rewrites every placeholder form to one quoted string `"{{key}}"`, so the template parses as YAML. */
function normalizePlaceholders(template: string): string {
  return template
    .split('\n')
    .map((line) =>
      line.trimStart().startsWith('#')
        ? line
        : line.replace(WHOLE_VALUE_PLACEHOLDER, (_all, prefix: string, _q, key: string) => `${prefix}"{{${key}}}"`),
    )
    .join('\n');
}

function placeholderValue(key: string, values: DeploymentTemplateValues): unknown {
  switch (key) {
    case 'name':
    case 'image':
    case 'lessonId':
    case 'replicas':
    case 'labels':
    case 'selectorLabels':
      return values[key];
    default:
      return undefined;
  }
}

/**
 * Fills placeholders in the parsed YAML tree (never in the text): a value can never change the
 * structure around it. A scalar that is exactly one placeholder takes the value's type (number,
 * mapping); a placeholder inside a longer string is written into the string.
 */
function fill(node: unknown, values: DeploymentTemplateValues, path: string, problems: TemplateProblem[]): unknown {
  if (typeof node === 'string') {
    const whole = /^\{\{([A-Za-z][A-Za-z0-9]*)\}\}$/.exec(node);
    if (whole) return placeholderValue(whole[1] ?? '', values);
    return node.replace(INNER_PLACEHOLDER, (all, key: string) => {
      const value = placeholderValue(key, values);
      if (typeof value === 'string' || typeof value === 'number') return String(value);
      problems.push({ field: path, message: `{{${key}}} must be the whole value, not part of a text` });
      return all;
    });
  }
  if (Array.isArray(node)) return node.map((item, index) => fill(item, values, `${path}[${index}]`, problems));
  if (node !== null && typeof node === 'object') {
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [key, fill(value, values, path ? `${path}.${key}` : key, problems)]),
    );
  }
  return node;
}

/** Dangerous pod settings a lesson template may not use (the namespace's Pod Security would refuse them anyway). */
function forbiddenPodSettings(manifest: RenderedDeployment): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const pod = manifest.spec.template.spec as Record<string, unknown>;
  for (const key of ['hostNetwork', 'hostPID', 'hostIPC', 'nodeName', 'serviceAccountName']) {
    if (pod[key] !== undefined)
      problems.push({ field: `spec.template.spec.${key}`, message: 'is not allowed in a lesson' });
  }
  const volumes = Array.isArray(pod['volumes']) ? (pod['volumes'] as unknown[]) : [];
  volumes.forEach((volume, index) => {
    if (volume !== null && typeof volume === 'object' && 'hostPath' in volume) {
      problems.push({ field: `spec.template.spec.volumes[${index}].hostPath`, message: 'is not allowed in a lesson' });
    }
  });
  manifest.spec.template.spec.containers.forEach((container, index) => {
    const security = container['securityContext'];
    if (
      security !== null &&
      typeof security === 'object' &&
      (security as Record<string, unknown>)['privileged'] === true
    ) {
      problems.push({
        field: `spec.template.spec.containers[${index}].securityContext.privileged`,
        message: 'is not allowed in a lesson',
      });
    }
  });
  return problems;
}

export type RenderResult =
  | { ok: true; yaml: string; manifest: RenderedDeployment }
  | { ok: false; problems: TemplateProblem[] };

/** Renders a deployment template and checks that the result is a Deployment labbot can manage. */
export function renderTemplate(template: string, values: DeploymentTemplateValues): RenderResult {
  const unknown = unknownPlaceholders(template);
  if (unknown.length > 0) return { ok: false, problems: unknown };
  const document = parseDocument(normalizePlaceholders(template), { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    return {
      ok: false,
      problems: document.errors.slice(0, 5).map((error) => ({
        field: error.linePos ? `line ${error.linePos[0].line}` : '',
        message: `is not valid YAML: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
      })),
    };
  }
  const fillProblems: TemplateProblem[] = [];
  const filled = fill(document.toJS(), values, '', fillProblems);
  if (fillProblems.length > 0) return { ok: false, problems: fillProblems };
  const parsed = RenderedDeploymentSchema.safeParse(filled, { reportInput: true });
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({
        field: issue.path.map(String).join('.'),
        message:
          issue.code === 'invalid_type' && issue.input === undefined
            ? 'is missing'
            : issue.message.replace(/^Invalid input: /, ''),
      })),
    };
  }
  const manifest = parsed.data;
  const problems = forbiddenPodSettings(manifest);
  if (manifest.metadata['namespace'] !== undefined) {
    problems.push({ field: 'metadata.namespace', message: 'must not be set (labbot puts it in the lab namespace)' });
  }
  if (manifest.metadata.name !== values.name) {
    problems.push({
      field: 'metadata.name',
      message: `must be {{name}} (the lesson's deployment name "${values.name}")`,
    });
  }
  if (manifest.spec.replicas !== values.replicas) {
    problems.push({ field: 'spec.replicas', message: 'must be {{replicas}}' });
  }
  if (!manifest.spec.template.spec.containers.some((c) => c.image === values.image)) {
    problems.push({ field: 'spec.template.spec.containers', message: 'one container must use image {{image}}' });
  }
  const podLabels = manifest.spec.template.metadata.labels;
  for (const [key, value] of Object.entries(manifest.spec.selector.matchLabels)) {
    if (podLabels[key] !== value) {
      problems.push({
        field: 'spec.selector.matchLabels',
        message: `selects ${key}=${value} but the pod template has no such label (use {{selectorLabels}} and {{labels}})`,
      });
    }
  }
  for (const [key, value] of Object.entries(values.selectorLabels)) {
    if (manifest.spec.selector.matchLabels[key] !== value) {
      problems.push({
        field: 'spec.selector.matchLabels',
        message: `must include ${key}=${value} (use {{selectorLabels}})`,
      });
    }
  }
  for (const [key, value] of Object.entries(values.labels)) {
    if (podLabels[key] !== value) {
      problems.push({
        field: 'spec.template.metadata.labels',
        message: `must include ${key}=${value} (use {{labels}})`,
      });
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, yaml: stringify(manifest), manifest };
}
