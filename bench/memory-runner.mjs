// The runner child of bench/memory.ts: the real startRunner from the built packages (dist, as `node dist/main.js`
// runs in production; no TypeScript loader in the process), under --expose-gc. Answers on stdin: `measure` (GC,
// then heap and RSS as a JSON line), `peak-reset`, `snapshot <path>` (a heap snapshot). Needs `npx turbo run build`.
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { createLogger, loadConfig } from '@labbot/config';
import { startRunner } from '@labbot/runner';

const MB = 1024 * 1024;
const round1 = (value) => Math.round(value * 10) / 10;
const { gc } = globalThis;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

const runner = await startRunner(loadConfig(process.env), {
  logger: createLogger({ name: 'bench-memory-runner', level: process.env.LABBOT_TEST_LOG ?? 'silent' }),
});
await runner.ready;
let peakRss = process.memoryUsage.rss();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100).unref();
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
out({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  const [command, argument] = line.split(' ');
  if (command === 'measure') {
    const rssBeforeGc = process.memoryUsage.rss();
    for (let round = 0; round < 4; round++) {
      gc();
      await sleep(50);
    }
    const heap = getHeapStatistics();
    const usage = process.memoryUsage();
    out({
      rssMb: round1(usage.rss / MB),
      rssBeforeGcMb: round1(rssBeforeGc / MB),
      peakRssMb: round1(peakRss / MB),
      usedHeapMb: round1(heap.used_heap_size / MB),
      totalHeapMb: round1(heap.total_heap_size / MB),
      externalMb: round1(usage.external / MB),
    });
  } else if (command === 'peak-reset') {
    peakRss = process.memoryUsage.rss();
    out({ peakReset: true });
  } else if (command === 'snapshot' && argument) {
    gc();
    out({ snapshot: writeHeapSnapshot(argument) });
  }
}
await runner.stop();
