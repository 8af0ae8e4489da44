import { z } from 'zod';
import {
  LabIdSchema,
  type LabOwner,
  LabOwnerSchema,
  LessonIdSchema,
  labIdFor,
  namespaceFor,
  ThreadIdSchema,
} from './identity.js';
import { LabPhaseSchema } from './lab-machine.js';

/** An ISO-8601 timestamp with time zone, e.g. `2026-11-25T13:42:26.000Z`. */
export const IsoTimestampSchema = z.iso.datetime({ offset: true });

/** What the learner asked for. `generation` bumps on every reset, so the runner knows to start over. */
export const DesiredStateSchema = z.object({
  state: z.enum(['running', 'stopped']),
  generation: z.number().int().min(0),
});

/** The most container output a lab record keeps (the status message shows it). */
export const MAX_CONTAINER_OUTPUT_LENGTH = 16_000;

/** Cuts container output to the record's limit, keeping the start and saying how much was dropped. */
export function boundedOutput(output: string, limit = MAX_CONTAINER_OUTPUT_LENGTH): string {
  if (output.length <= limit) return output;
  const kept = Math.max(0, limit - 64); // room for the note below
  return `${output.slice(0, kept)}\n… (${output.length - kept} more characters not shown)`;
}

/** The name of a runner step (`namespace`, `build`, `run-once`, `deploy`, `pods`, `teardown`...). */
export const StepNameSchema = z.string().min(1).max(64);

/** One pod as a learner sees it in the pod table. */
export const PodSummarySchema = z.object({
  name: z.string().min(1).max(253),
  /** Kubernetes pod phase: Pending, Running, Succeeded, Failed, Unknown. */
  phase: z.string().min(1).max(32),
  ready: z.boolean(),
  readyContainers: z.number().int().min(0),
  totalContainers: z.number().int().min(0),
  restarts: z.number().int().min(0),
  startedAt: IsoTimestampSchema.optional(),
  /** Why it is not running, e.g. CrashLoopBackOff, ImagePullBackOff, ContainerCreating. */
  reason: z.string().max(128).optional(),
  message: z.string().max(2000).optional(),
  /** The image of the pod's first container (which side of a rolling update it is on). */
  image: z.string().max(512).optional(),
});
export type PodSummary = z.infer<typeof PodSummarySchema>;
export const PodSummary = PodSummarySchema;

/** A plain-language explanation of why pods are not healthy. */
export const DiagnosisSchema = z.object({
  /** A stable code such as CrashLoopBackOff, ImagePullBackOff, PendingQuota, OOMKilled, PodSecurity, BuildError. */
  reason: z.string().min(1).max(64),
  /** One plain sentence: what is happening. */
  summary: z.string().min(1).max(1000),
  /** One plain sentence: what to do or what to learn from it. */
  hint: z.string().max(1000),
  /** The pod it was seen on, when it is about one pod. */
  pod: z.string().max(253).optional(),
});
export type Diagnosis = z.infer<typeof DiagnosisSchema>;
export const Diagnosis = DiagnosisSchema;

/** Why the lab failed: a stable code, a learner-safe message and the step it failed in. */
export const LabErrorSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().min(1).max(2000),
  step: StepNameSchema,
});

export const ObservedStateSchema = z.object({
  phase: LabPhaseSchema,
  step: StepNameSchema.optional(),
  imageTag: z.string().min(1).max(512).optional(),
  containerOutput: z.string().max(MAX_CONTAINER_OUTPUT_LENGTH).optional(),
  pods: z.array(PodSummarySchema),
  diagnosis: DiagnosisSchema.optional(),
  error: LabErrorSchema.optional(),
  /** The desired generation this observation belongs to (a reset bumps the desired one). */
  generation: z.number().int().min(0).optional(),
  /** The last lines of the image build, shown in the status message. */
  buildLog: z.array(z.string().max(2000)).max(50).optional(),
  /** Whether the image came from an earlier build of the same content. */
  imageCached: z.boolean().optional(),
  /** Replicas the Deployment asks for (the "3" of "3/3 ready"). */
  desiredReplicas: z.number().int().min(0).optional(),
  /** The lab's images a learner may use in `/lab apply`: `<lesson>:<name>` → the built tag. */
  images: z.record(z.string().max(128), z.string().max(512)).optional(),
  /** When the learner was warned that the lab expires soon (set once per lab). */
  expiryWarnedAt: IsoTimestampSchema.optional(),
  /**
   * A ready warm lab's namespace (and its running pods) was handed to this lab on Join: its labels still name the
   * warm lab until the runner relabels it (then this goes), so the pod watch follows it for this lab.
   */
  handedOver: z.boolean().optional(),
});
export type ObservedState = z.infer<typeof ObservedStateSchema>;
export const ObservedState = ObservedStateSchema;

/** Everything labbot keeps about one lab. `version` bumps on every write (optimistic concurrency). */
export const LabRecordSchema = z.object({
  labId: LabIdSchema,
  owner: LabOwnerSchema,
  lessonId: LessonIdSchema,
  /** A lesson variant (e.g. `exits`, whose pods crash-loop on purpose); the lesson itself when absent. */
  variant: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/)
    .optional(),
  namespace: z.string().min(1).max(63),
  classId: z.string().min(1).max(128).optional(),
  threadId: ThreadIdSchema.optional(),
  desired: DesiredStateSchema,
  observed: ObservedStateSchema,
  createdAt: IsoTimestampSchema,
  updatedAt: IsoTimestampSchema,
  expiresAt: IsoTimestampSchema,
  version: z.number().int().min(0),
});
export type LabRecord = z.infer<typeof LabRecordSchema>;
export const LabRecord = LabRecordSchema;

export interface CreateLabRecordOptions {
  owner: LabOwner;
  lessonId: string;
  /** A variant of the lesson (same lab id: one lab per learner per lesson). */
  variant?: string;
  /** How long the lab lives before the janitor tears it down. */
  ttlMinutes: number;
  classId?: string;
  threadId?: string;
  /** The clock (a seam for tests). */
  now?: () => Date;
}

/** A new lab record: desired running (generation 0), observed pending, version 0. */
export function createLabRecord(options: CreateLabRecordOptions): LabRecord {
  const now = (options.now ?? (() => new Date()))();
  const labId = labIdFor({ ...options.owner, lessonId: options.lessonId });
  return LabRecordSchema.parse({
    labId,
    owner: options.owner,
    lessonId: options.lessonId,
    variant: options.variant,
    namespace: namespaceFor(labId),
    classId: options.classId,
    threadId: options.threadId,
    desired: { state: 'running', generation: 0 },
    observed: { phase: 'pending', pods: [] },
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMinutes * 60_000).toISOString(),
    version: 0,
  });
}
