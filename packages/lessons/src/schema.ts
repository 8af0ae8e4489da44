import { LessonIdSchema } from '@labbot/core';
import { z } from 'zod';
import {
  LearnerBuiltCheckFields,
  LearnerDeployedCheckFields,
  ManifestGeneratedCheckFields,
} from './checks/learner-steps.js';
import { RolledBackCheckFields } from './checks/rolled-back.js';
import { RolledOutCheckFields } from './checks/rolled-out.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Kubernetes object name used in a lesson (a DNS-1123 label: lowercase letters, digits, dashes, ≤ 63). */
export const ObjectNameSchema = z.string().regex(DNS1123_LABEL, {
  message: 'must be lowercase letters, digits and dashes, starting and ending with a letter or digit (at most 63)',
});

/** A path inside the lesson folder: relative, forward slashes, no "..". Checked again on disk by the loader. */
export const LessonPathSchema = z
  .string()
  .min(1, { message: 'must not be empty' })
  .max(256)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:/.test(p) && !p.startsWith('\\'), {
    message: 'must be a path relative to the lesson folder, not an absolute path',
  })
  .refine((p) => !p.split(/[\\/]/).includes('..'), {
    message: 'must not contain ".." (it would leave the lesson folder)',
  });

const CPU_QUANTITY = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY_QUANTITY = /^\d+(Ki|Mi|Gi|k|M|G)?$/;
const cpu = z.string().regex(CPU_QUANTITY, { message: 'must be a CPU quantity such as "500m" or "1"' });
const memory = z.string().regex(MEMORY_QUANTITY, { message: 'must be a memory quantity such as "256Mi" or "1Gi"' });

/** The name of the build argument that carries the base image (default labbot/busybox:1, offline). */
export const BASE_IMAGE_BUILD_ARG = 'BASE_IMAGE';
export const DEFAULT_BASE_IMAGE = 'labbot/busybox:1';

export const LessonBuildSchema = z.strictObject({
  /** The build context, relative to the lesson folder. */
  context: LessonPathSchema.default('.').describe('The build context, relative to the lesson folder.'),
  /** The Dockerfile, relative to the build context (it must be inside it). */
  dockerfile: LessonPathSchema.default('Dockerfile').describe(
    'The Dockerfile, relative to the build context (it must be inside it).',
  ),
  /** Whether build steps may reach the network (off by default; a sandbox has none anyway). */
  network: z
    .boolean()
    .default(false)
    .describe('Whether build steps may reach the network (off by default; a sandbox has none anyway).'),
  /** Build arguments; BASE_IMAGE is set by labbot from configuration unless given here. */
  args: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().max(1024))
    .default({})
    .describe('Build arguments; BASE_IMAGE is set by labbot from configuration unless given here.'),
});

export const LessonRunSchema = z.strictObject({
  /** The command of the one-off container of the Docker step (the image's CMD when absent). */
  command: z
    .array(z.string().max(1024))
    .min(1)
    .max(64)
    .optional()
    .describe("The command of the one-off container of the Docker step (the image's CMD when absent)."),
  /** Text the Docker step's output must contain for the step to count as done. */
  expectOutput: z
    .string()
    .min(1)
    .max(1000)
    .optional()
    .describe("Text the Docker step's output must contain for the step to count as done."),
  /** How long the one-off container may run. */
  timeoutSeconds: z.number().int().min(1).max(300).default(30).describe('How long the one-off container may run.'),
});

export const LessonDeploymentSchema = z.strictObject({
  /** The Deployment template file, relative to the lesson folder. */
  template: LessonPathSchema.default('deployment.yaml').describe(
    'The Deployment template file, relative to the lesson folder.',
  ),
  /** The Deployment's name (also the `app` label). */
  name: ObjectNameSchema.describe("The Deployment's name (also the `app` label)."),
  replicas: z.number().int().min(1).max(10).default(3),
  /** Whether the containers may run with a read-only root filesystem. */
  readOnlyRootFilesystem: z
    .boolean()
    .default(false)
    .describe('Whether the containers may run with a read-only root filesystem.'),
});

const checkBase = {
  /** A short title shown next to ✅/❌ (a default is made from the check when absent). */
  name: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('A short title shown next to ✅/❌ (a default is made from the check when absent).'),
  /** Shown to the learner when the check fails. */
  hint: z.string().min(1).max(1000).describe('Shown to the learner when the check fails.'),
};

export const CHECK_KINDS = [
  'podsReady',
  'containerOutput',
  'selfHeals',
  'replicas',
  'rolledOut',
  'rolledBack',
  'learnerBuilt',
  'manifestGenerated',
  'learnerDeployed',
] as const;

export const LessonCheckSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('podsReady'),
    deployment: ObjectNameSchema,
    count: z.number().int().min(1).max(10),
    ...checkBase,
  }),
  z.strictObject({ kind: z.literal('containerOutput'), contains: z.string().min(1).max(1000), ...checkBase }),
  z.strictObject({ kind: z.literal('selfHeals'), deployment: ObjectNameSchema.optional(), ...checkBase }),
  z.strictObject({
    kind: z.literal('replicas'),
    deployment: ObjectNameSchema.optional(),
    count: z.number().int().min(0).max(10),
    ...checkBase,
  }),
  z.strictObject({ ...RolledOutCheckFields, deployment: ObjectNameSchema.optional(), ...checkBase }),
  z.strictObject({ ...RolledBackCheckFields, deployment: ObjectNameSchema.optional(), ...checkBase }),
  z.strictObject({ ...LearnerBuiltCheckFields, ...checkBase }),
  z.strictObject({ ...ManifestGeneratedCheckFields, ...checkBase }),
  z.strictObject({ ...LearnerDeployedCheckFields, ...checkBase }),
]);
export type LessonCheck = z.infer<typeof LessonCheckSchema>;

export const LessonLimitsSchema = z.strictObject({
  /** CPU for the whole lab namespace (ResourceQuota), e.g. "1". */
  cpu: cpu.default('1').describe('CPU for the whole lab namespace (ResourceQuota), e.g. "1".'),
  /** Memory for the whole lab namespace (ResourceQuota), e.g. "512Mi". */
  memory: memory.default('512Mi').describe('Memory for the whole lab namespace (ResourceQuota), e.g. "512Mi".'),
  /** Pods the namespace may hold: leave room above the replicas for a rolling-update surge pod. */
  pods: z
    .number()
    .int()
    .min(1)
    .max(30)
    .default(6)
    .describe('Pods the namespace may hold: leave room above the replicas for a rolling-update surge pod.'),
  /** Default CPU limit of one container (LimitRange). */
  containerCpu: cpu.default('100m').describe('Default CPU limit of one container (LimitRange).'),
  /** Default memory limit of one container (LimitRange). */
  containerMemory: memory.default('64Mi').describe('Default memory limit of one container (LimitRange).'),
  /** How long a lab lives before it is torn down. */
  ttlMinutes: z
    .number()
    .int()
    .min(5)
    .max(24 * 60)
    .default(60),
});

export const STEP_MOMENTS = [
  'start',
  'image-ready',
  'container-output',
  'deployment-applied',
  'ready',
  'diagnosis',
  'check',
] as const;

export const LessonStepSchema = z.strictObject({
  id: ObjectNameSchema,
  title: z.string().min(1).max(200),
  /** What the learner reads (markdown-ish plain text, at most 4000 characters: one chat message). */
  text: z
    .string()
    .min(1)
    .max(4000)
    .describe('What the learner reads (markdown-ish plain text, at most 4000 characters: one chat message).'),
  /** When the chat shows this step: on which lab event. */
  shownAt: z.enum(STEP_MOMENTS).optional().describe('When the chat shows this step: on which lab event.'),
});

export const LessonVariantSchema = z.strictObject({
  description: z.string().min(1).max(1000),
  /** Replaces the lesson's build (its own context folder keeps the image hash apart). */
  build: LessonBuildSchema.optional().describe(
    "Replaces the lesson's build (its own context folder keeps the image hash apart).",
  ),
  /** Replaces the lesson's run settings. */
  run: LessonRunSchema.optional().describe("Replaces the lesson's run settings."),
  /** What a lab of this variant is expected to end in (for tests and the teaching text). */
  expect: z
    .strictObject({
      ready: z.boolean().optional(),
      diagnosis: z.string().min(1).max(64).optional(),
    })
    .optional(),
});

/** The learner writes the Dockerfile (`/lab build`): which base images FROM may name, and who deploys. */
export const LessonLearnerBuildSchema = z.strictObject({
  /** Images a learner's FROM may name; empty means the offline base image labbot is configured with. */
  baseImages: z
    .array(
      z
        .string()
        .min(1)
        .max(256)
        .regex(/^[a-z0-9][a-z0-9._/:@-]*$/),
    )
    .max(10)
    .default([])
    .describe("Images a learner's FROM may name; empty means the offline base image labbot is configured with."),
  /**
   * The learner builds and deploys (with /lab build and /lab apply): labbot makes the namespace and waits
   * for their pods, without building or deploying the lesson's own image.
   */
  learnerDeploys: z
    .boolean()
    .default(false)
    .describe('The learner builds and deploys: labbot makes the namespace and waits for their pods.'),
});

/** lesson.yaml */
export const LessonSpecSchema = z
  .strictObject({
    id: LessonIdSchema,
    title: z.string().min(1).max(200),
    summary: z.string().min(1).max(1000),
    steps: z.array(LessonStepSchema).min(1).max(20),
    build: LessonBuildSchema.prefault({}),
    run: LessonRunSchema.prefault({}),
    deployment: LessonDeploymentSchema,
    /** The short name of the lesson's own image: learners write `<lesson id>:<imageName>` in `/lab apply`. */
    imageName: ObjectNameSchema.default('latest').describe(
      "The short name of the lesson's own image: learners write `<lesson id>:<imageName>` in `/lab apply`.",
    ),
    /** More images built with every lab of the lesson (once per content), e.g. a v2 for a rolling update. */
    images: z
      .record(ObjectNameSchema, LessonBuildSchema)
      .default({})
      .describe('More images built with every lab of the lesson (once per content), e.g. a v2 for a rolling update.'),
    variants: z.record(ObjectNameSchema, LessonVariantSchema).default({}),
    checks: z.array(LessonCheckSchema).max(20).default([]),
    limits: LessonLimitsSchema.prefault({}),
    /** Learners may build their own Dockerfile in this lesson's labs (`/lab build`). */
    learnerBuild: LessonLearnerBuildSchema.optional().describe(
      "Learners may build their own Dockerfile in this lesson's labs (/lab build).",
    ),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    spec.steps.forEach((step, index) => {
      if (seen.has(step.id))
        ctx.addIssue({ code: 'custom', path: ['steps', index, 'id'], message: `"${step.id}" is used by two steps` });
      seen.add(step.id);
    });
    spec.checks.forEach((check, index) => {
      if ('deployment' in check && check.deployment !== undefined && check.deployment !== spec.deployment.name) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', index, 'deployment'],
          message: `"${check.deployment}" is not the lesson's deployment "${spec.deployment.name}"`,
        });
      }
    });
    spec.checks.forEach((check, index) => {
      if (
        (check.kind === 'learnerBuilt' || check.kind === 'manifestGenerated' || check.kind === 'learnerDeployed') &&
        !spec.learnerBuild
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', index, 'kind'],
          message: `"${check.kind}" checks what the learner builds and deploys: the lesson needs a learnerBuild section`,
        });
      }
    });
    if (spec.imageName in spec.images) {
      ctx.addIssue({
        code: 'custom',
        path: ['images', spec.imageName],
        message: `"${spec.imageName}" is the lesson's own image (imageName); give this image another name`,
      });
    }
    spec.checks.forEach((check, index) => {
      if (
        (check.kind === 'rolledOut' || check.kind === 'rolledBack') &&
        check.image !== spec.imageName &&
        !(check.image in spec.images)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', index, 'image'],
          message: `"${check.image}" is not an image of the lesson (${[spec.imageName, ...Object.keys(spec.images)].join(', ')})`,
        });
      }
    });
    if (spec.limits.pods < spec.deployment.replicas + 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['limits', 'pods'],
        message: `must be at least ${spec.deployment.replicas + 1}: the ${spec.deployment.replicas} replicas plus one pod for a rolling update`,
      });
    }
  });
export type LessonSpec = z.infer<typeof LessonSpecSchema>;
export type LessonBuildSpec = z.infer<typeof LessonBuildSchema>;
export type LessonRunSpec = z.infer<typeof LessonRunSchema>;

/** The JSON Schema of lesson.yaml (for editors), generated from the zod schema. */
export function lessonJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(LessonSpecSchema, { io: 'input', unrepresentable: 'any' });
  return {
    ...schema,
    $id: 'https://labbot.dev/schemas/lesson.json',
    title: 'labbot lesson (lesson.yaml)',
  };
}
