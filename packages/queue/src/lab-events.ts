import { type LabEvent, LabEventSchema, type Platform, parseLabEvent } from '@labbot/core';
import type { Queues } from './producers.js';
import { createLabbotWorker, type JobContext, type LabbotWorker, type WorkerBaseOptions } from './workers.js';

/** LabEvents travel from the runner to the chat side of the lab's platform, one queue per platform. */
export const labEventsQueueName = (platform: Platform): string => `lab-events-${platform}`;

/** Hands one LabEvent to the chat side of `platform` (validated before it leaves). */
export async function publishLabEvent(queues: Queues, platform: Platform, event: LabEvent): Promise<void> {
  const valid = parseLabEvent(event);
  await queues.queue(labEventsQueueName(platform)).add(valid.type, valid, {
    removeOnComplete: { age: 600, count: 1000 },
    attempts: 3,
  });
}

export interface LabEventWorkerOptions extends WorkerBaseOptions {
  platform: Platform;
  /** Renders one event for the chat (e.g. updates the lab's status message through the outbox). */
  process: (event: LabEvent, context: JobContext) => Promise<void>;
}

/** The chat side's consumer of one platform's LabEvents. */
export function createLabEventWorker(options: LabEventWorkerOptions): LabbotWorker {
  const { platform, process, ...rest } = options;
  return createLabbotWorker({
    ...rest,
    queueName: labEventsQueueName(platform),
    schema: LabEventSchema,
    process: async (event, context) => {
      await process(event, context);
    },
  });
}
