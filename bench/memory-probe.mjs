// Loaded into the runner process of bench/memory.ts ahead of its entry (`node --expose-gc --import
// ./bench/memory-probe.mjs apps/runner/dist/main.js`), so the bench measures the runner exactly as production starts it
// (the bundled entry, its metrics server and all). Prints {"ready":true} once the runner's /readyz answers 200 (its
// pod watch has listed the cluster), then answers on stdin, one JSON line each: `measure` (four forced GCs, then heap,
// heap spaces, code and RSS), `peak-reset`, `snapshot <path>` (a heap snapshot), `timeline` (what happened since the
// last `timeline`: each change of the young generation's size, and when the janitor and the room watch listed); a
// closed stdin stops the runner (SIGTERM). Only Node's built-ins: the probe adds nothing to what it measures but its own
// few objects.
import { subscribe } from 'node:diagnostics_channel';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { getHeapCodeStatistics, getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';

const MB = 1024 * 1024;
const round1 = (value) => Math.round((value / MB) * 10) / 10;
const { gc } = globalThis;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');
const port = process.env.LABBOT_METRICS_PORT;
if (!port) throw new Error('the probe needs LABBOT_METRICS_PORT (it waits for the runner’s /readyz)');

/**
 * Anonymous (V8 heap, malloc) and file-backed (the node binary's mapped pages, shared with every other node process)
 * resident memory, from the kernel; PSS counts shared pages divided by their sharers.
 */
function residentKinds() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const rollup = readFileSync('/proc/self/smaps_rollup', 'utf8');
  const kb = (text, field) => Number(text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0) * 1024;
  return {
    rssAnonMb: round1(kb(status, 'RssAnon')),
    rssFileMb: round1(kb(status, 'RssFile')),
    pssMb: round1(kb(rollup, 'Pss')),
  };
}

/** Open file descriptors (sockets to Redis and the API server, the watches' streams...). */
const openFds = () => readdirSync('/proc/self/fd').length;

let peakRss = process.memoryUsage.rss();
let peakFds = openFds();
setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 100).unref();
// Less often: reading the folder allocates a string per descriptor (hundreds during a teardown).
setInterval(() => {
  peakFds = Math.max(peakFds, openFds());
}, 1000).unref();
const out = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

// The timeline: does the young generation grow when the runner's periodic work runs? V8 grows its new space when
// objects survive scavenges and shrinks it when allocation has been low; the janitor's sweep (every 30 s) is the
// runner's periodic work that grows with the labs, and the capacity reporter's room watch lists pods (a page at a time)
// at start and again only after its watch is refused (410); before the room watch, that list ran every 15 s. Seen on
// undici's diagnostics channel (client-node's HTTP client); the new space's resident size is sampled every 200 ms.
const startedAt = performance.now();
let timeline = [];
const at = () => Math.round((performance.now() - startedAt) / 100) / 10;
const newSpaceMb = () =>
  round1(getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0);
let lastNewSpaceMb = newSpaceMb();
setInterval(() => {
  const now = newSpaceMb();
  if (now === lastNewSpaceMb) return;
  timeline.push({ atS: at(), newSpaceMb: now });
  lastNewSpaceMb = now;
}, 200).unref();
subscribe('undici:request:create', ({ request }) => {
  const path = String(request?.path ?? '');
  if (path.includes('watch=true')) return;
  // The janitor's list of lab namespaces (managed-by selector); the room watch's pages of pods (status.phase selector).
  if (path.startsWith('/api/v1/namespaces?') && path.includes('managed-by'))
    timeline.push({ atS: at(), request: 'janitor: list lab namespaces' });
  else if (path.startsWith('/api/v1/pods?') && path.includes('status.phase'))
    timeline.push({ atS: at(), request: 'room watch: list pods' });
});

async function measure() {
  const rssBeforeGc = process.memoryUsage.rss();
  for (let round = 0; round < 4; round++) {
    gc();
    await sleep(50);
  }
  const heap = getHeapStatistics();
  const usage = process.memoryUsage();
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics()
      .filter((space) => space.physical_space_size > 0)
      .map((space) => [
        space.space_name,
        { usedMb: round1(space.space_used_size), residentMb: round1(space.physical_space_size) },
      ]),
  );
  const code = getHeapCodeStatistics();
  const resident = residentKinds();
  const v8Resident = getHeapSpaceStatistics().reduce((sum, space) => sum + space.physical_space_size, 0);
  return {
    rssMb: round1(usage.rss),
    rssBeforeGcMb: round1(rssBeforeGc),
    peakRssMb: round1(peakRss),
    ...resident,
    // Anonymous memory outside V8's heap spaces: malloc (sockets, parsers, V8's own zones), thread stacks, Wasm.
    nativeAnonMb: round1(resident.rssAnonMb * MB - v8Resident),
    openFds: openFds(),
    peakFds,
    usedHeapMb: round1(heap.used_heap_size),
    totalHeapMb: round1(heap.total_heap_size),
    externalMb: round1(usage.external),
    arrayBuffersMb: round1(usage.arrayBuffers),
    scriptSourceMb: round1(code.external_script_source_size),
    bytecodeMb: round1(code.bytecode_and_metadata_size),
    spaces,
  };
}

async function answer() {
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, argument] = line.split(' ');
    if (command === 'measure') out(await measure());
    else if (command === 'peak-reset') {
      peakRss = process.memoryUsage.rss();
      peakFds = openFds();
      out({ peakReset: true });
    } else if (command === 'timeline') {
      out({ nowS: at(), timeline });
      timeline = [];
    } else if (command === 'snapshot' && argument) {
      gc();
      out({ snapshot: writeHeapSnapshot(argument) });
    }
  }
  // The driver closed stdin: stop as an operator's SIGTERM does (the runner's own signal handler).
  process.kill(process.pid, 'SIGTERM');
}

/** node:http, not fetch: fetch would load Node's own undici into the process being measured. */
const readyzStatus = () =>
  new Promise((resolve) => {
    get(`http://127.0.0.1:${port}/readyz`, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).on('error', () => resolve(0));
  });

async function waitForReady() {
  while ((await readyzStatus()) !== 200) await sleep(200);
}

// After the entry module has run (this file is loaded first): the runner starts, then /readyz says it has.
void waitForReady().then(() => {
  out({ ready: true });
  return answer();
});
