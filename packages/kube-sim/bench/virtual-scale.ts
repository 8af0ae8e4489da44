/**
 * Memory of kube-sim (virtual kubelet) holding 1,000 pods in 100 namespaces with 10 open watches.
 * Run: node --expose-gc --import tsx --conditions=labbot-source packages/kube-sim/bench/virtual-scale.ts
 */
import { startKubeSim } from '../src/index.js';

const namespaces = 100;
const replicas = 10;
const watchers = 10;

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

gc();
const base = process.memoryUsage();
const sim = await startKubeSim({ kubelet: 'virtual', virtualReadyDelayMs: 10 });
const post = (path: string, body: unknown) =>
  sim
    .fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    .then((r) => {
      if (!r.ok) throw new Error(`${path}: ${r.status}`);
      return r.json();
    });

const running = Array.from({ length: watchers }, () => new Set<string>());
const aborts: AbortController[] = [];
for (const seen of running) {
  const abort = new AbortController();
  aborts.push(abort);
  const response = await sim.fetch('/api/v1/pods?watch=true', { signal: abort.signal });
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  void (async () => {
    for (;;) {
      const chunk = await reader?.read().catch(() => undefined);
      if (!chunk || chunk.done) return;
      buffered += decoder.decode(chunk.value, { stream: true });
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const event = JSON.parse(buffered.slice(0, newline)) as {
          object: { metadata: { namespace: string; name: string }; status?: { phase?: string } };
        };
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (event.object.status?.phase === 'Running')
          seen.add(`${event.object.metadata.namespace}/${event.object.metadata.name}`);
      }
    }
  })();
}

const started = Date.now();
for (let i = 0; i < namespaces; i++) {
  const namespace = `bench-${i}`;
  await post('/api/v1/namespaces', { metadata: { name: namespace } });
  await post(`/apis/apps/v1/namespaces/${namespace}/deployments`, {
    metadata: { name: 'app' },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'app' } },
      template: {
        metadata: { labels: { app: 'app' } },
        spec: { containers: [{ name: 'app', image: 'labbot/busybox:1' }] },
      },
    },
  });
}
const total = namespaces * replicas;
for (let i = 0; i < 600 && !running.every((seen) => seen.size === total); i++)
  await new Promise((r) => setTimeout(r, 100));
const elapsed = Date.now() - started;
await new Promise((r) => setTimeout(r, 500));
gc();
const after = process.memoryUsage();
console.log(
  JSON.stringify(
    {
      pods: total,
      namespaces,
      watchers,
      allRunningSeenByEveryWatcher: running.every((seen) => seen.size === total),
      secondsToAllRunning: elapsed / 1000,
      heapUsedGrowth: mib(after.heapUsed - base.heapUsed),
      rss: mib(after.rss),
      rssGrowth: mib(after.rss - base.rss),
      apiRequests: sim.stats().total,
    },
    null,
    2,
  ),
);
for (const abort of aborts) abort.abort();
await sim.stop();
