import type { ChatMessage, IncomingAction, IncomingCommand, Responder } from '@labbot/chat';
import { type Actor, createLabEvent, type KubectlCommand, type LabPhase } from '@labbot/core';
import { createManualClock, podFixture } from '@labbot/core/testing';
import { loadLessons } from '@labbot/lessons';
import type { MemoryQueues } from '@labbot/queue/testing';
import type { LabStore } from '@labbot/store';
import { createMemoryRateLimiter } from '@labbot/store/testing';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { CLASS_STATUS_INTERVAL_MS } from './class-bot.js';
import { createLabBot, type LabBot } from './lab-bot.js';
import { createLabBotOnFakes } from './testing/index.js';

const lessons = await loadLessons();
const ada: Actor = { platform: 'discord', workspaceId: 'guild-1', userId: 'ada', roles: [] };
const bob: Actor = { platform: 'discord', workspaceId: 'guild-1', userId: 'bob', roles: [] };
const teacher: Actor = { platform: 'discord', workspaceId: 'guild-1', userId: 'tess', roles: ['instructor'] };

let store: LabStore;
let queues: MemoryQueues;
let bot: LabBot;
let kubectlRuns: { labId: string; command: KubectlCommand; actor: string }[];
let threads: number;

/** What the bot answered: every call on the responder, in order. */
function recordingResponder() {
  const calls: { method: keyof Responder; message?: ChatMessage; text?: string; ephemeral?: boolean }[] = [];
  const respond: Responder = {
    defer: async () => {
      calls.push({ method: 'defer' });
    },
    reply: async (message, options) => {
      calls.push({ method: 'reply', message, ephemeral: options?.ephemeral ?? false });
    },
    error: async (text) => {
      calls.push({ method: 'error', text });
    },
    openThread: async ({ announcement }) => {
      calls.push({ method: 'openThread', message: announcement });
      threads++;
      return `discord:guild-1:chan-1:thread-${threads}`;
    },
  };
  const texts = () =>
    calls.map((call) =>
      call.method === 'error'
        ? `error: ${call.text}`
        : `${call.method}: ${[call.message?.title, ...(call.message?.blocks ?? []).map((b) => ('text' in b ? b.text : ''))].filter(Boolean).join(' | ')}`,
    );
  return { respond, calls, texts };
}

async function command(actor: Actor, text: string, where: { threadId?: string; isDirect?: boolean } = {}) {
  const recorder = recordingResponder();
  const incoming: IncomingCommand = {
    actor,
    text,
    conversation: { platform: 'discord', workspaceId: 'guild-1', channelId: 'chan-1', ...where },
    respond: recorder.respond,
  };
  await bot.handlers.onCommand(incoming);
  return recorder;
}

async function press(actor: Actor, action: IncomingAction['action'], target: string) {
  const recorder = recordingResponder();
  await bot.handlers.onAction({
    actor,
    action,
    target,
    conversation: { platform: 'discord', workspaceId: 'guild-1', channelId: 'chan-1' },
    respond: recorder.respond,
  });
  return recorder;
}

async function adasLab() {
  const [lab] = await store.listByOwner(ada);
  if (!lab) throw new Error('ada has no lab');
  return lab;
}

beforeEach(() => {
  threads = 0;
  ({ bot, store, queues, kubectlRuns } = createLabBotOnFakes({
    lessons,
    limits: { maxLabsPerUser: 1, maxActiveLabs: 3, labTtlMinutes: 60 },
    kubectlOutput: 'NAME    READY\nhello   1/1\n',
  }));
});

describe('/lab start', () => {
  it('records the lab, opens its thread, shows its status there and asks the runner once', async () => {
    const { calls } = await command(ada, 'start docker-vs-kubernetes');
    expect(calls.map((call) => call.method)).toEqual(['defer', 'openThread']);
    const lab = await adasLab();
    expect(lab).toMatchObject({
      lessonId: 'docker-vs-kubernetes',
      threadId: 'discord:guild-1:chan-1:thread-1',
      desired: { state: 'running', generation: 0 },
      observed: { phase: 'pending' },
    });
    expect(queues.takeReconciles()).toEqual([{ labId: lab.labId, reason: 'command.start' }]);
    expect(queues.latestOutbox(lab.threadId ?? '', 'status')?.message).toMatchObject({
      title: expect.stringContaining('queued'),
    });
  });

  it('says the lab already runs instead of starting a second one', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    queues.takeReconciles();
    const again = await command(ada, 'start docker-vs-kubernetes');
    expect(again.texts().at(-1)).toBe(
      'error: Your docker-vs-kubernetes lab is already running: see its thread. Use /lab reset to start it over.',
    );
    expect(queues.takeReconciles()).toEqual([]);
    expect(await store.listByOwner(ada)).toHaveLength(1);
  });

  it('starts a stopped lab again as a new generation in its old thread', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    await command(ada, 'stop');
    await store.update((await adasLab()).labId, (current) => ({
      ...current,
      observed: { ...current.observed, phase: 'stopped' },
    }));
    const again = await command(ada, 'start docker-vs-kubernetes');
    expect(again.texts().at(-1)).toBe('reply: Starting your docker-vs-kubernetes lab again in its thread.');
    expect((await adasLab()).desired).toEqual({ state: 'running', generation: 1 });
  });

  it.each([
    ['an unknown lesson', 'start no-such-lesson', {}, /no-such-lesson/],
    ['a direct message', 'start docker-vs-kubernetes', { isDirect: true }, /not in a direct message/],
    ['an unknown variant', 'start docker-vs-kubernetes nope', {}, /has no variant "nope"/],
  ] as const)('refuses %s with one short ephemeral error and records nothing', async (_, text, where, message) => {
    const { calls } = await command(ada, text, where);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe('error');
    expect(calls[0]?.text).toMatch(message);
    expect(await store.listAll()).toEqual([]);
  });

  it('refuses a new lab when every lab slot is in use', async () => {
    for (const userId of ['u1', 'u2', 'u3']) await command({ ...bob, userId }, 'start docker-vs-kubernetes');
    const full = await command(ada, 'start docker-vs-kubernetes');
    expect(full.texts()).toEqual(['error: All lab slots are in use right now. Please try again in a few minutes.']);
    expect(await store.listByOwner(ada)).toEqual([]);
  });
});

describe('lab commands and buttons', () => {
  beforeEach(async () => {
    await command(ada, 'start docker-vs-kubernetes');
    queues.takeReconciles();
  });

  it('/lab stop asks for a teardown once; a second stop says it is already stopping', async () => {
    const stop = await command(ada, 'stop');
    expect(stop.texts()).toEqual([
      'reply: Stopping the docker-vs-kubernetes lab: its namespace and pods are being removed.',
    ]);
    expect(stop.calls[0]?.ephemeral).toBe(true);
    expect((await adasLab()).desired.state).toBe('stopped');
    expect(queues.takeReconciles().map((job) => job.reason)).toEqual(['command.stop']);
    expect((await command(ada, 'stop docker-vs-kubernetes')).texts()).toEqual([
      'error: Your docker-vs-kubernetes lab is already stopping.',
    ]);
  });

  it('/lab reset bumps the generation and asks for a reconcile', async () => {
    const reset = await command(ada, 'reset docker-vs-kubernetes');
    expect(reset.texts()).toEqual([
      'reply: Resetting the docker-vs-kubernetes lab: it starts over from a fresh namespace.',
    ]);
    expect((await adasLab()).desired).toEqual({ state: 'running', generation: 1 });
    expect(queues.takeReconciles().map((job) => job.reason)).toEqual(['command.reset']);
  });

  it('/lab status answers the status message to the learner only', async () => {
    const status = await command(ada, 'status');
    expect(status.calls).toHaveLength(1);
    expect(status.calls[0]).toMatchObject({ method: 'reply', ephemeral: true });
    expect(status.calls[0]?.message?.title).toMatch(/queued$/);
  });

  it('/lab check shows each check with ✅/❌ and a hint', async () => {
    const check = await command(ada, 'check');
    const message = check.calls.at(-1)?.message;
    expect(message?.title).toMatch(/^Checks of .+: 0\/\d+ passed$/);
    expect(message?.tone).toBe('warning');
    expect(check.texts().at(-1)).toMatch(/❌ .+\n {3}💡 /);
  });

  it('/lab check of a ready lab whose container still runs: its output check is pending, not failed', async () => {
    const ready = (name: string) => podFixture(name, { ready: true });
    await store.update((await adasLab()).labId, (current) => ({
      ...current,
      observed: {
        ...current.observed,
        phase: 'ready',
        imageTag: 'labbot/docker-vs-kubernetes:abc',
        pods: [ready('hello-a'), ready('hello-b'), ready('hello-c')],
        desiredReplicas: 3,
      },
    }));
    const check = await command(ada, 'check');
    const message = check.calls.at(-1)?.message;
    expect(message?.title).toMatch(/^Checks of .+: 1\/3 passed, 1 pending$/);
    expect(check.texts().at(-1)).toContain(
      '⏳ The container said hello\n   💡 The container is still running; check again in a moment.',
    );
    expect(check.texts().at(-1)).not.toContain('look at the build log');
    expect(check.texts().at(-1)).toContain('✅ 3 pods of hello are ready');
  });

  it('/lab kubectl runs the command in the lab of this thread through the runner', async () => {
    const lab = await adasLab();
    const run = await command(ada, 'kubectl get pods', { threadId: lab.threadId ?? '' });
    expect(kubectlRuns).toEqual([
      { labId: lab.labId, command: expect.objectContaining({ verb: 'get' }), actor: 'ada' },
    ]);
    expect(run.calls.map((call) => call.method)).toEqual(['defer', 'reply']);
    expect(run.calls[1]?.message).toMatchObject({ title: '$ kubectl get pods', tone: 'info' });
  });

  it.each(['status', 'stop', 'reset', 'check'] as const)(
    "refuses another learner's %s button without touching the lab",
    async (action) => {
      const lab = await adasLab();
      const pressed = await press(bob, action, lab.labId);
      expect(pressed.texts()).toEqual(['error: You can only use your own labs.']);
      expect(await adasLab()).toEqual(lab);
      expect(queues.takeReconciles()).toEqual([]);
    },
  );

  it.each(['status', 'stop', 'reset', 'check'] as const)(
    'does what the %s button says for the owner',
    async (action) => {
      const lab = await adasLab();
      const pressed = await press(ada, action, lab.labId);
      expect(pressed.calls.map((call) => call.method)).toContain('reply');
    },
  );

  it('says a button of a lab that is gone no longer works', async () => {
    expect((await press(ada, 'status', '0123456789ab')).texts()).toEqual(['error: That lab no longer exists.']);
  });

  it("lists the learner's labs with their phase", async () => {
    expect((await command(ada, 'list')).texts()).toEqual([
      `reply: Your labs | • docker-vs-kubernetes: pending (lab ${(await adasLab()).labId})`,
    ]);
  });
});

describe('per-learner rate limits', () => {
  const limiterClock = createManualClock();
  beforeEach(() => {
    // A store whose full listing fails: /lab start must count labs from the store's index, not read them all.
    const counted: LabStore = {
      ...store,
      listAll: async () => {
        throw new Error('listAll read every lab');
      },
    };
    bot = createLabBot({
      store: counted,
      queues,
      kubectl: {
        run: async (job) => {
          kubectlRuns.push(job);
          return { ok: true, text: 'ok\n' };
        },
        close: async () => {},
      },
      lessons,
      instructorRoles: ['instructor'],
      limits: { maxLabsPerUser: 5, maxActiveLabs: 10, labTtlMinutes: 60 },
      rateLimiter: createMemoryRateLimiter({
        rules: { start: { limit: 2, windowMs: 60_000 }, kubectl: { limit: 2, windowMs: 60_000 } },
        clock: limiterClock.now,
      }),
    });
  });

  it('answers "slow down" with the wait, changes nothing, and lets the learner in again after the window', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    const lab = await adasLab();
    const where = { threadId: lab.threadId ?? '' };
    await command(ada, 'kubectl get pods', where);
    limiterClock.advance(15_000);
    await command(ada, 'kubectl get pods', where);
    const third = await command(ada, 'kubectl get pods', where);
    expect(third.texts()).toEqual(['error: Slow down: /lab kubectl is limited to 2 times in 60 s. Try again in 45 s.']);
    expect(kubectlRuns).toHaveLength(2);
    // Another learner is counted apart.
    expect((await command(bob, 'start docker-vs-kubernetes')).calls.map((call) => call.method)).toEqual([
      'defer',
      'openThread',
    ]);
    limiterClock.advance(45_000);
    expect((await command(ada, 'kubectl get pods', where)).calls.map((call) => call.method)).toEqual([
      'defer',
      'reply',
    ]);
    expect(kubectlRuns).toHaveLength(3);
  });

  it('limits /lab start before anything is recorded', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    await command(ada, 'start docker-vs-kubernetes');
    queues.takeReconciles();
    const third = await command(ada, 'start docker-vs-kubernetes');
    expect(third.texts()).toEqual(['error: Slow down: /lab start is limited to 2 times in 60 s. Try again in 60 s.']);
    expect(queues.takeReconciles()).toEqual([]);
    expect(await store.listByOwner(ada)).toHaveLength(1);
  });
});

describe('refusals and help', () => {
  it('answers bad input with one short ephemeral error', async () => {
    const { calls } = await command(ada, 'frobnicate now');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.method).toBe('error');
    expect(calls[0]?.text?.length).toBeLessThan(300);
  });

  it('refuses class commands on a labbot without class labs set up', async () => {
    expect((await command(teacher, 'class start docker-vs-kubernetes')).texts()).toEqual([
      'error: Class labs are not set up on this labbot.',
    ]);
  });

  it('refuses a lab command when the learner has no lab', async () => {
    expect((await command(ada, 'status')).texts()).toEqual([
      'error: You have no lab yet. Start one with /lab start docker-vs-kubernetes.',
    ]);
  });

  it('lists the lessons and the help ephemerally', async () => {
    const listed = await command(ada, 'lessons');
    expect(listed.texts()[0]).toMatch(/^reply: Lessons \| • docker-vs-kubernetes: /);
    const help = await command(ada, 'help');
    expect(help.calls[0]).toMatchObject({ method: 'reply', ephemeral: true, message: { title: 'labbot commands' } });
  });
});

describe('LabEvents', () => {
  it('shows the record as it is now in the lab thread when told the lab changed', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    const lab = await store.update((await adasLab()).labId, (current) => ({
      ...current,
      observed: { ...current.observed, phase: 'building', generation: 0 },
    }));
    await bot.handleLabEvent(createLabEvent('lab.changed', { labId: lab.labId, phase: 'pending' }));
    expect(queues.latestOutbox(lab.threadId ?? '', 'status')?.message).toMatchObject({
      title: expect.stringMatching(/building the image$/),
    });
  });

  it("shows a class lab's quick bring-up steps as one status edit, and its ready state at once", async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await command(ada, 'start docker-vs-kubernetes');
      const labId = (await adasLab()).labId;
      const threadId = (await adasLab()).threadId ?? '';
      const move = async (phase: LabPhase) => {
        await store.update(labId, (current) => ({
          ...current,
          classId: 'class-1',
          observed: { ...current.observed, phase, generation: 0 },
        }));
        await bot.handleLabEvent(createLabEvent('lab.changed', { labId, phase }));
      };
      const statusItems = () => queues.outbox.filter((item) => item.threadId === threadId && item.key === 'status');
      const titles = () =>
        statusItems()
          .slice(before)
          .map((item) => (item.message as ChatMessage).title);
      const before = statusItems().length;
      await move('provisioning');
      await move('running-once');
      expect(statusItems()).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(CLASS_STATUS_INTERVAL_MS);
      // One edit for both steps, showing where the lab is now.
      expect(titles()).toEqual([expect.stringMatching(/running one container with Docker$/)]);
      await move('ready');
      expect(titles()).toEqual([
        expect.stringMatching(/running one container with Docker$/),
        expect.stringMatching(/ready$/),
      ]);
      // A step held when the lab became ready is not shown after it.
      await move('deploying');
      await move('ready');
      await vi.advanceTimersByTimeAsync(CLASS_STATUS_INTERVAL_MS * 2);
      expect(statusItems().slice(before)).toHaveLength(3);
    } finally {
      vi.useRealTimers();
    }
  });

  it('warns the learner by name when the lab expires soon', async () => {
    await command(ada, 'start docker-vs-kubernetes');
    const lab = await adasLab();
    await bot.handleLabEvent(createLabEvent('lab.expiry-warning', { labId: lab.labId, expiresAt: lab.expiresAt }));
    const warning = queues.latestOutbox(lab.threadId ?? '', 'expiry-warning')?.message as ChatMessage | undefined;
    expect(warning?.blocks[0]).toMatchObject({
      text: expect.stringContaining('<@ada> this lab expires in about 60 min'),
    });
  });
});
