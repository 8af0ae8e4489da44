// The shapes the driver hands to the runner are @labbot/core's (validated by its zod schemas).
export type { Diagnosis, KubectlCommand, PodSummary } from '@labbot/core';
