// The rolling-update lesson on Slack: the real Bolt app driven by slack-sim; `/lab apply` opens a modal with a
// multi-line input (views.open), the learner submits v2 there (view_submission), then undoes the rollout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labIdFor } from '@labbot/core';
import { builtInLessonsDir } from '@labbot/lessons';
import { type JsonObject, type SlackDriver, type SlackSim, startSlackSim } from '@labbot/slack-sim';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LabHarness, labWait, startLabHarness } from './harness.js';
import { type SlackBotOnSim, slackEnv, startSlackBotOn } from './slack-bot.js';

const CHANNEL = 'C0LABS0001';
const ADA = 'U0LEARNER1';
const LESSON = 'rolling-update';

let slack: SlackSim;
let lab: LabHarness;
let onSlack: SlackBotOnSim | undefined;
let driver: SlackDriver;
let labId = '';

function lessonManifest(): string {
  const lesson = readFileSync(join(builtInLessonsDir(), LESSON, 'lesson.yaml'), 'utf8');
  return (/```yaml\n([\s\S]*?)```/.exec(lesson)?.[1] ?? '').replace(/^ {6}/gm, '');
}

/** The text of the newest answer the bot sent through a response_url. */
const lastAnswer = () => onSlack?.lastAnswer() ?? '';

async function command(text: string): Promise<void> {
  const before = slack.responsePosts.length;
  const answer = await driver.slashCommand({ text, userId: ADA, channelId: CHANNEL });
  expect(answer.status).toBe(200);
  await waitForValue(
    `an answer to ${text}`,
    () => slack.responsePosts.length,
    (count) => count > before,
    { ...labWait, timeoutMs: 60_000 },
  );
}

async function podImages(): Promise<string[]> {
  const record = await lab.store.get(labId);
  return [...new Set(record?.observed.pods.map((pod) => pod.image ?? '') ?? [])];
}

beforeAll(async () => {
  slack = await startSlackSim();
  lab = await startLabHarness({
    redisDb: 22,
    kubelet: 'virtual',
    env: slackEnv(slack),
  });
  await lab.startRunner();
  onSlack = await startSlackBotOn(lab, slack);
  ({ driver } = onSlack);
  labId = labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId: ADA, lessonId: LESSON });
});

afterAll(async () => {
  await onSlack?.bot.close();
  await lab?.stop();
  await slack?.stop();
});

describe('the rolling-update lesson on Slack', () => {
  it('applies v2 from the /lab apply modal, rolls it out, and undoes it back to v1', async () => {
    await driver.slashCommand({ text: `start ${LESSON}`, userId: ADA, channelId: CHANNEL });
    const started = await lab.waitForLab(labId, (record) => record.observed.phase === 'ready', 120_000);
    const { 'rolling-update:v1': v1, 'rolling-update:v2': v2 } = started.observed.images ?? {};
    expect(await podImages()).toEqual([v1]);

    // `/lab apply` without a file opens a modal with one multi-line input.
    const viewsBefore = slack.views.length;
    const opened = await driver.slashCommand({ text: 'apply', userId: ADA, channelId: CHANNEL });
    expect(opened.status).toBe(200);
    const [view] = await waitForValue(
      'the apply modal',
      () => slack.views.slice(viewsBefore),
      (views) => views.length === 1,
      { ...labWait, timeoutMs: 10_000 },
    );
    expect(view?.['callback_id']).toBe('labbot_document');

    // A hostile submission is refused with its field path; nothing changes in the lab.
    const hostile = lessonManifest().replace(
      '    spec:\n      containers:',
      '    spec:\n      hostPID: true\n      containers:',
    );
    let before = slack.responsePosts.length;
    const refused = await driver.viewSubmission({
      view: view as JsonObject,
      userId: ADA,
      values: { document: { document: hostile } },
    });
    expect(refused.status).toBe(200);
    await waitForValue(
      'the refusal',
      () => slack.responsePosts.length,
      (count) => count > before,
      { ...labWait, timeoutMs: 60_000 },
    );
    expect(lastAnswer()).toMatch(/Nothing was applied/);
    expect(lastAnswer()).toMatch(/spec\.template\.spec\.hostPID/);
    expect(await podImages()).toEqual([v1]);

    before = slack.responsePosts.length;
    await driver.slashCommand({ text: 'apply', userId: ADA, channelId: CHANNEL });
    const [second] = await waitForValue(
      'the second apply modal',
      () => slack.views.slice(viewsBefore + 1),
      (views) => views.length === 1,
      { ...labWait, timeoutMs: 10_000 },
    );
    await driver.viewSubmission({
      view: second as JsonObject,
      userId: ADA,
      values: { document: { document: lessonManifest() } },
    });
    await waitForValue(
      'the apply answer',
      () => slack.responsePosts.length,
      (count) => count > before,
      { ...labWait, timeoutMs: 60_000 },
    );
    expect(lastAnswer()).toContain('deployment.apps/web serverside-applied');
    await waitForValue('only v2 pods', podImages, (images) => images.length === 1 && images[0] === v2, {
      ...labWait,
      timeoutMs: 60_000,
    });
    await lab.waitForLab(labId, (record) => record.observed.pods.filter((pod) => pod.ready).length === 4);

    await command('kubectl rollout status deployment/web');
    expect(lastAnswer()).toContain('deployment "web" successfully rolled out');
    await command('kubectl rollout undo deployment/web');
    expect(lastAnswer()).toContain('deployment.apps/web rolled back');
    await waitForValue('only v1 pods', podImages, (images) => images.length === 1 && images[0] === v1, {
      ...labWait,
      timeoutMs: 60_000,
    });
    await lab.waitForLab(labId, (record) => record.observed.pods.filter((pod) => pod.ready).length === 4);
    await command('kubectl rollout history deployment/web');
    // Revision 1 became 3 (the undo re-used its ReplicaSet); Slack escapes the angle brackets of mrkdwn.
    expect(lastAnswer()).toMatch(/REVISION\s+CHANGE-CAUSE\n2\s+&lt;none&gt;\n3\s+&lt;none&gt;/);
    await command('check');
    expect(lastAnswer()).toMatch(/3\/3 passed/);
  });
});
