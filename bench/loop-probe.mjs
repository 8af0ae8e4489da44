// Loaded into the runner process of bench/recovery.ts (`--import ./bench/loop-probe.mjs`) when BENCH_LOOP_PROBE is
// set: once a second it prints one line `loop <epoch ms> <max event-loop delay in ms> <mean in ms>` on stderr, so a run shows
// whether the runner's event loop stalled (BullMQ renews job locks from a timer on it). Only Node's built-ins.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
setInterval(() => {
  process.stderr.write(`loop ${Date.now()} ${Math.round(histogram.max / 1e6)} ${Math.round(histogram.mean / 1e6)}\n`);
  histogram.reset();
}, 1000).unref();
