// A runner killed in the middle of a class (SIGKILL while labs build) and a restarted chat process: a second runner
// finishes every lab with no duplicate lab, namespace, thread or status message, and the board catches up.
// Redis DB 18, kube-sim with the virtual kubelet.

import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import type { TerminalChatAdapter } from '@labbot/chat-terminal';
import { labIdFor } from '@labbot/core';
import { waitForValue } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassChat, startClassChat } from './class-chat.js';
import { type RunnerProcess, startRunnerProcess } from './fixture-process.js';
import { type LabHarness, startLabHarness } from './harness.js';
import { makeLessonsDir } from './lessons.js';

// A lesson whose build takes a few seconds, so the runner dies while the class's labs wait on it.
const LESSON = `class-slow-${randomBytes(3).toString('hex')}`;
const lessons = makeLessonsDir([{ id: LESSON, dockerfile: (text) => text.replace(/^USER /m, 'RUN sleep 4\nUSER ') }]);
const LEARNERS = ['ann', 'ben', 'cleo', 'dev', 'eli', 'fay', 'gus', 'hana'];
const BOARD = 'local:local:terminal:terminal';

let harness: LabHarness;
let child: RunnerProcess | undefined;
const chats: ClassChat[] = [];

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: LESSON });

/** A chat process of the class (a new one replaces it after the crash, as a restarted bot). */
async function startChat(): Promise<TerminalChatAdapter> {
  const chat = await startClassChat(harness, {
    name: 'class-recovery',
    classes: { maxLearners: 50, maxConcurrentProvisions: 4 },
  });
  chats.push(chat);
  return chat.adapter;
}

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 18, kubelet: 'virtual', env: { LABBOT_LESSONS_DIR: lessons.dir } });
});

afterAll(async () => {
  await child?.stop('SIGKILL');
  for (const chat of chats) await chat.stop().catch(() => {});
  await harness?.stop();
  await lessons.remove();
});

describe('a class whose runner dies', () => {
  it('recovers: every learner gets exactly one lab, namespace, thread and status message; the board reaches all ready', async () => {
    // The runner in its own process, as admin of kube-sim, so it can be SIGKILLed mid-provisioning.
    child = await startRunnerProcess(harness, { KUBECONFIG: harness.kubeconfigPath });

    let adapter = await startChat();
    await adapter.handleLine(`/lab class start ${LESSON}`);
    const classId = /Class ([0-9a-f]{10})/.exec(adapter.channelTexts().at(-1) ?? '')?.[1] ?? '';
    expect(classId).not.toBe('');
    await Promise.all(LEARNERS.map((name) => adapter.handleLine(`as ${name}: /lab class join`)));
    await harness.waitForLab(labOf('ann'), (lab) => lab.observed.phase === 'building', 30_000);
    await child.stop('SIGKILL');

    // The chat process restarts too (a new terminal session): it redraws the board of the open class.
    const threadsBefore = new Map(
      await Promise.all(
        LEARNERS.map(async (name) => [name, (await harness.store.get(labOf(name)))?.threadId] as const),
      ),
    );
    await chats[0]?.stop();
    adapter = await startChat();
    await harness.startRunner();

    for (const name of LEARNERS) {
      const lab = await harness.waitForLab(labOf(name), (record) => record.observed.phase === 'ready', 120_000);
      expect(lab.classId).toBe(classId);
      // The same thread as before the crash: no second thread was opened.
      expect(lab.threadId).toBe(threadsBefore.get(name));
    }
    expect(await harness.store.listByClass(classId)).toHaveLength(LEARNERS.length);
    const core = harness.kubeConfig.makeApiClient(CoreV1Api);
    expect((await core.listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items).toHaveLength(
      LEARNERS.length,
    );
    // The new chat session shows one status message per learner's thread (edited, never posted twice).
    for (const name of LEARNERS) {
      const lab = await harness.store.get(labOf(name));
      await waitForValue(
        `${name}'s one status message at 3/3`,
        () => adapter.threadTexts(lab?.threadId ?? ''),
        (texts) => texts.length === 1 && /Pods ready: 3\/3/.test(texts[0] ?? ''),
        { timeoutMs: 20_000, intervalMs: 100 },
      );
    }
    const [board] = await waitForValue(
      'the board showing every learner ready',
      () => adapter.threadTexts(BOARD),
      (texts) => texts.length === 1 && new RegExp(`Ready: ${LEARNERS.length}\\b`).test(texts[0] ?? ''),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    expect(board).toContain(`Joined: ${LEARNERS.length}`);

    await adapter.handleLine('/lab class end');
    await waitForValue(
      'no namespace of the class',
      async () => (await core.listNamespace({ labelSelector: `labbot.dev/class=${classId}` })).items.length,
      (count) => count === 0,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  });
});
