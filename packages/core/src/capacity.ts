import { z } from 'zod';

/** Pods, CPU (millicores) and memory (bytes): what the scheduler counts on a node. */
export const ResourceAmountSchema = z.object({
  pods: z.number().int().min(0),
  cpuMillicores: z.number().int().min(0),
  memoryBytes: z.number().int().min(0),
});
export type ResourceAmount = z.infer<typeof ResourceAmountSchema>;

/**
 * What the runner last saw of the cluster (the chat side holds no cluster credentials): the room its
 * schedulable nodes have left, and what one lab of each lesson requests once its guard rails apply.
 */
export const CapacityReportSchema = z.object({
  observedAt: z.string().min(1),
  /** Schedulable, Ready nodes counted. */
  nodes: z.number().int().min(0),
  /** The nodes' `status.allocatable`, summed. */
  allocatable: ResourceAmountSchema,
  /** Allocatable minus what pods already scheduled there request. */
  free: ResourceAmountSchema,
  /** One lab's requests per lesson id (its replicas × the requests its LimitRange gives each pod). */
  labs: z.record(z.string().min(1).max(64), ResourceAmountSchema),
});
export type CapacityReport = z.infer<typeof CapacityReportSchema>;

/** A report older than this says nothing about the cluster now (no runner is publishing). */
export const CAPACITY_REPORT_MAX_AGE_MS = 5 * 60_000;

/** Above this share of the free room a class starts with a warning. */
export const CAPACITY_WARN_SHARE = 0.8;

export type CapacityVerdict =
  | { outcome: 'fits'; share: number }
  | { outcome: 'close'; share: number; sentence: string }
  | { outcome: 'refused'; sentence: string; fitsLearners: number }
  | { outcome: 'unknown'; reason: string };

const UNITS: Record<keyof ResourceAmount, { name: string; show: (value: number) => string }> = {
  pods: { name: 'pods', show: (value) => `${value} pods` },
  cpuMillicores: {
    name: 'CPU',
    show: (value) => (value % 1000 === 0 ? `${value / 1000} CPU` : `${(value / 1000).toFixed(1)} CPU`),
  },
  memoryBytes: {
    name: 'memory',
    show: (value) =>
      value >= 2 ** 30
        ? `${(value / 2 ** 30).toFixed(1)} GiB of memory`
        : `${Math.ceil(value / 2 ** 20)} MiB of memory`,
  },
};

const RESOURCES = ['pods', 'cpuMillicores', 'memoryBytes'] as const;

export interface ClassCapacityInput {
  lessonId: string;
  maxLearners: number;
  report: CapacityReport | undefined;
  now: Date;
}

/**
 * Whether a class of `maxLearners` labs of a lesson fits in the room the cluster reported: refused, with
 * one plain sentence and the class size that would fit, when a resource runs out; a warning above 80%.
 */
export function judgeClassCapacity(input: ClassCapacityInput): CapacityVerdict {
  const { report } = input;
  if (!report) return { outcome: 'unknown', reason: 'no capacity report from a runner yet' };
  const age = input.now.getTime() - Date.parse(report.observedAt);
  if (!(age <= CAPACITY_REPORT_MAX_AGE_MS))
    return { outcome: 'unknown', reason: `the capacity report is ${Math.round(age / 1000)} s old` };
  const perLab = report.labs[input.lessonId];
  if (!perLab) return { outcome: 'unknown', reason: `no figures for lesson ${input.lessonId}` };
  let worst: { resource: keyof ResourceAmount; share: number; need: number; free: number } | undefined;
  let fitsLearners = input.maxLearners;
  for (const resource of RESOURCES) {
    const need = perLab[resource] * input.maxLearners;
    if (need === 0) continue;
    const free = report.free[resource];
    const share = free > 0 ? need / free : Number.POSITIVE_INFINITY;
    if (!worst || share > worst.share) worst = { resource, share, need, free };
    fitsLearners = Math.min(fitsLearners, Math.floor(free / perLab[resource]));
  }
  if (!worst) return { outcome: 'fits', share: 0 };
  const unit = UNITS[worst.resource];
  if (worst.share > 1) {
    const lower =
      fitsLearners >= 1 ? `lower max learners to ${fitsLearners} or add nodes` : 'end other labs or add nodes';
    const what = worst.resource === 'pods' ? 'room for' : 'only';
    const more = worst.resource === 'pods' ? ` ${worst.free} more` : ` ${unit.show(worst.free)} free`;
    return {
      outcome: 'refused',
      fitsLearners: Math.max(0, fitsLearners),
      sentence: `This class needs ${unit.show(worst.need)} but the cluster has ${what}${more}: ${lower}.`,
    };
  }
  if (worst.share > CAPACITY_WARN_SHARE) {
    return {
      outcome: 'close',
      share: worst.share,
      sentence: `Close to full: this class would take ${Math.round(worst.share * 100)}% of the ${unit.name} the cluster has free (${unit.show(worst.need)} of ${unit.show(worst.free)}), so other labs may have to wait.`,
    };
  }
  return { outcome: 'fits', share: worst.share };
}
