/**
 * Pod start latency of the Docker kubelet: from the pod's creation to its Ready=True on a watch, for pods whose
 * container keeps running (`sleep`), `parallel` at a time; and the simulator's CPU time per pod (start and delete).
 * Run: node --import tsx --conditions=labbot-source packages/kube-sim/bench/docker-pod-start.ts [rounds=10] [parallel=3]
 * Needs the Docker engine and the offline base image (scripts/services.sh up).
 */
import { loadavg } from 'node:os';
import { CoreV1Api, KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { startKubeSim } from '../src/index.js';

const rounds = Number(process.argv[2] ?? 10);
const parallel = Number(process.argv[3] ?? 3);
const image = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const sim = await startKubeSim({ kubelet: 'docker', docker: { labels: { 'labbot.test': '1', 'labbot.bench': '1' } } });
const config = new KubeConfig();
config.loadFromString(sim.kubeconfig);
const core = config.makeApiClient(CoreV1Api);

const readyAt = new Map<string, number>();
const gone = new Set<string>();
const watch = await new Watch(config).watch(
  '/api/v1/namespaces/default/pods',
  {},
  (type, pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    if (type === 'DELETED') gone.add(name);
    else if (!readyAt.has(name) && pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
      readyAt.set(name, performance.now());
  },
  () => undefined,
);

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 1200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  if (!done()) throw new Error(`bench: ${what} took over 6 s`);
}

const latencies: number[] = [];
const cpuBefore = process.cpuUsage();
try {
  for (let round = 0; round < rounds; round++) {
    const names = Array.from({ length: parallel }, (_, i) => `start-${round}-${i}`);
    const created = new Map<string, number>();
    await Promise.all(
      names.map(async (name) => {
        created.set(name, performance.now());
        await core.createNamespacedPod({
          namespace: 'default',
          body: {
            metadata: { name },
            spec: { containers: [{ name: 'main', image, command: ['sleep', '3600'] }] },
          },
        });
      }),
    );
    await until('pods ready', () => names.every((name) => readyAt.has(name)));
    for (const name of names) latencies.push((readyAt.get(name) ?? 0) - (created.get(name) ?? 0));
    await Promise.all(
      names.map((name) => core.deleteNamespacedPod({ namespace: 'default', name, gracePeriodSeconds: 0 })),
    );
    await until('pods gone', () => names.every((name) => gone.has(name)));
  }
} finally {
  watch.abort();
  await sim.stop();
}
const cpu = process.cpuUsage(cpuBefore);
const sorted = [...latencies].sort((a, b) => a - b);
const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0);
console.log(
  JSON.stringify({
    pods: latencies.length,
    parallel,
    readyMs: { min: at(0), median: at(0.5), p90: at(0.9), max: Math.round(sorted.at(-1) ?? 0) },
    cpuMsPerPod: Number(((cpu.user + cpu.system) / 1000 / latencies.length).toFixed(1)),
    load: loadavg().map((x) => x.toFixed(1)),
  }),
);
