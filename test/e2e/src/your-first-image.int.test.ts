import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { labIdFor } from '@labbot/core';
import { type JsonObject, type SlackDriver, type SlackSim, startSlackSim } from '@labbot/slack-sim';
import { waitForValue } from '@labbot/test-support';
import Dockerode from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';
import { type SlackBotOnSim, slackEnv, startSlackBotOn } from './slack-bot.js';

// The your-first-image lesson in the local chat, with the learner's own Dockerfile and pods that are real
// containers: the trap first (a CMD that echoes and exits crash-loops as a Deployment, and the thread explains
// why), then a Dockerfile that keeps serving: built, run once, its manifest generated the kubectl way, edited,
// applied with /lab apply, 3 pods of the learner's image ready, and every step's check passing. Then the same on
// Slack (slack-sim and the real Bolt app): the files come from the /lab build modal, the edited manifest from the
// /lab apply modal.
let harness: LabHarness;
let chat: LocalChat;
let folder: string;
let slack: SlackSim;
const user = `grace-${process.pid}`;
// A Slack member id of this run: its lab (and image names) are this run's own.
const SLACK_LEARNER = `U0L${process.pid.toString(36).toUpperCase()}`;
const slackLearnerLab = () =>
  slack
    ? labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId: SLACK_LEARNER, lessonId: 'your-first-image' })
    : '';
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

/** The manifest in the answer to `kubectl create deployment ... -o yaml`, as the learner copies it. */
function generatedManifest(answer: string): string {
  const start = answer.indexOf('apiVersion: apps/v1');
  const end = answer.indexOf('status: {}', start);
  expect(start, answer).toBeGreaterThanOrEqual(0);
  expect(end, answer).toBeGreaterThan(start);
  return `${answer.slice(start, end + 'status: {}'.length)}\n`;
}

/** Generates the manifest, edits it as a learner would (replicas, a label of their own) and applies it. */
async function generateEditApply(name: string): Promise<string> {
  await chat.type('kubectl create deployment hello --image=IMAGE --replicas=1 --dry-run=client -o yaml', user);
  const generated = generatedManifest(lastAnswer());
  expect(generated).toContain('  replicas: 1\n');
  const edited = generated
    .replace('  replicas: 1\n', '  replicas: 3\n')
    .replace('      labels:\n        app: hello\n', '      labels:\n        app: hello\n        made-by: grace\n');
  expect(edited).toContain('made-by: grace');
  const file = path.join(folder, name);
  await writeFile(file, edited);
  await chat.type(`apply ${file}`, user);
  expect(lastAnswer()).toContain(`$ kubectl apply --server-side -f ${file}`);
  expect(lastAnswer(), lastAnswer()).toContain('deployment.apps/hello serverside-applied');
  return edited;
}

beforeAll(async () => {
  folder = await mkdtemp(path.join(tmpdir(), 'labbot-your-first-image-'));
  slack = await startSlackSim();
  harness = await startLabHarness({
    redisDb: 19,
    kubelet: 'docker',
    env: slackEnv(slack),
  });
  await harness.startRunner();
  chat = await harness.startChat();
  await chat.type('start your-first-image', user);
  // The learner builds and deploys: the lab has its namespace and waits for their pods.
  await harness.waitForLab(labId, (lab) => lab.observed.phase === 'waiting-for-pods');
});

/** Removes the images of these labs, whatever a failed or filtered run left (the lab's stop removes them too). */
async function removeLabImages(...labIds: string[]): Promise<void> {
  for (const id of labIds) {
    const images = await docker.listImages({ filters: JSON.stringify({ label: [`labbot.dev/lab=${id}`] }) });
    for (const image of images) {
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => {});
    }
  }
}

afterAll(async () => {
  await harness?.stop();
  await slack?.stop();
  await removeLabImages(labId, slackLearnerLab());
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
    expect(await labImages()).toBe(0);
  });

  it('the trap: a CMD that echoes builds and runs fine, but as a Deployment it crash-loops, and the thread says why', async () => {
    const dir = await learnerFolder({
      Dockerfile: 'FROM labbot/busybox:1\nUSER 10001\nCMD ["echo", "Hello, I print and I am done"]\n',
    });
    await chat.type(`build ${dir}`, user);
    expect(lastAnswer()).toMatch(/^\$ docker build · built /);
    expect(lastAnswer()).toContain('Hello, I print and I am done');
    expect(lastAnswer()).toContain('(exit code 0)');
    await generateEditApply('echo.yaml');
    const lab = await harness.waitForLab(
      labId,
      (record) => record.observed.diagnosis?.reason === 'CrashLoopBackOff',
      120_000,
    );
    // The status message in the thread shows the diagnosis and the lesson's explanation of the trap.
    const thread = await waitForValue(
      'the trap explained in the thread',
      () => chat.thread(lab).join('\n'),
      (text) => text.includes('The trap: a CMD that just echoes'),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(thread).toContain('CrashLoopBackOff');
    expect(thread.replace(/\s+/g, ' ')).toContain(
      'a container lives as long as its main process, the echo finishes at once',
    );
    await chat.type('check', user);
    expect(lastAnswer()).toContain('3/4 passed');
    expect(lastAnswer()).toMatch(
      /❌ Step 4: you applied it and 3 pods of your image are ready\n\s+💡 .*CrashLoopBackOff mean your CMD\s+ends/,
    );
  });

  it("builds a Dockerfile that keeps serving, applies the edited manifest, and 3 pods of the learner's image run", async () => {
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
    const built = await harness.store.get(labId);
    const image = built?.observed.imageTag ?? 'missing';
    expect(image).toMatch(new RegExp(`labbot/learner-${labId}:`));
    expect(built?.observed.containerOutput).toContain(`Hello from ${user}'s first image!`);

    // The manifest, generated with the lab's own image whatever the learner typed, and explained.
    await chat.type('kubectl create deployment hello --image=hello:1 --replicas=3 --dry-run=client -o yaml', user);
    expect(lastAnswer()).toContain(`      - image: ${image}`);
    expect(lastAnswer()).toContain(`The image is your lab's own image \`${image}\` (not "hello:1")`);
    expect(lastAnswer()).toContain('Nothing was sent to the cluster');

    const edited = await generateEditApply('hello.yaml');
    expect(edited).toContain(`      - image: ${image}`);
    const ready = await harness.waitForLab(
      labId,
      (record) => record.observed.pods.filter((pod) => pod.ready && pod.image === image).length === 3,
      120_000,
    );
    expect(ready.observed.desiredReplicas).toBe(3);
    await chat.type('kubectl get pods', user);
    expect(lastAnswer().match(/hello-\S+\s+1\/1\s+Running/g)).toHaveLength(3);
    // The learner's own label reached the pods.
    const pods = await harness.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ready.namespace, labelSelector: 'made-by=grace' });
    expect(pods.items.filter((pod) => pod.spec?.containers[0]?.image === image)).toHaveLength(3);
    await chat.type('check', user);
    expect(lastAnswer()).toContain('4/4 passed');
    for (const step of [1, 2, 3, 4]) expect(lastAnswer()).toContain(`✅ Step ${step}:`);
  });

  it("deletes the learner's images when the lab stops", async () => {
    expect(await labImages()).toBeGreaterThan(0);
    await chat.type('stop', user);
    await harness.waitForLab(labId, (lab) => lab.observed.phase === 'stopped');
    expect(await labImages()).toBe(0);
  });
});

describe('your-first-image on Slack (slack-sim, the real Bolt app)', () => {
  const CHANNEL = 'C0LABS0001';
  const LEARNER = SLACK_LEARNER;
  let onSlack: SlackBotOnSim | undefined;
  let driver: SlackDriver;
  let slackLab = '';

  beforeAll(async () => {
    onSlack = await startSlackBotOn(harness, slack);
    ({ driver } = onSlack);
    slackLab = labIdFor({
      platform: 'slack',
      workspaceId: slack.teamId,
      userId: LEARNER,
      lessonId: 'your-first-image',
    });
  });

  afterAll(async () => {
    await onSlack?.bot.close();
  });

  /** The text of the newest answer the bot sent through a response_url. */
  const lastSlackAnswer = () => onSlack?.lastAnswer() ?? '';

  /** Waits for the bot's next answer through a response_url after `send`. */
  async function answerTo(send: () => Promise<unknown>, what: string): Promise<string> {
    const before = slack.responsePosts.length;
    await send();
    await waitForValue(
      `an answer to ${what}`,
      () => slack.responsePosts.length,
      (count) => count > before,
      { ...labWait, timeoutMs: 90_000 },
    );
    return lastSlackAnswer();
  }

  const command = (text: string) =>
    answerTo(() => driver.slashCommand({ text, userId: LEARNER, channelId: CHANNEL }), text);

  /** Types a command that opens a modal and returns the modal. */
  async function modalOf(text: string): Promise<JsonObject> {
    const before = slack.views.length;
    const answer = await driver.slashCommand({ text, userId: LEARNER, channelId: CHANNEL });
    expect(answer.status).toBe(200);
    const [view] = await waitForValue(
      `the modal of ${text}`,
      () => slack.views.slice(before),
      (views) => views.length === 1,
      { ...labWait, timeoutMs: 10_000 },
    );
    return view as JsonObject;
  }

  const submit = (view: JsonObject, fields: Record<string, string>, what: string) =>
    answerTo(
      () =>
        driver.viewSubmission({
          view,
          userId: LEARNER,
          values: Object.fromEntries(Object.entries(fields).map(([block, value]) => [block, { [block]: value }])),
        }),
      what,
    );

  it('builds from the /lab build modal, applies the edited generated manifest from the /lab apply modal, 4/4 checks', async () => {
    await driver.slashCommand({ text: 'start your-first-image', userId: LEARNER, channelId: CHANNEL });
    await harness.waitForLab(slackLab, (lab) => lab.observed.phase === 'waiting-for-pods');

    // /lab build without files opens the form: the Dockerfile and the file it COPYs.
    const form = await modalOf('build');
    expect(form['callback_id']).toBe('labbot_files');
    const built = await submit(
      form,
      {
        file_main: 'FROM labbot/busybox:1\nCOPY hello.sh /app/hello.sh\nUSER 10001\nCMD ["/bin/sh", "/app/hello.sh"]\n',
        file_1_name: 'hello.sh',
        file_1_content: 'echo "Hello from Slack\'s first image!"\nexec httpd -f -p 8080 -h /tmp\n',
      },
      'the build form',
    );
    expect(built).toMatch(/docker build · built \S*labbot\/learner-[0-9a-f]{12}:[0-9a-f]{16}/);
    expect(built).toContain('Step 2/4 : COPY hello.sh /app/hello.sh');
    expect(built).toContain("Hello from Slack's first image!");
    const image = (await harness.store.get(slackLab))?.observed.imageTag ?? 'missing';
    expect(image).toMatch(new RegExp(`labbot/learner-${slackLab}:`));

    // The manifest, generated the kubectl way and edited: 3 replicas instead of 1, and a label of the learner's.
    const printed = await command(
      'kubectl create deployment hello --image=IMAGE --replicas=1 --dry-run=client -o yaml',
    );
    const manifest = generatedManifest(printed);
    expect(manifest).toContain(`      - image: ${image}`);
    const edited = manifest
      .replace('  replicas: 1\n', '  replicas: 3\n')
      .replace('      labels:\n        app: hello\n', '      labels:\n        app: hello\n        made-by: slack\n');
    expect(edited).not.toBe(manifest);

    // /lab apply without a file opens the document form; the edited manifest is submitted there.
    const applyForm = await modalOf('apply');
    expect(applyForm['callback_id']).toBe('labbot_document');
    const applied = await submit(applyForm, { document: edited }, 'the apply form');
    expect(applied).toContain('deployment.apps/hello serverside-applied');

    const ready = await harness.waitForLab(
      slackLab,
      (lab) => lab.observed.pods.filter((pod) => pod.ready && pod.image === image).length === 3,
      120_000,
    );
    expect(ready.observed.desiredReplicas).toBe(3);
    const pods = await harness.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedPod({ namespace: ready.namespace, labelSelector: 'made-by=slack' });
    expect(pods.items).toHaveLength(3);
    const checks = await command('check');
    expect(checks).toContain('4/4 passed');

    // Stopping the lab deletes the learner's images; Slack saw no protocol violation.
    await command('stop');
    await harness.waitForLab(slackLab, (lab) => lab.observed.phase === 'stopped');
    const left = await docker.listImages({ filters: JSON.stringify({ label: [`labbot.dev/lab=${slackLab}`] }) });
    expect(left).toEqual([]);
    expect(slack.violations).toEqual([]);
  });
});
