import { setTimeout as sleep } from 'node:timers/promises';
import { createLabEvent, LabbotError, type LabEvent } from '@labbot/core';
import { waitFor } from '@labbot/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLabEventWorker, publishLabEvent } from './lab-events.js';
import { RECONCILE_QUEUE, type ReconcileJob } from './payloads.js';
import { createQueues, type Queues } from './producers.js';
import { deleteKeys, randomLabId, redisUrl, uniquePrefix, waitForIdle } from './testing/helpers.js';
import { createReconcileWorker, type JobContext, type LabbotWorker } from './workers.js';

const prefix = uniquePrefix('queues');
let redis: Redis;
let queues: Queues;
const workers: LabbotWorker[] = [];
const quiet = () => {};

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queues = createQueues({ connection: redis, prefix, backoffMs: 20 });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
});

afterAll(async () => {
  await queues.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

function reconcileWorker(process: (job: ReconcileJob, context: JobContext) => Promise<void>, concurrency = 1) {
  const worker = createReconcileWorker({ connection: redis, prefix, concurrency, process, onError: quiet });
  workers.push(worker);
  return worker;
}

describe('lab-reconcile', () => {
  it('delivers a reconcile request to the worker with its payload', async () => {
    const labId = randomLabId();
    const seen: Array<{ job: ReconcileJob; context: JobContext }> = [];
    reconcileWorker(async (job, context) => {
      seen.push({ job, context });
    });
    const { jobId } = await queues.enqueueReconcile(labId, 'command.start');
    await waitFor('the reconcile to run', () => seen.length === 1);
    expect(seen[0]?.job).toEqual({ labId, reason: 'command.start' });
    expect(seen[0]?.context).toMatchObject({ jobId, attempt: 1, attempts: 5 });
    const job = await queues.queue(RECONCILE_QUEUE).getJob(jobId);
    await waitFor('the job to complete', async () => (await job?.getState()) === 'completed');
  });

  it('absorbs a burst of 50 requests for one lab into one or two runs', async () => {
    const labId = randomLabId();
    let runs = 0;
    reconcileWorker(async () => {
      runs++;
      await sleep(300);
    }, 4);
    await Promise.all(Array.from({ length: 50 }, (_, i) => queues.enqueueReconcile(labId, `burst-${i}`)));
    await waitForIdle(queues.queue(RECONCILE_QUEUE));
    console.info(`[measure] 50 reconcile requests for one lab in a burst -> ${runs} run(s)`);
    expect(runs).toBeGreaterThanOrEqual(1);
    expect(runs).toBeLessThanOrEqual(2);
  });

  it('runs exactly once more when requests arrive while a run is in progress', async () => {
    const labId = randomLabId();
    const reasons: string[] = [];
    let release: () => void = () => {};
    const firstRunMayEnd = new Promise<void>((resolve) => {
      release = resolve;
    });
    reconcileWorker(async (job) => {
      reasons.push(job.reason);
      if (reasons.length === 1) await firstRunMayEnd;
    }, 4);
    await queues.enqueueReconcile(labId, 'first');
    await waitFor('the first run to start', () => reasons.length === 1);
    for (const reason of ['during-1', 'during-2', 'during-3']) await queues.enqueueReconcile(labId, reason);
    await sleep(200);
    expect(reasons).toEqual(['first']); // never two runs of one lab at once
    release();
    await waitForIdle(queues.queue(RECONCILE_QUEUE));
    // One more run, carrying the newest request.
    expect(reasons).toEqual(['first', 'during-3']);
  });

  it('queues a new run once the previous one has finished', async () => {
    const labId = randomLabId();
    let runs = 0;
    reconcileWorker(async () => {
      runs++;
    });
    await queues.enqueueReconcile(labId, 'one');
    await waitFor('the first run', () => runs === 1);
    await waitForIdle(queues.queue(RECONCILE_QUEUE));
    await queues.enqueueReconcile(labId, 'two');
    await waitFor('the second run', () => runs === 2);
  });

  it('retries a failing reconcile with back-off until it succeeds', async () => {
    const labId = randomLabId();
    const attempts: number[] = [];
    reconcileWorker(async (_job, context) => {
      attempts.push(context.attempt);
      if (context.attempt < 3) throw new Error('cluster not reachable yet');
    });
    const { jobId } = await queues.enqueueReconcile(labId, 'retry');
    const job = await waitFor('the job', () => queues.queue(RECONCILE_QUEUE).getJob(jobId));
    await waitFor('the job to complete', async () => (await job.getState()) === 'completed');
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('does not retry a LabbotError that says a retry cannot help', async () => {
    const labId = randomLabId();
    let runs = 0;
    reconcileWorker(async () => {
      runs++;
      throw new LabbotError('LESSON_NOT_FOUND', 'no such lesson', { retryable: false });
    });
    const { jobId } = await queues.enqueueReconcile(labId, 'doomed');
    const queue = queues.queue(RECONCILE_QUEUE);
    await waitFor(
      'the job to fail',
      async () => (await queue.getJob(jobId)?.then((job) => job?.getState())) === 'failed',
    );
    await sleep(200);
    const job = await queue.getJob(jobId);
    expect(runs).toBe(1);
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toContain('LESSON_NOT_FOUND');
  });

  it('gives up after the configured attempts of a retryable failure', async () => {
    const few = createQueues({ connection: redis, prefix, attempts: 3, backoffMs: 10 });
    try {
      let runs = 0;
      reconcileWorker(async () => {
        runs++;
        throw new LabbotError('CLUSTER_DOWN', 'cluster down', { retryable: true });
      });
      const { jobId } = await few.enqueueReconcile(randomLabId(), 'flaky');
      const queue = few.queue(RECONCILE_QUEUE);
      await waitFor('the job to fail', async () => (await (await queue.getJob(jobId))?.getState()) === 'failed');
      expect(runs).toBe(3);
    } finally {
      await few.close();
    }
  });

  describe('lock renewal', () => {
    /** A worker with 400 ms locks (renewed every 100 ms or so) that keeps what it reports as errors. */
    function renewingWorker(process: (job: ReconcileJob, context: JobContext) => Promise<void>) {
      const errors: string[] = [];
      const worker = createReconcileWorker({
        connection: redis,
        prefix,
        lockDurationMs: 400,
        process,
        onError: (error) => errors.push(error.message),
      });
      workers.push(worker);
      return errors;
    }

    it('does not report the lock of a job it put back itself (a lab waiting for a slot) as lost', async () => {
      let runs = 0;
      const errors = renewingWorker(async (_job, context) => {
        runs++;
        if (runs > 1) return;
        const putBack = await context.later(100);
        // Still running after the move, as when the extender picked the job just before it: it tries to renew a lock
        // the move released.
        await sleep(600);
        throw putBack;
      });
      const { jobId } = await queues.enqueueReconcile(randomLabId(), 'slot-wait');
      const job = await waitFor('the job', () => queues.queue(RECONCILE_QUEUE).getJob(jobId));
      await waitFor('the job to complete', async () => (await job.getState()) === 'completed');
      expect(runs).toBe(2);
      expect(errors).toEqual([]);
    });

    it('still reports a lock that was lost while the job ran', async () => {
      let running = false;
      const errors = renewingWorker(async () => {
        running = true;
        await sleep(600);
      });
      const { jobId } = await queues.enqueueReconcile(randomLabId(), 'lost-lock');
      await waitFor('the job to run', () => running);
      // Another worker's takeover, or Redis losing the key: the lock is gone while this worker still runs the job.
      await redis.del(`${prefix}:${RECONCILE_QUEUE}:${jobId}:lock`);
      await waitFor('the lost lock to be reported', () => errors.includes(`could not renew lock for job ${jobId}`));
    });
  });

  describe('wake', () => {
    /** A reconcile whose first run puts itself back for a minute (a class lab waiting for a slot); counts its runs. */
    async function putBackForAMinute() {
      const labId = randomLabId();
      let runs = 0;
      reconcileWorker(async (job, context) => {
        if (job.labId !== labId) return;
        runs++;
        if (runs === 1) throw await context.later(60_000);
      });
      await queues.enqueueReconcile(labId, 'slot-wait');
      const delayed = async () => {
        const jobId = await queues.queue(RECONCILE_QUEUE).getDeduplicationJobId(labId);
        const job = jobId ? await queues.queue(RECONCILE_QUEUE).getJob(jobId) : undefined;
        return (await job?.isDelayed()) === true;
      };
      await waitFor('the job to be put back', delayed);
      return { labId, runs: () => runs };
    }

    it('starts a put-back reconcile at once instead of after its delay', async () => {
      const lab = await putBackForAMinute();
      expect(await queues.wakeReconcile(lab.labId)).toBe(true);
      await waitFor('the second run', () => lab.runs() === 2, { timeoutMs: 5000 });
      // Nothing was delayed any more: a second wake has nothing to do.
      expect(await queues.wakeReconcile(lab.labId)).toBe(false);
    });

    it('wakes once when several wakes race for one delayed job, and none of the others fails', async () => {
      const lab = await putBackForAMinute();
      // All of them find the job delayed before the first promotes it; the others then meet a job that is not.
      const woken = await Promise.all(Array.from({ length: 8 }, () => queues.wakeReconcile(lab.labId)));
      expect(woken.filter(Boolean)).toHaveLength(1);
      await waitFor('the second run', () => lab.runs() === 2, { timeoutMs: 5000 });
    });

    it('has nothing to wake for a lab with no reconcile queued', async () => {
      expect(await queues.wakeReconcile(randomLabId())).toBe(false);
    });
  });

  it('refuses an invalid payload at the producer, and fails one that slipped in without retrying', async () => {
    await expect(queues.enqueueReconcile('../etc', 'x')).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'QUEUE_INVALID_PAYLOAD',
    );
    let runs = 0;
    reconcileWorker(async () => {
      runs++;
    });
    const queue = queues.queue(RECONCILE_QUEUE);
    const job = await queue.add('reconcile', { labId: 'nope' });
    await waitFor('the job to fail', async () => (await job.getState()) === 'failed');
    const failed = await queue.getJob(job.id ?? '');
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toContain('Invalid lab-reconcile payload');
    expect(runs).toBe(0);
  });
});

describe('lab-events', () => {
  it('carries a LabEvent from the runner to the chat side of its platform, in order', async () => {
    const labId = randomLabId();
    const received: LabEvent[] = [];
    workers.push(
      createLabEventWorker({
        connection: redis,
        prefix,
        platform: 'slack',
        onError: quiet,
        process: async (event) => {
          received.push(event);
        },
      }),
    );
    await publishLabEvent(queues, 'slack', createLabEvent('lab.changed', { labId, phase: 'building' }));
    await publishLabEvent(queues, 'slack', createLabEvent('lab.changed', { labId, phase: 'ready' }));
    await waitFor('both events', () => received.length === 2);
    expect(received.map((event) => event.type === 'lab.changed' && event.phase)).toEqual(['building', 'ready']);
    expect(received[0]).toMatchObject({ labId, type: 'lab.changed', phase: 'building' });
  });

  it('refuses to publish an invalid event', async () => {
    const bogus = { type: 'lab.changed', labId: 'nope', phase: 'ready', at: 'yesterday' } as unknown as LabEvent;
    await expect(publishLabEvent(queues, 'slack', bogus)).rejects.toSatisfy(
      (error: unknown) => error instanceof LabbotError && error.code === 'LAB_EVENT_INVALID',
    );
  });
});
