import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, startLabHarness } from './harness.js';

// The your-first-image lesson in the local chat, with the learner's own Dockerfile: build and run it,
// then generate the Deployment manifest the kubectl way. (Applying it needs /lab apply, issue #12.)
let harness: LabHarness;
let chat: LocalChat;
let folder: string;
const user = `grace-${process.pid}`;
const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: user, lessonId: 'your-first-image' });
const docker = new Dockerode();
const lastAnswer = () => chat.adapter.channelTexts().at(-1) ?? '';

async function learnerFolder(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(folder, 'image-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

async function labImages(): Promise<number> {
  const images = await docker.listImages({ filters: JSON.stringify({ label: [`labbot.dev/lab=${labId}`] }) });
  return images.length;
}

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'labbot-your-first-image-'));
  harness = await startLabHarness({ redisDb: 10, kubelet: 'virtual' });
  await harness.startRunner();
  chat = await harness.startChat();
  await chat.type('start your-first-image', user);
  // The learner builds and deploys: the lab has its namespace and waits for their pods.
  await harness.waitForLab(labId, (lab) => lab.observed.phase === 'waiting-for-pods');
});

afterAll(async () => {
  await harness?.stop();
  await rm(folder, { recursive: true, force: true });
});

describe('your-first-image in the local chat', () => {
  it('refuses a FROM the lesson does not allow, naming the one it does, and builds nothing', async () => {
    const dir = await learnerFolder({ Dockerfile: 'FROM ubuntu:22.04\nCMD ["echo", "hi"]\n' });
    await chat.type(`build ${dir}`, user);
    expect(lastAnswer()).toContain('$ docker build · refused');
    expect(lastAnswer()).toContain('FROM "ubuntu:22.04" is not allowed here');
    expect(lastAnswer()).toContain('labbot/busybox:1');
    expect((await harness.store.get(labId))?.observed.imageTag).toBeUndefined();
  });

  it("builds the learner's Dockerfile, runs it once, and it becomes the lab's image", async () => {
    const dir = await learnerFolder({
      Dockerfile: [
        'FROM labbot/busybox:1',
        'COPY hello.sh /app/hello.sh',
        'USER 10001',
        'CMD ["/bin/sh", "/app/hello.sh"]',
        '',
      ].join('\n'),
      'hello.sh': `echo "Hello from ${user}'s first image!"\nexec httpd -f -p 8080 -h /tmp\n`,
    });
    await chat.type(`build ${dir}`, user);
    const answer = lastAnswer();
    expect(answer).toMatch(/^\$ docker build · built \S*labbot\/learner-[0-9a-f]{12}:[0-9a-f]{16}/);
    expect(answer).toContain('Step 2/4 : COPY hello.sh /app/hello.sh');
    expect(answer).toContain(`Hello from ${user}'s first image!`);
    // A server keeps running: the one-off run is stopped after its time, and the learner is told why.
    expect(answer).toContain('still running after');
    const lab = await harness.store.get(labId);
    expect(lab?.observed.imageTag).toMatch(new RegExp(`labbot/learner-${labId}:`));
    expect(lab?.observed.containerOutput).toContain(`Hello from ${user}'s first image!`);
    // The thread's status message shows the learner's image and its output, as for the lesson's image.
    const record = await harness.waitForLab(labId, () => true);
    const thread = await waitForValue(
      "the learner's output in the thread",
      () => chat.thread(record).join('\n'),
      (text) => text.includes(`Hello from ${user}'s first image!`),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(thread).toContain(`Image \`${lab?.observed.imageTag}\` built`);
  });

  it("generates the manifest the kubectl way with the lab's image, and explains it", async () => {
    await chat.type('kubectl create deployment hello --image=hello:1 --replicas=3 --dry-run=client -o yaml', user);
    const image = (await harness.store.get(labId))?.observed.imageTag ?? 'missing';
    const answer = lastAnswer();
    expect(answer).toContain('kind: Deployment');
    expect(answer).toContain('  replicas: 3');
    expect(answer).toContain(`      - image: ${image}`);
    expect(answer).toContain(`The image is your lab's own image \`${image}\` (not "hello:1")`);
    expect(answer).toContain('Nothing was sent to the cluster');
    expect((await harness.store.history(labId)).map((entry) => entry.action)).toContain('kubectl.create-deployment');
  });

  it("deletes the learner's images when the lab stops", async () => {
    expect(await labImages()).toBeGreaterThan(0);
    await chat.type('stop', user);
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
    expect(await labImages()).toBe(0);
  });
});
