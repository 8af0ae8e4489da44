import { KubectlCommandSchema, LabbotError, LabIdSchema } from '@labbot/core';
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { handleRedisErrors, openConnection, type QueueConnection } from './connection.js';
import { createLabbotWorker, type LabbotWorker, type WorkerBaseOptions } from './workers.js';

/** A learner's kubectl command travels to the runner (the only process with cluster credentials) and back. */
export const KUBECTL_QUEUE = 'lab-kubectl';

export const KubectlJobSchema = z.object({
  labId: LabIdSchema,
  command: KubectlCommandSchema,
  /** Who typed it (for the lab's audit trail). */
  actor: z.string().min(1).max(200),
});
export type KubectlJob = z.infer<typeof KubectlJobSchema>;

export const KubectlJobResultSchema = z.object({ ok: z.boolean(), text: z.string().max(64_000) });
export type KubectlJobResult = z.infer<typeof KubectlJobResultSchema>;

export interface KubectlClientOptions {
  connection: QueueConnection;
  prefix?: string;
}

/** The chat side's end: run one command in a lab's namespace and wait for its output. */
export interface KubectlClient {
  run(job: KubectlJob, timeoutMs?: number): Promise<KubectlJobResult>;
  close(): Promise<void>;
}

export function createKubectlClient(options: KubectlClientOptions): KubectlClient {
  const connection = openConnection(options.connection, 'producer');
  const prefix = options.prefix ?? 'labbot';
  const queue = new Queue(KUBECTL_QUEUE, { connection: connection.client, prefix });
  // QueueEvents blocks on its own connection (ours to close: BullMQ leaves a given client open).
  const eventsClient = handleRedisErrors(connection.client.duplicate());
  const events = new QueueEvents(KUBECTL_QUEUE, { connection: eventsClient, prefix });
  // Redis down: requests fail and say so; the connection's own errors need a listener (else printed).
  queue.on('error', () => {});
  events.on('error', () => {});
  const eventsReady = events.waitUntilReady();
  return {
    async run(job, timeoutMs = 20_000) {
      const payload = KubectlJobSchema.parse(job);
      await eventsReady;
      const added = await queue.add('kubectl', payload, {
        attempts: 1,
        removeOnComplete: { age: 300, count: 1000 },
        removeOnFail: { age: 3600, count: 1000 },
      });
      try {
        return KubectlJobResultSchema.parse(await added.waitUntilFinished(events, timeoutMs));
      } catch (error) {
        throw new LabbotError('KUBECTL_FAILED', `kubectl for lab ${payload.labId} failed: ${String(error)}`, {
          cause: error,
          retryable: true,
          userMessage: 'The cluster did not answer in time. Please try again in a moment.',
          context: { labId: payload.labId, verb: payload.command.verb },
        });
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

export interface KubectlWorkerOptions extends WorkerBaseOptions {
  /** Runs the command in the lab's namespace; the result goes back to the waiting chat side. */
  process: (job: KubectlJob) => Promise<KubectlJobResult>;
}

export function createKubectlWorker(options: KubectlWorkerOptions): LabbotWorker {
  const { process, ...rest } = options;
  return createLabbotWorker({
    ...rest,
    queueName: KUBECTL_QUEUE,
    schema: KubectlJobSchema,
    process: (job) => process(job),
  });
}
