// The per-class provision cap through a real BullMQ reconcile worker on Redis: at most `max` labs of a class
// are brought up at once, they start in join order, and a learner whose attempt failed and waits to retry
// does not keep the others waiting.
import { randomBytes } from 'node:crypto';
import { createLogger } from '@labbot/config';
import { createLabRecord, LabbotError } from '@labbot/core';
import { createQueues, createReconcileWorker, type LabbotWorker, type Queues, RECONCILE_QUEUE } from '@labbot/queue';
import { createClassProvisionSlots, createClassRoster } from '@labbot/store';
import { createMemoryLabStore } from '@labbot/store/testing';
import { waitForValue } from '@labbot/test-support';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassProvisionGate } from './class-provisions.js';

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const prefix = `labbot-test-gate-${randomBytes(4).toString('hex')}`;
let redis: Redis;
let queues: Queues;
let worker: LabbotWorker | undefined;

beforeAll(() => {
  redis = new Redis(redisUrl, { maxRetriesPerRequest: null });
  queues = createQueues({ connection: redis, prefix, attempts: 3, backoffMs: 1500 });
});

afterAll(async () => {
  await worker?.close();
  await queues.close();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

/** An open class of the lesson on a fresh in-memory store, with its roster in Redis. */
async function openClass(maxConcurrentProvisions: number) {
  const store = createMemoryLabStore();
  const roster = createClassRoster({ redis, prefix });
  const classId = randomBytes(5).toString('hex');
  const at = new Date().toISOString();
  await store.createClass({
    classId,
    lessonId: 'docker-vs-kubernetes',
    instructor: { platform: 'local', workspaceId: 'local', userId: 'teacher' },
    members: [],
    state: 'open',
    maxConcurrentProvisions,
    createdAt: at,
    updatedAt: at,
    version: 0,
  });
  return { store, roster, classId, at };
}

describe('the per-class provision cap (runner, BullMQ, Redis)', () => {
  it('brings up at most 2 labs of the class at once, in join order, and a failed attempt waiting to retry holds no slot', async () => {
    const { store, roster, classId, at } = await openClass(2);
    const slots = createClassProvisionSlots({ redis, prefix });
    const learners = ['l1', 'l2', 'l3', 'l4', 'l5', 'l6'];
    const labs: string[] = [];
    for (const userId of learners) {
      const record = createLabRecord({
        owner: { platform: 'local', workspaceId: 'local', userId },
        lessonId: 'docker-vs-kubernetes',
        ttlMinutes: 30,
        classId,
      });
      await store.create(record);
      // As the class bot does on a join: the roster's join also puts the lab in the class's provision line.
      await roster.join(classId, { userId, labId: record.labId, joinedAt: at }, 50);
      labs.push(record.labId);
    }
    const gate = createClassProvisionGate({
      store,
      roster,
      slots,
      defaultMaxConcurrent: 12,
      logger: createLogger({ name: 'gate-test', level: 'silent' }),
      // A lab in line asks again only after 1 s unless a freed slot wakes it (as the runner wires it).
      retryDelayMs: () => 1000,
      wake: async (labId) => {
        const queue = queues.queue(RECONCILE_QUEUE);
        const jobId = await queue.getDeduplicationJobId(labId);
        const job = jobId ? await queue.getJob(jobId) : undefined;
        if (job && (await job.isDelayed())) await job.promote();
        woken.push(labId);
      },
      // Every change of place is told (the default tells at most one per 5 s per lab, and only when the place fell to a quarter).
      waitingNoticeMs: 0,
      onWaiting: async (record, place) => {
        told.set(record.labId, [...(told.get(record.labId) ?? []), place]);
      },
    });
    const told = new Map<string, number[]>();
    const woken: string[] = [];
    let running = 0;
    let mostAtOnce = 0;
    const started: string[] = [];
    const finished = new Set<string>();
    worker = createReconcileWorker({
      connection: redis,
      prefix,
      concurrency: 6,
      maxStartedAttempts: 100_000,
      onError: () => {},
      process: (job, context) =>
        gate.run(job.labId, context, async () => {
          running++;
          mostAtOnce = Math.max(mostAtOnce, running);
          started.push(job.labId);
          try {
            await new Promise((resolve) => setTimeout(resolve, 150));
            // The first learner's first attempt fails (e.g. the API server was briefly away): a retry follows.
            if (job.labId === labs[0] && context.attempt === 1) {
              throw new LabbotError('CLUSTER_UNAVAILABLE', 'the cluster did not answer', { retryable: true });
            }
            finished.add(job.labId);
            await store.update(job.labId, (current) => ({
              ...current,
              observed: { ...current.observed, phase: 'waiting-for-pods', generation: 0 },
            }));
          } finally {
            running--;
          }
        }),
    });
    // Every learner's request is in the queue before the worker takes any, the last joiner's first.
    for (const labId of [...labs].reverse()) await queues.enqueueReconcile(labId, 'class.join');
    await waitForValue(
      'every lab brought up',
      () => finished.size,
      (count) => count === labs.length,
      {
        timeoutMs: 30_000,
        intervalMs: 50,
      },
    );
    expect(mostAtOnce).toBe(2);
    // Each freed slot woke the next in line.
    expect(woken.length).toBeGreaterThan(0);
    for (const labId of woken) expect(labs).toContain(labId);
    // Join order: two learners admitted together may start either way round, but nobody starts before a
    // learner who joined two or more places earlier.
    const firstStart = (labId: string) => started.indexOf(labId);
    const overtaken: string[] = [];
    for (const [i, early] of labs.entries()) {
      for (const late of labs.slice(i + 2)) {
        if (firstStart(late) < firstStart(early)) overtaken.push(`${late} before ${early}`);
      }
    }
    expect(overtaken).toEqual([]);
    const retryAt = started.lastIndexOf(labs[0] as string);
    expect(retryAt).toBeGreaterThan(started.indexOf(labs[2] as string));
    // The audit trail says when each lab took its first slot, once per lab, and the grants follow join order
    // exactly although the last joiner's request was queued first.
    const grants: unknown[] = [];
    for (const labId of labs) {
      const entries = (await store.history(labId)).filter((entry) => entry.action === 'class.provisioning');
      expect(entries).toHaveLength(1);
      grants.push(entries[0]?.detail?.grant);
    }
    expect(grants).toEqual([1, 2, 3, 4, 5, 6]);
    // The waiting learners were told their place as it moved (the first learner's retry, an earlier joiner, may
    // push the others back by one while it waits again); the first two never waited.
    const lastPlaces = told.get(labs[5] as string) ?? [];
    expect(lastPlaces.length).toBeGreaterThan(0);
    expect(lastPlaces.at(-1)).toBeLessThanOrEqual(lastPlaces[0] ?? 0);
    for (const places of told.values()) for (const place of places) expect(place).toBeGreaterThanOrEqual(1);
    expect(told.get(labs[0] as string)).toBeUndefined();
    expect(told.get(labs[1] as string)).toBeUndefined();
  });

  it('tells a lab waiting first in line its place once, however long every slot stays busy', async () => {
    const { store, roster, classId, at } = await openClass(1);
    const [holder, waiter] = await Promise.all(
      ['h1', 'w1'].map((userId) =>
        createLabRecord({
          owner: { platform: 'local', workspaceId: 'local', userId },
          lessonId: 'docker-vs-kubernetes',
          ttlMinutes: 30,
          classId,
        }),
      ),
    );
    if (!holder || !waiter) throw new Error('two labs expected');
    for (const record of [holder, waiter]) {
      await store.create(record);
      await roster.join(classId, { userId: record.owner.userId, labId: record.labId, joinedAt: at }, 50);
    }
    let clock = 0;
    const told: number[] = [];
    const gate = createClassProvisionGate({
      store,
      roster,
      slots: createClassProvisionSlots({ redis, prefix }),
      defaultMaxConcurrent: 12,
      logger: createLogger({ name: 'gate-test', level: 'silent' }),
      waitingNoticeMs: 1000,
      now: () => clock,
      onWaiting: async (_record, place) => {
        told.push(place);
      },
    });
    // The first joiner holds the only slot until the end of the test.
    let release = () => {};
    const holding = gate.run(holder.labId, { later: async () => new Error('the holder waits') }, async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
    });
    await waitForValue(
      'the slot taken',
      async () => (await store.history(holder.labId)).length,
      (n) => n > 0,
      {
        timeoutMs: 5_000,
        intervalMs: 20,
      },
    );
    // The second asks again and again (as its delayed job does), well past the notice interval each time.
    const later = async () => new Error('waits in line');
    for (let ask = 0; ask < 4; ask++) {
      await expect(gate.run(waiter.labId, { later }, async () => {})).rejects.toThrow('waits in line');
      clock += 5_000;
    }
    expect(told).toEqual([1]);
    release();
    await holding;
  });
});
