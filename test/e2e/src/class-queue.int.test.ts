// #14's queue position in the local chat (Redis DB 25, virtual kubelet): a class that sets up 2 labs at a time and
// 8 learners; each learner who waits reads their place in line in their thread, it shrinks as the line moves, and
// the message turns into their lab's status when their lab starts.
import { labIdFor } from '@labbot/core';
import type { Runner } from '@labbot/runner';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClassChat, startClassChat } from './class-chat.js';
import { provisioningOrder } from './class-order.js';
import { type LabHarness, startLabHarness } from './harness.js';

const LESSON = 'docker-vs-kubernetes';
const LEARNERS = ['amy', 'bo', 'cy', 'di', 'ed', 'flo', 'gus', 'hu'];

let harness: LabHarness;
let runner: Runner | undefined;
let chat: ClassChat;

const labOf = (userId: string) => labIdFor({ platform: 'local', workspaceId: 'local', userId, lessonId: LESSON });
const say = (line: string) => chat.say(line);
const PLACE = /You are (\d+)(?:st|nd|rd|th) in line/;

beforeAll(async () => {
  harness = await startLabHarness({ redisDb: 25, kubelet: 'virtual' });
  chat = await startClassChat(harness, {
    name: 'class-queue',
    classes: { maxLearners: 8, maxConcurrentProvisions: 4 },
  });
}, 120_000);

afterAll(async () => {
  await chat?.stop();
  await harness?.stop();
});

describe('queue position in a learner’s thread', () => {
  it('8 learners, 2 labs at a time: each waiting learner sees their place shrink in order, then their lab’s status', async () => {
    // No runner while they join: every lab is in line when the runner starts, so the first places are exact.
    await say('/lab class start docker-vs-kubernetes 30 8 at-once=2');
    const classId = /Class ([0-9a-f]{10})/.exec(chat.lastChannelText())?.[1] ?? '';
    expect(classId).toMatch(/^[0-9a-f]{10}$/);
    for (const name of LEARNERS) await say(`as ${name}: /lab class join`);
    const threads = new Map<string, string>();
    for (const name of LEARNERS) threads.set(name, (await harness.store.get(labOf(name)))?.threadId ?? '');

    // What each learner's thread said over time (the terminal shows the newest version of each message).
    const seen = new Map<string, string[]>(LEARNERS.map((name) => [name, []]));
    const look = () => {
      for (const name of LEARNERS) {
        const status = chat.adapter.threadTexts(threads.get(name) ?? '').join('\n');
        const texts = seen.get(name) ?? [];
        if (texts.at(-1) !== status) texts.push(status);
      }
    };
    const watcher = setInterval(look, 20);
    // Each Kubernetes request takes 500 ms more, so a lab holds its slot for seconds and the line moves slower than
    // a class lab's status message may be edited (every 4 s): the learners behind see their place change.
    harness.sim.setFaults({ latencyMs: 500 });
    try {
      runner = await harness.startRunner();
      for (const name of LEARNERS) {
        await harness.waitForLab(labOf(name), (record) => record.observed.phase === 'ready', 90_000);
      }
      // The last status edit of a class lab may come up to 4 s after its change: until every thread shows its lab
      // ready (what the checks below expect of the last text), or the checks show what it said instead.
      await waitFor(
        'every thread to show its lab ready',
        () => {
          look();
          return LEARNERS.every((name) => /· ready/.test(seen.get(name)?.at(-1) ?? ''));
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      ).catch(() => {});
    } finally {
      clearInterval(watcher);
      harness.sim.setFaults({});
      await runner?.stop();
    }

    const placesOf = (name: string) =>
      (seen.get(name) ?? []).flatMap((text) => {
        const match = PLACE.exec(text);
        return match ? [Number(match[1])] : [];
      });
    // The last joiner waited behind 2 labs in slots and 5 in line (6th at first) and saw the line move.
    const last = placesOf('hu');
    expect(last[0], (seen.get('hu') ?? []).join('\n=====\n')).toBeLessThanOrEqual(6);
    expect(new Set(last).size, last.join(' → ')).toBeGreaterThanOrEqual(2);
    for (const name of LEARNERS) {
      const places = placesOf(name);
      expect(places, `${name}: ${places.join(' → ')}`).toEqual([...new Set(places)].sort((a, b) => b - a));
      // Once the lab started, the place is gone: the message is the lab's status.
      const final = seen.get(name)?.at(-1) ?? '';
      expect(final, name).not.toMatch(PLACE);
      expect(final, name).toMatch(/· ready/);
    }
    // The first two never waited; everyone else was told a place.
    expect(placesOf('amy')).toEqual([]);
    expect(placesOf('bo')).toEqual([]);
    for (const name of LEARNERS.slice(2)) expect(placesOf(name).length, name).toBeGreaterThan(0);
    console.info(`places seen: ${LEARNERS.map((name) => `${name} ${placesOf(name).join('→') || '-'}`).join(', ')}`);
    const order = await provisioningOrder(harness, classId);
    expect(order.started).toBe(8);
    expect(order.outOfOrder).toEqual([]);
    await say('/lab class end');
  });
});
