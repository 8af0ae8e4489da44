import { join } from 'node:path';
import { waitFor, waitForValue } from '@labbot/test-support';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RECONCILE_QUEUE } from './payloads.js';
import { createQueues, type Queues } from './producers.js';
import { type Child, spawnTsChild } from './testing/child-process.js';
import { deleteKeys, randomLabId, redisUrl, uniquePrefix } from './testing/helpers.js';
import { createReconcileWorker, type LabbotWorker } from './workers.js';

const prefix = uniquePrefix('processes');
const childScript = join(import.meta.dirname, 'testing', 'reconcile-worker-child.ts');
let redis: Redis;
let queues: Queues;
const children: Child[] = [];
const workers: LabbotWorker[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queues = createQueues({ connection: redis, prefix, backoffMs: 20 });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  }
});

afterAll(async () => {
  await queues.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

function startChild(env: Record<string, string>): Child {
  const child = spawnTsChild(childScript, { REDIS_URL: redisUrl, LABBOT_TEST_PREFIX: prefix, ...env });
  children.push(child);
  return child;
}

const hasEvent = (child: Child, key: string, value?: unknown) =>
  child.events.some((event) => key in event && (value === undefined || event[key] === value));

describe('worker processes', () => {
  it('hands the job of a SIGKILLed worker to another worker once its lock expires', async () => {
    const child = startChild({ LABBOT_TEST_MODE: 'hang', LABBOT_TEST_LOCK_MS: '1000', LABBOT_TEST_STALLED_MS: '500' });
    await waitFor('the child worker to be ready', () => hasEvent(child, 'ready'), 30_000).catch((error) => {
      throw new Error(`${error}\n${child.stderr.join('')}`);
    });
    const labId = randomLabId();
    const { jobId } = await queues.enqueueReconcile(labId, 'command.start');
    await waitFor('the child to start the job', () => hasEvent(child, 'started', jobId));

    child.process.kill('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const killedAt = Date.now();

    const runs: string[] = [];
    workers.push(
      createReconcileWorker({
        connection: redis,
        prefix,
        lockDurationMs: 1000,
        stalledIntervalMs: 500,
        onError: () => {},
        process: async (job) => {
          runs.push(job.labId);
        },
      }),
    );
    const job = await waitFor('the job', () => queues.queue(RECONCILE_QUEUE).getJob(jobId));
    // Speed is measured, not asserted (bench/ owns speed); the second worker ran it exactly once.
    await waitFor(
      'the job to be completed by the second worker',
      async () => (await job.getState()) === 'completed',
      30_000,
    );
    const recoveryMs = Date.now() - killedAt;
    expect(runs).toEqual([labId]);
    console.info(`[measure] job of a SIGKILLed worker completed by another worker after ${recoveryMs} ms`);
  });

  it("releases at once the job of a SIGKILLed worker, long before its lock would expire, and leaves a live worker's job alone", async () => {
    const longLocks = { LABBOT_TEST_MODE: 'hang', LABBOT_TEST_LOCK_MS: '60000', LABBOT_TEST_STALLED_MS: '60000' };
    const doomed = startChild({ ...longLocks, LABBOT_TEST_WORKER_NAME: 'doomed' });
    const survivor = startChild({ ...longLocks, LABBOT_TEST_WORKER_NAME: 'survivor' });
    for (const child of [doomed, survivor])
      await waitFor('a child worker to be ready', () => hasEvent(child, 'ready'), 30_000);
    const first = await queues.enqueueReconcile(randomLabId(), 'command.start');
    await waitFor('a child to start the first job', () => hasEvent(doomed, 'started') || hasEvent(survivor, 'started'));
    const [dying, living] = hasEvent(doomed, 'started', first.jobId) ? [doomed, survivor] : [survivor, doomed];
    const second = await queues.enqueueReconcile(randomLabId(), 'command.start');
    await waitFor('the other child to start the second job', () => hasEvent(living, 'started', second.jobId));

    dying.process.kill('SIGKILL');
    await dying.exited;
    const runs: string[] = [];
    const taker = createReconcileWorker({
      connection: redis,
      prefix,
      lockDurationMs: 60_000,
      stalledIntervalMs: 60_000,
      onError: () => {},
      process: async (_job, context) => {
        runs.push(context.jobId);
      },
    });
    workers.push(taker);
    await taker.worker.waitUntilReady();
    // The killed worker's Redis connection closes with it; its job is released, the live worker's is not.
    expect(
      await waitForValue(
        'the release',
        () => taker.releaseJobsOfDeadWorkers(),
        (ids) => ids.length > 0,
      ),
    ).toEqual([first.jobId]);
    const queue = queues.queue(RECONCILE_QUEUE);
    await waitFor(
      'the released job to complete',
      async () => (await queue.getJob(first.jobId))?.finishedOn !== undefined,
      20_000,
    );
    expect(runs).toEqual([first.jobId]);
    expect(await (await queue.getJob(second.jobId))?.getState()).toBe('active');
    expect(await taker.releaseJobsOfDeadWorkers()).toEqual([]);
  });

  it('keeps its own job while its blocking connection reconnects (as after a Redis restart), and releases nothing within the grace after Redis started', async () => {
    // The worker's connections reconnect only after 3 s, so its name is missing from the worker list meanwhile.
    const slow = new Redis(redisUrl, { maxRetriesPerRequest: null, retryStrategy: () => 3_000 });
    let finish: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const started: string[] = [];
    const selfName = `self-${randomLabId()}`;
    const self = createReconcileWorker({
      connection: slow,
      prefix,
      workerName: selfName,
      lockDurationMs: 60_000,
      stalledIntervalMs: 60_000,
      onError: () => {},
      process: async (_job, context) => {
        started.push(context.jobId);
        await held;
      },
    });
    // Closing waits for the killed blocking connection: this worker is closed by force (its job done or not).
    onTestFinished(async () => {
      finish();
      await self.worker.close(true);
      slow.disconnect();
    });
    await self.worker.waitUntilReady();
    const { jobId } = await queues.enqueueReconcile(randomLabId(), 'command.start');
    await waitFor('the worker to start the job', () => started.includes(jobId));
    const clients = (await redis.client('LIST')) as string;
    const blocking = clients
      .split('\n')
      .find((line) => line.includes(`:w:${selfName} `))
      ?.match(/\bid=(\d+)/)?.[1];
    expect(blocking).toBeDefined();
    await redis.client('KILL', 'ID', blocking ?? '');
    const queue = queues.queue(RECONCILE_QUEUE);
    expect((await queue.getWorkers()).map((client) => client.rawname)).not.toContainEqual(
      expect.stringContaining(`:w:${selfName}`),
    );
    // (A dead worker's job left by an earlier test may be released; this worker's own is not.)
    expect(await self.releaseJobsOfDeadWorkers()).not.toContain(jobId);
    expect(await (await queue.getJob(jobId))?.getState()).toBe('active');

    // Another worker sees the same missing name; within the grace after Redis started it releases nothing.
    const patient = createReconcileWorker({
      connection: redis,
      prefix,
      redisStartGraceMs: 10 * 365 * 24 * 3_600_000,
      onError: () => {},
      process: async () => {},
    });
    workers.push(patient);
    expect(await patient.releaseJobsOfDeadWorkers()).toEqual([]);
    finish();
    await waitFor('the job to complete', async () => (await queue.getJob(jobId))?.finishedOn !== undefined, 20_000);
    expect(started).toEqual([jobId]);
  });

  it('on SIGTERM finishes the job in progress, takes no new one, and exits 0', async () => {
    const child = startChild({ LABBOT_TEST_MODE: 'slow', LABBOT_TEST_JOB_MS: '1500' });
    await waitFor('the child worker to be ready', () => hasEvent(child, 'ready'), 30_000).catch((error) => {
      throw new Error(`${error}\n${child.stderr.join('')}`);
    });
    const first = await queues.enqueueReconcile(randomLabId(), 'first');
    await waitFor('the child to start the job', () => hasEvent(child, 'started', first.jobId));

    child.process.kill('SIGTERM');
    await waitFor('the child to see the signal', () => hasEvent(child, 'signal', 'SIGTERM'));
    const second = await queues.enqueueReconcile(randomLabId(), 'second');
    const exit = await child.exited;

    expect(exit.code).toBe(0);
    expect(hasEvent(child, 'finished', first.jobId)).toBe(true);
    expect(hasEvent(child, 'started', second.jobId)).toBe(false);
    const queue = queues.queue(RECONCILE_QUEUE);
    expect(await (await queue.getJob(first.jobId))?.getState()).toBe('completed');
    expect(await (await queue.getJob(second.jobId))?.getState()).toBe('waiting');
  });
});
