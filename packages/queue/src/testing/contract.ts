import { randomBytes } from 'node:crypto';
import { LabbotError } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabQueues } from '../producers.js';

const isQueuePayloadError = (error: unknown) => error instanceof LabbotError && error.code === 'QUEUE_INVALID_PAYLOAD';

export interface QueuesContractHarness {
  create(): LabQueues | Promise<LabQueues>;
  cleanup?(): Promise<void>;
}

/**
 * What the bot relies on from the queues, run against the BullMQ producers on Redis
 * (`queues-contract.int.test.ts`) and the in-memory queues (`memory-queues.test.ts`).
 */
export function describeQueuesContract(name: string, harness: QueuesContractHarness): void {
  describe(`Queues contract: ${name}`, () => {
    let queues: LabQueues;
    const labId = () => randomBytes(6).toString('hex');
    const thread = () => `discord:g:c:${randomBytes(4).toString('hex')}`;

    beforeAll(async () => {
      queues = await harness.create();
    });

    afterAll(async () => {
      await harness.cleanup?.();
    });

    it('absorbs a second reconcile of a lab while one waits, and keeps other labs apart', async () => {
      const ada = labId();
      const first = await queues.enqueueReconcile(ada, 'command.start');
      const again = await queues.enqueueReconcile(ada, 'command.reset');
      const other = await queues.enqueueReconcile(labId(), 'command.start');
      expect(again.jobId).toBe(first.jobId);
      expect(other.jobId).not.toBe(first.jobId);
    });

    it('refuses a reconcile of something that is not a lab id', async () => {
      await expect(queues.enqueueReconcile('../nope', 'command.start')).rejects.toSatisfy(isQueuePayloadError);
    });

    it('numbers the items of one thread + key in order, so the newest wins', async () => {
      const threadId = thread();
      const message = { blocks: [{ kind: 'text', text: 'hi' }] };
      const one = await queues.enqueueOutbox('discord', { threadId, key: 'status', message });
      const two = await queues.enqueueOutbox('discord', { threadId, key: 'status', message });
      const other = await queues.enqueueOutbox('discord', { threadId, key: 'checks', message });
      expect(two.seq).toBeGreaterThan(one.seq);
      expect(two.jobId).toBe(one.jobId);
      expect(other.jobId).not.toBe(one.jobId);
    });

    it('refuses an outbox item with a bad key or an unknown platform', async () => {
      const message = { blocks: [] };
      await expect(
        queues.enqueueOutbox('discord', { threadId: thread(), key: 'no spaces', message }),
      ).rejects.toSatisfy(isQueuePayloadError);
      await expect(
        queues.enqueueOutbox('irc' as 'discord', { threadId: thread(), key: 'status', message }),
      ).rejects.toSatisfy(isQueuePayloadError);
    });
  });
}
