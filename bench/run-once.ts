// The one-off container runs alone, without the runner: what the Docker engine on this machine sustains.
//   node --conditions labbot-source --import tsx bench/run-once.ts [runs=50] [concurrencies=8,16,50] [image]
// For each concurrency: `engine` does the calls of a one-off run by hand with dockerode (create, attach, start,
// wait, inspect, remove, one after the other per container, with runOnce's options) and times each; `bare` does the
// same with only the image, command and `NetworkMode: none` (no limits, capabilities or user: the engine's floor,
// not something to ship); `runOnce` calls the builder's runOnce (what the runner does). BENCH_KINDS=engine,runOnce
// picks some. The image defaults to the newest local labbot/docker-vs-kubernetes tag, run as in the
// lesson (`/bin/sh /app/hello.sh`, user 10001). Every container carries a label of this run and is removed.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createBuilder, createDockerClient } from '@labbot/builder';
import type Dockerode from 'dockerode';

const runs = Number(process.argv[2] ?? 50);
const concurrencies = (process.argv[3] ?? '8,16,50').split(',').map(Number);
const docker = createDockerClient({});
const runLabel = `labbot.bench.run-once=${randomUUID().slice(0, 8)}`;
const [labelKey, labelValue] = runLabel.split('=') as [string, string];

async function lessonImage(): Promise<string> {
  if (process.argv[4]) return process.argv[4];
  const images = await docker.listImages({ filters: { reference: ['labbot/docker-vs-kubernetes'] } });
  const newest = images.sort((a, b) => b.Created - a.Created)[0]?.RepoTags?.[0];
  if (!newest) throw new Error('no local labbot/docker-vs-kubernetes image: pass one as the third argument');
  return newest;
}

/** Runs `work` for indexes 0..count-1, at most `limit` at once. */
async function pool(count: number, limit: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))] ?? 0;
const summary = (values: number[]) => ({
  p50: Math.round(percentile(values, 50)),
  p90: Math.round(percentile(values, 90)),
  max: Math.round(Math.max(...values)),
});

const image = await lessonImage();
const command = ['/bin/sh', '/app/hello.sh'];
const spec: Dockerode.ContainerCreateOptions = {
  Image: image,
  Cmd: command,
  User: '10001',
  Labels: { [labelKey]: labelValue },
  AttachStdout: true,
  AttachStderr: true,
  NetworkDisabled: true,
  HostConfig: {
    NetworkMode: 'none',
    Memory: 256 * 1024 ** 2,
    MemorySwap: 256 * 1024 ** 2,
    PidsLimit: 128,
    CapDrop: ['ALL'],
    SecurityOpt: ['no-new-privileges'],
    LogConfig: { Type: 'none', Config: {} },
  },
};

const bare: Dockerode.ContainerCreateOptions = {
  Image: image,
  Cmd: command,
  Labels: spec.Labels,
  AttachStdout: true,
  AttachStderr: true,
  HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
};

async function engineRun(calls: Record<string, number[]>, options: Dockerode.ContainerCreateOptions): Promise<void> {
  const timed = async <T>(name: string, call: () => Promise<T>): Promise<T> => {
    const start = performance.now();
    try {
      return await call();
    } finally {
      const times = calls[name] ?? [];
      times.push(performance.now() - start);
      calls[name] = times;
    }
  };
  const container = await timed('create', () => docker.createContainer(options));
  const stream = (await timed('attach', () =>
    container.attach({ stream: true, stdout: true, stderr: true }),
  )) as NodeJS.ReadableStream;
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  docker.modem.demuxStream(stream, sink, sink);
  const ended = new Promise((resolve) => stream.on('end', resolve).on('close', resolve));
  await timed('start', () => container.start());
  await timed('wait', () => container.wait());
  await timed('streamEnd', () => ended);
  await timed('inspect', () => container.inspect());
  await timed('remove', () => container.remove({ force: true }));
}

const builder = createBuilder({ docker, labels: { [labelKey]: labelValue } });
const results: unknown[] = [];
for (const concurrency of concurrencies) {
  for (const kind of (process.env.BENCH_KINDS ?? 'engine,bare,runOnce').split(',')) {
    const calls: Record<string, number[]> = {};
    const perRun: number[] = [];
    const started = performance.now();
    await pool(runs, concurrency, async () => {
      const start = performance.now();
      if (kind === 'engine' || kind === 'bare') await engineRun(calls, kind === 'bare' ? bare : spec);
      else {
        const result = await builder.runOnce({
          image,
          command,
          user: '10001',
          timeoutMs: 30_000,
          maxOutputBytes: 8192,
        });
        if (!result.output.includes('Hello')) throw new Error(`unexpected output: ${result.output}`);
      }
      perRun.push(performance.now() - start);
    });
    const totalMs = Math.round(performance.now() - started);
    results.push({
      kind,
      runs,
      concurrency,
      totalMs,
      runsPerSecond: Number(((runs * 1000) / totalMs).toFixed(2)),
      perRunMs: summary(perRun),
      ...(kind !== 'runOnce'
        ? { callsMs: Object.fromEntries(Object.entries(calls).map(([name, values]) => [name, summary(values)])) }
        : {}),
    });
    console.error(JSON.stringify(results.at(-1)));
  }
}
const left = await docker.listContainers({ all: true, filters: { label: [runLabel] } });
for (const container of left) await docker.getContainer(container.Id).remove({ force: true });
console.log(JSON.stringify({ image, containersLeft: left.length, results }, null, 2));
