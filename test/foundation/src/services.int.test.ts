import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { Queue, QueueEvents, Worker } from 'bullmq';
import Docker from 'dockerode';
import { Redis } from 'ioredis';
import { pack } from 'tar-fs';
import { afterAll, describe, expect, it } from 'vitest';

// The real services every later test relies on: Redis + BullMQ, the Docker engine, the registry.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6390';
const registry = process.env.LABBOT_REGISTRY ?? '127.0.0.1:5050';
const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const docker = new Docker({ socketPath: '/var/run/docker.sock' });
const run = `${process.pid}-${Date.now()}`;
const localTag = `labbot-foundation-test:${run}`;
const remoteTag = `${registry}/labbot-foundation-test:${run}`;

async function followProgress(
  stream: NodeJS.ReadableStream,
): Promise<Array<{ stream?: string; errorDetail?: { message: string } }>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (error: Error | null, output: unknown[]) =>
      error ? reject(error) : resolve(output as never),
    );
  });
}

afterAll(async () => {
  for (const tag of [localTag, remoteTag])
    await docker
      .getImage(tag)
      .remove({ force: true })
      .catch(() => {});
});

describe('Redis and BullMQ', () => {
  it('runs a job round trip: added, processed, completion seen', async () => {
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const name = `foundation-${run}`;
    const queue = new Queue(name, { connection });
    const events = new QueueEvents(name, { connection: connection.duplicate() });
    const worker = new Worker(name, async (job) => ({ doubled: (job.data as { n: number }).n * 2 }), {
      connection: connection.duplicate(),
    });
    try {
      await events.waitUntilReady();
      const job = await queue.add('double', { n: 21 });
      const result = await job.waitUntilFinished(events, 10_000);
      expect(result).toEqual({ doubled: 42 });
      expect(await queue.getJobCounts('completed')).toEqual({ completed: 1 });
    } finally {
      await worker.close();
      await events.close();
      await queue.obliterate({ force: true });
      await queue.close();
      connection.disconnect();
    }
  });
});

describe('Docker engine and registry', () => {
  it('builds FROM the offline base image and runs it with networking off', async () => {
    const context = mkdtempSync(join(tmpdir(), 'labbot-foundation-'));
    try {
      writeFileSync(
        join(context, 'Dockerfile'),
        `FROM ${baseImage}\nRUN echo built > /built.txt\nCMD ["sh", "-c", "cat /built.txt; echo hello from the container; cat /proc/net/dev"]\n`,
      );
      const stream = await docker.buildImage(pack(context) as unknown as NodeJS.ReadableStream, {
        t: localTag,
        networkmode: 'none',
        labels: { 'labbot.test': '1' },
      });
      const progress = await followProgress(stream);
      expect(progress.find((p) => p.errorDetail)).toBeUndefined();

      const container = await docker.createContainer({
        Image: localTag,
        HostConfig: { NetworkMode: 'none' },
        Labels: { 'labbot.test': '1' },
      });
      await container.start();
      const { StatusCode } = await container.wait();
      const raw = await container.logs({ stdout: true, stderr: true, follow: true });
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (chunk: Buffer) => chunks.push(chunk));
      docker.modem.demuxStream(raw, out, out);
      await new Promise((resolve) => raw.on('end', resolve));
      const output = Buffer.concat(chunks).toString('utf8');
      await container.remove();

      expect(StatusCode).toBe(0);
      expect(output).toContain('built\nhello from the container');
      // Only the loopback interface exists inside: no way out.
      const interfaces = [...output.matchAll(/^\s*(\w+):/gm)].map((m) => m[1]);
      expect(interfaces).toEqual(['lo']);
      await expect(docker.getContainer(container.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      rmSync(context, { recursive: true, force: true });
    }
  });

  it('pushes the image to the local registry and pulls it back', async () => {
    await docker.getImage(localTag).tag({ repo: `${registry}/labbot-foundation-test`, tag: run });
    const pushed = await followProgress(
      await docker.getImage(remoteTag).push({ authconfig: { serveraddress: registry } }),
    );
    expect(pushed.find((p) => p.errorDetail)).toBeUndefined();

    const tags = (await (await fetch(`http://${registry}/v2/labbot-foundation-test/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags).toContain(run);

    await docker.getImage(remoteTag).remove();
    const pulled = await followProgress(await docker.pull(remoteTag, { authconfig: { serveraddress: registry } }));
    expect(pulled.find((p) => p.errorDetail)).toBeUndefined();
    const [local, remote] = await Promise.all([
      docker.getImage(localTag).inspect(),
      docker.getImage(remoteTag).inspect(),
    ]);
    expect(remote.Id).toBe(local.Id);
  });
});
