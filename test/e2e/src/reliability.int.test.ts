// Reliability under faults, on a redis-server of this file's own (so killing it disturbs no other test):
// - Redis (AOF, fsync on every write) killed and started again in the middle of a burst of /lab start;
// - kube-sim failing 20% of requests (500/503), refusing writes with 409 and dropping watches.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labIdFor } from '@labbot/core';
import { type SlackSim, slackMessageText, startSlackSim } from '@labbot/slack-sim';
import { freePort, waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RUNNER, type LabHarness, type LocalChat, labWait, startLabHarness } from './harness.js';
import { type SlackBotOnSim, startSlackBotOn } from './slack-bot.js';
import { showLastLinesOnFailure } from './test-logs.js';

let redis: ChildProcess | undefined;
let port = 0;
const dataDir = mkdtempSync(join(tmpdir(), 'labbot-redis-aof-'));
let harness: LabHarness;
let chat: LocalChat;
let started: LabHarness | undefined;

/** Each describe gets a fresh harness (kube-sim, a runner, the local chat) on its own database of this Redis. */
async function useHarness(redisDb: number, env: Record<string, string> = {}): Promise<void> {
  await started?.stop();
  started = undefined;
  harness = await startLabHarness({ redisDb, redisServer: `redis://127.0.0.1:${port}`, kubelet: 'virtual', env });
  started = harness;
  await harness.startRunner(FAST_RUNNER);
  chat = await harness.startChat();
}

const listening = (target: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(target, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

async function startRedis(): Promise<void> {
  redis = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--dir',
      dataDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
    ],
    { stdio: 'ignore' },
  );
  await waitForValue(
    'redis-server to listen',
    () => listening(port),
    (up) => up,
    { ...labWait, timeoutMs: 10_000 },
  );
}

async function killRedis(): Promise<void> {
  const child = redis;
  redis = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  port = await freePort();
  await startRedis();
});

afterAll(async () => {
  // A harness stops on a live Redis (a failed test may have left it down), then the server goes.
  if (!redis) await startRedis().catch(() => {});
  try {
    await started?.stop();
  } finally {
    // Whatever happened above, this file's redis-server does not outlive it.
    await killRedis();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

describe('Redis restarted during a burst of /lab start', () => {
  beforeAll(() => useHarness(1));

  it('loses no lab and no job: every lab becomes ready, once', async () => {
    const users = Array.from({ length: 10 }, (_, index) => `burst-${index}`);
    const labIds = users.map((userId) =>
      labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: 'docker-vs-kubernetes' }),
    );
    const typed = users.map((userId) => chat.type('start docker-vs-kubernetes', userId));
    // Killed once the first labs are recorded, while the others are being typed and reconciled.
    await waitForValue(
      'the first lab',
      () => harness.store.get(labIds[0] ?? ''),
      (lab) => lab !== undefined,
      {
        ...labWait,
        timeoutMs: 30_000,
      },
    );
    await killRedis();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await startRedis();
    await Promise.all(typed);

    // Under CI load the labs take longer after the restart: the wait ends before the test's own timeout, naming
    // each lab's phase and step, so a lab that is lost or stuck is reported, not a bare timeout.
    const ready = await Promise.all(
      labIds.map((labId) => harness.waitForLab(labId, (lab) => lab.observed.phase === 'ready', 200_000)),
    ).catch(async (error: unknown) => {
      const states = await Promise.all(
        labIds.map(async (labId) => {
          const lab = await harness.store.get(labId);
          return `${labId}: ${lab ? `${lab.observed.phase}/${lab.observed.step ?? '-'}` : 'missing'}`;
        }),
      );
      throw new Error(`not every lab became ready after the Redis restart:\n${states.join('\n')}`, { cause: error });
    });
    for (const lab of ready) {
      expect(lab.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
      const thread = await waitForValue(
        `3/3 in the thread of ${lab.owner.userId}`,
        () => chat.thread(lab),
        (texts) => (texts[0] ?? '').includes('Pods ready: 3/3'),
        { ...labWait, timeoutMs: 20_000 },
      );
      expect(thread).toHaveLength(1);
    }
    expect(chat.adapter.channelTexts().filter((text) => text.includes('opened'))).toHaveLength(10);
  }, 300_000);
});

describe('kube-sim failing 20% of requests (500/503), refusing 10% of writes with 409 and dropping watches', () => {
  const labIdOf = (userId: string) =>
    labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: 'docker-vs-kubernetes' });

  beforeAll(() => useHarness(2));

  it('brings every lab to ready, and the learner never sees an error', async () => {
    harness.sim.setFaults({
      errorRate: { '*': 0.2 },
      errorCodes: [500, 503],
      conflictRate: 0.1,
      dropWatchesAfterMs: 2000,
      dropWatchesAbruptly: true,
    });
    const users = Array.from({ length: 5 }, (_, index) => `faulty-${index}`);
    await Promise.all(users.map((userId) => chat.type('start docker-vs-kubernetes', userId)));
    const ready = await Promise.all(
      users.map((userId) => harness.waitForLab(labIdOf(userId), (lab) => lab.observed.phase === 'ready', 120_000)),
    );
    harness.sim.setFaults({});
    const injected = harness.sim.stats();
    expect(injected.total).toBeGreaterThan(0);
    for (const lab of ready) {
      expect(lab.observed.error).toBeUndefined();
      expect(lab.observed.pods.filter((pod) => pod.ready)).toHaveLength(3);
      const thread = await waitForValue(
        `3/3 in the thread of ${lab.owner.userId}`,
        () => chat.thread(lab),
        (texts) => (texts[0] ?? '').includes('Pods ready: 3/3'),
        { ...labWait, timeoutMs: 20_000 },
      );
      expect(thread.join('\n')).not.toMatch(/❌|fault injected|500|503/);
    }
  });

  it('shows one clear sentence, without codes or internals, once the retries run out', async () => {
    harness.sim.setFaults({ errorRate: { 'patch deployments': 1 }, errorCode: 503 });
    try {
      await chat.type('start docker-vs-kubernetes', 'unlucky');
      const failed = await harness.waitForLab(labIdOf('unlucky'), (lab) => lab.observed.phase === 'failed', 120_000);
      expect(failed.observed.error?.message).toBe(
        'The lab cluster is not reachable right now. Please try again in a minute.',
      );
      const thread = await waitForValue(
        'the failure in the thread',
        () => chat.thread(failed),
        (texts) => (texts[0] ?? '').includes('❌ The lab cluster'),
        { ...labWait, timeoutMs: 20_000 },
      );
      expect(thread).toHaveLength(1);
      expect(thread[0]).not.toMatch(/fault injected|503|ServiceUnavailable|Error:/);
    } finally {
      harness.sim.setFaults({});
    }
  });
});

describe('Slack failing while a lab starts: 5xx answers, a 429 storm, the status message deleted', () => {
  const CHANNEL = 'C0LABS0001';
  const USER = 'U0STORMY01';
  let slack: SlackSim;
  let onSlack: SlackBotOnSim | undefined;
  // The bot's warnings about the faults below are expected: shown only when the test fails.
  showLastLinesOnFailure(() => [onSlack?.logs]);
  beforeAll(async () => {
    slack = await startSlackSim();
    await useHarness(3, {
      LABBOT_SLACK_BOT_TOKEN: slack.botToken,
      LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
      LABBOT_SLACK_API_URL: slack.apiUrl,
    });
    onSlack = await startSlackBotOn(harness, slack, { minEditIntervalMs: 200 });
  });

  afterAll(async () => {
    await onSlack?.bot.close();
    await slack?.stop();
  });

  it('still shows the final status in the thread, once, and waits out every Retry-After', async () => {
    const driver = onSlack!.driver;
    const lessonId = 'docker-vs-kubernetes';
    const labId = labIdFor({ platform: 'slack', workspaceId: slack.teamId, userId: USER, lessonId });
    const answer = await driver.slashCommand({ text: `start ${lessonId}`, userId: USER, channelId: CHANNEL });
    expect(answer.status).toBe(200);
    const lab = await harness.waitForLab(labId, (record) => record.threadId !== undefined, 30_000);
    const threadTs = lab.threadId?.split(':')[3] ?? '';
    // Someone deletes the first status message while the lab starts; then Slack breaks: the edits meet 500s and a
    // 429 storm, the post that replaces the deleted message meets 503s.
    const first = await waitForValue(
      'the first status post',
      () => slack.threadReplies(CHANNEL, threadTs),
      (replies) => replies.length > 0,
      { ...labWait, timeoutMs: 30_000 },
    );
    slack.deleteMessage(CHANNEL, first[0]?.ts ?? '');
    // Six failures in all: more than a BullMQ job's attempts (5), which the outbox does not spend on them.
    slack.failRequests({ method: 'chat.update', error: 'internal_error', status: 500, count: 3 });
    slack.rateLimit({ method: 'chat.update', count: 4, retryAfterSeconds: 1 });
    slack.failRequests({ method: 'chat.postMessage', error: 'service_unavailable', status: 503, count: 3 });
    expect((await harness.store.get(labId))?.observed.phase).not.toBe('ready');

    await harness.waitForLab(labId, (record) => record.observed.phase === 'ready', 120_000);
    const replies = await waitForValue(
      '3/3 in the thread',
      () => slack.threadReplies(CHANNEL, threadTs),
      (list) => list.length === 1 && slackMessageText(list[0] ?? { text: '', blocks: [] }).includes('3/3'),
      { ...labWait, timeoutMs: 60_000 },
    );
    expect(replies).toHaveLength(1);
    expect(slack.violations.filter((violation) => violation.kind === 'rate-limit-ignored')).toEqual([]);
  });
});
