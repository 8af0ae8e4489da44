import { LabbotError, LabIdSchema } from '@labbot/core';
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { handleRedisErrors, openConnection, type QueueConnection } from './connection.js';
import { createLabbotWorker, type LabbotWorker, type WorkerBaseOptions } from './workers.js';

/** A learner's Dockerfile and files travel to the runner (the only process that builds) and the result back. */
export const LEARNER_BUILD_QUEUE = 'lab-learner-build';

/** Base64 of at most ~1 MiB per file; the builder enforces the real (smaller) total. */
export const LearnerBuildFileSchema = z.object({
  path: z.string().min(1).max(300),
  contentBase64: z.string().max(1_500_000),
  mode: z.number().int().min(0).max(0o7777).optional(),
});

export const LearnerBuildJobSchema = z.object({
  labId: LabIdSchema,
  dockerfile: z.string().max(1_100_000),
  files: z.array(LearnerBuildFileSchema).max(100),
  /** Who sent it (for the lab's audit trail). */
  actor: z.string().min(1).max(200),
});
export type LearnerBuildJob = z.infer<typeof LearnerBuildJobSchema>;

export const LearnerBuildJobResultSchema = z.object({
  ok: z.boolean(),
  /** The lab's image now (when built). */
  tag: z.string().max(512).optional(),
  cached: z.boolean().optional(),
  /** The last build lines. */
  logTail: z.array(z.string().max(2000)).max(50),
  /** What the container printed when run once (when built). */
  output: z.string().max(16_000).optional(),
  exitCode: z.number().int().nullable().optional(),
  /** One learner-safe paragraph: why it was refused, or what to notice about the run. */
  message: z.string().max(4000).optional(),
});
export type LearnerBuildJobResult = z.infer<typeof LearnerBuildJobResultSchema>;

export interface LearnerBuildClientOptions {
  connection: QueueConnection;
  prefix?: string;
}

/** The chat side's end: send a learner's build and wait for the result. */
export interface LearnerBuildClient {
  submit(job: LearnerBuildJob, timeoutMs?: number): Promise<LearnerBuildJobResult>;
  close(): Promise<void>;
}

export function createLearnerBuildClient(options: LearnerBuildClientOptions): LearnerBuildClient {
  const connection = openConnection(options.connection, 'producer');
  const prefix = options.prefix ?? 'labbot';
  const queue = new Queue(LEARNER_BUILD_QUEUE, { connection: connection.client, prefix });
  const eventsClient = handleRedisErrors(connection.client.duplicate());
  const events = new QueueEvents(LEARNER_BUILD_QUEUE, { connection: eventsClient, prefix });
  // Redis down: requests fail and say so; the connection's own errors need a listener (else printed).
  queue.on('error', () => {});
  events.on('error', () => {});
  const eventsReady = events.waitUntilReady();
  return {
    async submit(job, timeoutMs = 240_000) {
      const payload = LearnerBuildJobSchema.parse(job);
      await eventsReady;
      // The files are in the payload: drop it as soon as the job is done.
      const added = await queue.add('learner-build', payload, {
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: { age: 600, count: 100 },
      });
      try {
        return LearnerBuildJobResultSchema.parse(await added.waitUntilFinished(events, timeoutMs));
      } catch (error) {
        throw new LabbotError(
          'LEARNER_BUILD_UNANSWERED',
          `learner build of lab ${payload.labId} failed: ${String(error)}`,
          {
            cause: error,
            retryable: true,
            userMessage: 'The build did not finish in time. Please try /lab build again in a moment.',
            context: { labId: payload.labId },
          },
        );
      }
    },
    async close() {
      await events.close();
      eventsClient.disconnect();
      await queue.close();
      await connection.release();
    },
  };
}

export interface LearnerBuildWorkerOptions extends WorkerBaseOptions {
  process: (job: LearnerBuildJob) => Promise<LearnerBuildJobResult>;
}

export function createLearnerBuildWorker(options: LearnerBuildWorkerOptions): LabbotWorker {
  const { process, ...rest } = options;
  return createLabbotWorker({
    ...rest,
    queueName: LEARNER_BUILD_QUEUE,
    schema: LearnerBuildJobSchema,
    process: (job) => process(job),
  });
}
