import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LabbotError } from '@labbot/core';
import Dockerode from 'dockerode';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLearnerBuilder, LearnerBuildErrorCode, type LearnerBuilderOptions, type LearnerFile } from './index.js';

const baseImage = process.env.LABBOT_BASE_IMAGE ?? 'labbot/busybox:1';
const docker = new Dockerode();
// Every container and image of this run carries this label: leftovers are found by it, never by name.
const runLabel = `labbot.test.learner-build=${randomBytes(4).toString('hex')}`;
const [runKey = '', runValue = ''] = runLabel.split('=');

function labId(): string {
  return randomBytes(6).toString('hex');
}

function builder(options: Partial<LearnerBuilderOptions> = {}) {
  return createLearnerBuilder({
    docker,
    allowedBaseImages: [baseImage],
    labels: { [runKey]: runValue },
    ...options,
    limits: { buildTimeoutMs: 60_000, ...options.limits },
  });
}

const file = (path: string, content: string | Buffer, mode?: number): LearnerFile => ({
  path,
  content: Buffer.isBuffer(content) ? content : Buffer.from(content),
  ...(mode === undefined ? {} : { mode }),
});

async function caught(promise: Promise<unknown>): Promise<LabbotError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LabbotError);
  return error as LabbotError;
}

async function leftovers(): Promise<{ containers: number; images: number }> {
  const filters = JSON.stringify({ label: [runLabel] });
  const containers = await docker.listContainers({ all: true, filters });
  const images = await docker.listImages({ all: true, filters });
  return { containers: containers.length, images: images.length };
}

/** Images of this run that a finished test still holds (its successful builds, removed per lab). */
const builtLabs = new Set<string>();

beforeAll(async () => {
  await docker.getImage(baseImage).inspect();
});

afterEach(async () => {
  const cleaner = builder();
  for (const lab of builtLabs) await cleaner.removeImagesOf(lab);
  builtLabs.clear();
});

afterAll(async () => {
  // Belt and braces: nothing of this run may stay, whatever a failed assertion left.
  const filters = JSON.stringify({ label: [runLabel] });
  for (const container of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(container.Id)
      .remove({ force: true })
      .catch(() => {});
  for (const image of await docker.listImages({ all: true, filters }))
    await docker
      .getImage(image.Id)
      .remove({ force: true })
      .catch(() => {});
});

describe('learner build: a good Dockerfile', () => {
  it('builds step by step, runs once, and its images are deleted with the lab', async () => {
    const lab = labId();
    builtLabs.add(lab);
    const learner = builder();
    const lines: string[] = [];
    const result = await learner.build({
      labId: lab,
      dockerfile: [
        `FROM ${baseImage}`,
        'WORKDIR /app',
        'COPY hello.sh .',
        'COPY web/ /srv/web/',
        'ENV GREETING="Hello from my image"',
        'RUN echo built > /app/built.txt && ls /srv/web',
        'USER 10001',
        'CMD ["/bin/sh", "/app/hello.sh"]',
      ].join('\n'),
      files: [
        file('hello.sh', 'echo "$GREETING"; cat /app/built.txt; cat /srv/web/index.html\n'),
        file('web/index.html', '<h1>hi</h1>\n'),
      ],
      onLog: (line) => lines.push(line),
    });
    expect(result.cached).toBe(false);
    expect(result.tag).toBe(`labbot/learner-${lab}:${result.hash}`);
    expect(lines[0]).toBe(`Step 1/8 : FROM ${baseImage}`);
    expect(lines).toContain('index.html');
    expect(result.logTail.at(-1)).toBe(`Successfully tagged ${result.tag}`);

    const info = await docker.getImage(result.tag).inspect();
    expect(info.Config.Cmd).toEqual(['/bin/sh', '/app/hello.sh']);
    expect(info.Config.User).toBe('10001');
    expect(info.Config.WorkingDir).toBe('/app');
    expect(info.Config.Labels?.['labbot.dev/lab']).toBe(lab);

    const run = await learner.run(result.tag, lab);
    expect(run.exitCode).toBe(0);
    expect(run.output).toBe('Hello from my image\nbuilt\n<h1>hi</h1>\n');
    expect(run.note).toBeUndefined();

    const again = await learner.build({
      labId: lab,
      dockerfile: `FROM ${baseImage}\nWORKDIR /app\nCOPY hello.sh .\nCOPY web/ /srv/web/\nENV GREETING="Hello from my image"\nRUN echo built > /app/built.txt && ls /srv/web\nUSER 10001\nCMD ["/bin/sh", "/app/hello.sh"]`,
      files: [
        file('hello.sh', 'echo "$GREETING"; cat /app/built.txt; cat /srv/web/index.html\n'),
        file('web/index.html', '<h1>hi</h1>\n'),
      ],
    });
    expect(again).toMatchObject({ tag: result.tag, cached: true });

    expect(await learner.removeImagesOf(lab)).toBe(1);
    await expect(docker.getImage(result.tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('says so when the image prints nothing', async () => {
    const lab = labId();
    builtLabs.add(lab);
    const learner = builder();
    const result = await learner.build({ labId: lab, dockerfile: `FROM ${baseImage}\nCMD ["true"]`, files: [] });
    const run = await learner.run(result.tag, lab);
    expect(run.output).toBe('');
    expect(run.note).toMatch(/printed nothing.*CMD \["echo"/s);
  });
});

describe('learner build: the run', () => {
  it('runs the image read-only and says where a container may write', async () => {
    const lab = labId();
    builtLabs.add(lab);
    const learner = builder();
    const result = await learner.build({
      labId: lab,
      dockerfile: `FROM ${baseImage}\nCMD ["/bin/sh", "-c", "echo saved > /tmp/note && cat /tmp/note && echo lost > /note"]`,
      files: [],
    });
    const run = await learner.run(result.tag, lab);
    expect(run.output).toContain('saved');
    expect(run.output).toContain('Read-only file system');
    expect(run.exitCode).not.toBe(0);
    expect(run.note).toMatch(/read-only.*Write to \/tmp/s);
  });
});

describe('learner build: refused before anything runs', () => {
  it('refuses a FROM that is not allowed, naming the allowed base image', async () => {
    const error = await caught(
      builder().build({ labId: labId(), dockerfile: 'FROM ubuntu:22.04\nRUN echo hi', files: [] }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.fromNotAllowed);
    expect(error.userMessage).toContain('FROM "ubuntu:22.04" is not allowed here');
    expect(error.userMessage).toContain(baseImage);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('refuses a context above 1 MiB without sending it to Docker', async () => {
    const error = await caught(
      builder().build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nCOPY big.bin /big.bin`,
        files: [file('big.bin', randomBytes(1024 * 1024 + 1))],
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.contextTooLarge);
    expect(error.userMessage).toMatch(/add up to 1\.0 MiB; a lab build takes at most 1\.0 MiB/);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('explains a COPY of a file that was not sent and a CMD that is not JSON', async () => {
    const missing = await caught(
      builder().build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nCOPY hello.sh /app/\nCMD ["/bin/sh", "/app/hello.sh"]`,
        files: [file('Hello.sh', 'echo hi')],
      }),
    );
    expect(missing.code).toBe(LearnerBuildErrorCode.copyMissingFile);
    expect(missing.userMessage).toContain(
      'needs "hello.sh", but you did not send a file of that name. You sent: Hello.sh',
    );
    const notJson = await caught(
      builder().build({ labId: labId(), dockerfile: `FROM ${baseImage}\nCMD ['echo', 'hi']`, files: [] }),
    );
    expect(notJson.code).toBe(LearnerBuildErrorCode.cmdNotJson);
    expect(notJson.userMessage).toContain('JSON needs double quotes');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });
});

describe('learner build: limits enforced while building', () => {
  let server: Server;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_request, response) => {
      hits += 1;
      response.end('reached');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('gives RUN steps no network: only loopback, and a server on the host is not reached', async () => {
    const port = (server.address() as AddressInfo).port;
    const lines: string[] = [];
    const error = await caught(
      builder().build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nRUN cat /proc/net/dev | cut -d: -f1 | tail -n +3 && wget -T 3 -O - http://127.0.0.1:${port}/`,
        files: [],
        onLog: (line) => lines.push(line.trim()),
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.stepFailed);
    expect(error.userMessage).toContain('Build steps in a lab have no network');
    expect(lines).toContain('lo');
    expect(lines.filter((line) => /^(eth|ens|wl)/.test(line))).toEqual([]);
    expect(hits).toBe(0);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('stops a fork bomb at the pids limit', async () => {
    const error = await caught(
      builder({ limits: { pidsLimit: 32 } }).build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nRUN i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; wait`,
        files: [],
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.pidsLimit);
    expect(error.userMessage).toContain('tried to start too many processes: a lab build step may run at most 32');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('refuses a 2 GB file at the file size limit', async () => {
    const error = await caught(
      builder().build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nRUN dd if=/dev/zero of=/big.bin bs=1M count=2048`,
        files: [],
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.fileSizeLimit);
    expect(error.userMessage).toContain('tried to write a file bigger than 64.0 MiB');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('refuses an image above the image size limit', async () => {
    const error = await caught(
      builder({ limits: { maxImageBytes: 40 * 1024 ** 2 } }).build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nRUN dd if=/dev/zero of=/a.bin bs=1M count=30\nRUN dd if=/dev/zero of=/b.bin bs=1M count=30`,
        files: [],
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.imageTooLarge);
    expect(error.userMessage).toMatch(/Your image is \d+\.\d MiB; lab images may be at most 40\.0 MiB/);
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });

  it('stops a build that runs past its time limit', async () => {
    const error = await caught(
      builder({ limits: { buildTimeoutMs: 3000 } }).build({
        labId: labId(),
        dockerfile: `FROM ${baseImage}\nRUN echo step one > /one\nRUN sleep 60`,
        files: [],
      }),
    );
    expect(error.code).toBe(LearnerBuildErrorCode.buildTimeout);
    expect(error.userMessage).toContain('took longer than 3 seconds and was stopped at line 3');
    expect(await leftovers()).toEqual({ containers: 0, images: 0 });
  });
});
