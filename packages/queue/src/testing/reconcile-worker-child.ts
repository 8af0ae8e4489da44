// A reconcile worker in its own process, for the crash and shutdown tests. It prints one JSON line
// per event on stdout: {"ready":true}, {"started":<jobId>}, {"finished":<jobId>}.
// Environment: REDIS_URL, LABBOT_TEST_PREFIX, LABBOT_TEST_MODE (`hang`: never finishes; otherwise
// the job takes LABBOT_TEST_JOB_MS), LABBOT_TEST_LOCK_MS, LABBOT_TEST_STALLED_MS, LABBOT_TEST_WORKER_NAME.
import { setTimeout as sleep } from 'node:timers/promises';
import { closeOnSignals } from '../shutdown.js';
import { createReconcileWorker } from '../workers.js';

const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
const env = (name: string, fallback: string) => process.env[name] ?? fallback;

const worker = createReconcileWorker({
  connection: env('REDIS_URL', 'redis://127.0.0.1:6390'),
  prefix: env('LABBOT_TEST_PREFIX', 'labbot-test-child'),
  lockDurationMs: Number(env('LABBOT_TEST_LOCK_MS', '1000')),
  stalledIntervalMs: Number(env('LABBOT_TEST_STALLED_MS', '500')),
  ...(process.env.LABBOT_TEST_WORKER_NAME ? { workerName: process.env.LABBOT_TEST_WORKER_NAME } : {}),
  process: async (_job, context) => {
    say({ started: context.jobId });
    if (env('LABBOT_TEST_MODE', 'hang') === 'hang') await new Promise<never>(() => {});
    await sleep(Number(env('LABBOT_TEST_JOB_MS', '1000')));
    say({ finished: context.jobId });
  },
});
closeOnSignals([worker], { onSignal: (signal) => say({ signal }), timeoutMs: 10_000 });
await worker.worker.waitUntilReady();
say({ ready: true });
