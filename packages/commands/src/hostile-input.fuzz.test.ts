// Hostile input (issue #13), property-based with fast-check: the command grammar, kubectl arguments, button
// payloads and whole commands through the bot on in-memory fakes. 1,000+ cases each: nothing throws, every refusal is
// one short clear line, and a refused command changes nothing (no record, no job, no kubectl run, no build).
import type { ChatMessage, IncomingCommand, Responder } from '@labbot/chat';
import { decodeButtonId, encodeButtonId } from '@labbot/chat';
import {
  type Actor,
  KubectlCommandSchema,
  LabCommandSchema,
  labIdFor,
  parseKubectlArgs,
  parseLabCommand,
} from '@labbot/core';
import { loadLessons } from '@labbot/lessons';
import { refusalProblem } from '@labbot/test-support';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLabBotOnFakes } from './testing/index.js';

const RUNS = Number(process.env.LABBOT_FUZZ_RUNS ?? 1000);
// A thousand cases take seconds, more on a loaded machine: more than the unit tests' default 10 s.
const FUZZ_TIMEOUT_MS = 120_000;
const lessons = await loadLessons();
const ada: Actor = { platform: 'discord', workspaceId: 'guild-1', userId: 'ada', roles: [] };
const bob: Actor = { platform: 'discord', workspaceId: 'guild-1', userId: 'bob', roles: [] };
const LESSON = 'your-first-image';
const adasLabId = labIdFor({ platform: 'discord', workspaceId: 'guild-1', userId: 'ada', lessonId: LESSON });

/** Words of the grammar and of kubectl, with the tricks a hostile user would try among them. */
const WORDS = [
  '/lab',
  'start',
  'stop',
  'status',
  'reset',
  'check',
  'list',
  'lessons',
  'help',
  'build',
  'apply',
  'kubectl',
  'class',
  'join',
  'end',
  'export',
  'get',
  'describe',
  'logs',
  'scale',
  'delete',
  'rollout',
  'undo',
  'history',
  'create',
  'deployment',
  'pods',
  'pod',
  'deployment/hello',
  'all',
  'secrets',
  'nodes',
  'exec',
  'edit',
  'patch',
  'proxy',
  'port-forward',
  'cp',
  'auth',
  'hello',
  LESSON,
  'docker-vs-kubernetes',
  'exits',
  '-n',
  'kube-system',
  '--namespace=default',
  '-A',
  '--all-namespaces',
  '--as=admin',
  '--as-group=system:masters',
  '--kubeconfig=/etc/x',
  '--server=http://169.254.169.254',
  '--token=x',
  '--context=x',
  '--replicas=3',
  '--replicas=-1',
  '--replicas=999999',
  '--replicas',
  '--image=IMAGE',
  '--image=evil/x',
  '--dry-run=client',
  '-o',
  'yaml',
  'json',
  '--tail=5',
  '--tail=-1',
  '--to-revision=1',
  '-f',
  '-',
  '/etc/passwd',
  '../../etc',
  './x',
  '$(id)',
  '`id`',
  '; rm -rf /',
  '&&',
  '|',
  '>',
  '\u0000',
  '\u202e',
  '🙂',
  'ＡＢＣ',
  'x'.repeat(70),
  '--',
  '-',
  '=',
  '',
];

const word = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);
/** Commands made of grammar words (they reach deep into the parsers) or of anything at all. */
const commandText = fc.oneof(
  { weight: 3, arbitrary: fc.array(word, { maxLength: 12 }).map((words) => words.join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 700, unit: 'binary' }) },
  { weight: 1, arbitrary: fc.array(word, { maxLength: 8 }).map((words) => `kubectl ${words.join(' ')}`) },
);

function expectShortRefusal(text: string): void {
  expect(refusalProblem(text), text).toBeUndefined();
}

describe('the command grammar, fuzzed', () => {
  it(
    'never throws; refuses in one short line; whatever it accepts is a valid command',
    () => {
      fc.assert(
        fc.property(commandText, (text) => {
          const parsed = parseLabCommand(text);
          if (parsed.ok) expect(LabCommandSchema.safeParse(parsed.command).success).toBe(true);
          else expectShortRefusal(parsed.error);
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('kubectl arguments, fuzzed', () => {
  it(
    'never throws; refuses in one short line; never accepts a way out of the namespace',
    () => {
      fc.assert(
        fc.property(fc.array(word, { maxLength: 14 }), (args) => {
          const parsed = parseKubectlArgs(args);
          if (!parsed.ok) {
            expectShortRefusal(parsed.error);
            return;
          }
          expect(KubectlCommandSchema.safeParse(parsed.command).success).toBe(true);
          // Whatever was accepted has no field for a namespace, an identity, a server or a kubeconfig.
          const keys = Object.keys(parsed.command).map((key) => key.toLowerCase());
          for (const way of [
            'namespace',
            'allnamespaces',
            'as',
            'asgroup',
            'server',
            'kubeconfig',
            'token',
            'context',
          ]) {
            expect(keys).not.toContain(way);
          }
          expect(JSON.stringify(parsed.command)).not.toMatch(/--(namespace|as|server|kubeconfig|token|context)\b|^-n$/);
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});

/** A bot on in-memory fakes with ada's lab waiting for her pods (her image built), and what reached the runner. */
async function botWithAdasLab() {
  const world = createLabBotOnFakes({
    lessons,
    kubectlOutput: 'ok',
    buildResult: { ok: true, logTail: [], tag: 'labbot/learner-x:1', cached: false, output: 'hi', exitCode: 0 },
  });
  const { bot, store, queues } = world;
  const responder = recordingResponder();
  await bot.handlers.onCommand(incoming(ada, `start ${LESSON}`, responder.respond));
  await store.update(adasLabId, (lab) => ({
    ...lab,
    observed: { ...lab.observed, phase: 'waiting-for-pods', imageTag: 'labbot/learner-abc:1' },
  }));
  queues.takeReconciles();
  const lab = await store.get(adasLabId);
  return { ...world, threadId: lab?.threadId ?? '' };
}

function recordingResponder() {
  const answers: { method: 'reply' | 'error' | 'form'; text: string }[] = [];
  const textOf = (message: ChatMessage) =>
    [message.title, ...message.blocks.map((block) => ('text' in block ? block.text : ''))].join('\n');
  const respond: Responder = {
    defer: async () => {},
    reply: async (message) => {
      answers.push({ method: 'reply', text: textOf(message) });
    },
    error: async (text) => {
      answers.push({ method: 'error', text });
    },
    openThread: async ({ announcement }) => {
      answers.push({ method: 'reply', text: textOf(announcement) });
      return 'discord:guild-1:chan-1:thread-1';
    },
    requestDocument: async () => {
      answers.push({ method: 'form', text: 'document' });
    },
    requestFiles: async () => {
      answers.push({ method: 'form', text: 'files' });
    },
  };
  return { respond, answers };
}

function incoming(actor: Actor, text: string, respond: Responder, threadId?: string): IncomingCommand {
  return {
    actor,
    text,
    conversation: {
      platform: 'discord',
      workspaceId: 'guild-1',
      channelId: 'chan-1',
      ...(threadId ? { threadId } : {}),
    },
    respond,
  };
}

describe('commands through the bot, fuzzed', () => {
  it(
    'every command is answered, every refusal is one short line, and a refused command changes nothing',
    async () => {
      const world = await botWithAdasLab();
      await fc.assert(
        fc.asyncProperty(commandText, fc.constantFrom(ada, bob), fc.boolean(), async (text, actor, inThread) => {
          world.queues.takeReconciles();
          const before = await world.state();
          const { respond, answers } = recordingResponder();
          await world.bot.handlers.onCommand(incoming(actor, text, respond, inThread ? world.threadId : undefined));
          expect(answers.length, text).toBeGreaterThan(0);
          const refusal = answers.find((answer) => answer.method === 'error');
          if (refusal) {
            expectShortRefusal(refusal.text);
            expect(await world.state(), text).toBe(before);
            expect(world.queues.takeReconciles(), text).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "bob's commands in ada's thread never touch her lab, her image or her namespace",
    async () => {
      const world = await botWithAdasLab();
      const adasLab = JSON.stringify(await world.store.get(adasLabId));
      const adasHistory = JSON.stringify(await world.store.history(adasLabId));
      await fc.assert(
        fc.asyncProperty(commandText, async (text) => {
          const { respond } = recordingResponder();
          await world.bot.handlers.onCommand(incoming(bob, text, respond, world.threadId));
        }),
        { numRuns: RUNS },
      );
      expect(JSON.stringify(await world.store.get(adasLabId))).toBe(adasLab);
      expect(JSON.stringify(await world.store.history(adasLabId))).toBe(adasHistory);
      expect(world.kubectlRuns.filter((job) => job.labId === adasLabId)).toEqual([]);
      expect(world.builds.filter((job) => job.labId === adasLabId)).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );
});

describe('button payloads, fuzzed', () => {
  const actions = ['status', 'stop', 'reset', 'check', 'join'] as const;
  const customId = fc.oneof(
    fc.string({ maxLength: 120 }),
    fc
      .tuple(fc.constantFrom(...actions, 'exec', 'delete', ''), fc.string({ maxLength: 70 }))
      .map(([a, t]) => `lab:${a}:${t}`),
  );

  it(
    'a custom id decodes to one of our buttons or to nothing, never throws',
    () => {
      fc.assert(
        fc.property(customId, (id) => {
          const decoded = decodeButtonId(id);
          if (decoded) {
            expect(actions).toContain(decoded.action);
            expect(encodeButtonId(decoded)).toBe(id);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    "any press on any target is answered; bob's presses on ada's lab are refused and change nothing",
    async () => {
      const world = await botWithAdasLab();
      const target = fc.oneof(fc.constant(adasLabId), fc.stringMatching(/^[a-z0-9-]{1,64}$/));
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...actions), target, async (action, labOrClass) => {
          world.queues.takeReconciles();
          const before = await world.state();
          const { respond, answers } = recordingResponder();
          await world.bot.handlers.onAction({
            actor: bob,
            action,
            target: labOrClass,
            conversation: { platform: 'discord', workspaceId: 'guild-1', channelId: 'chan-1' },
            respond,
          });
          expect(answers.length).toBeGreaterThan(0);
          const refusal = answers.find((answer) => answer.method === 'error');
          if (labOrClass === adasLabId) expect(refusal, `${action} ${labOrClass}`).toBeDefined();
          if (refusal) {
            expectShortRefusal(refusal.text);
            expect(await world.state()).toBe(before);
            expect(world.queues.takeReconciles()).toEqual([]);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
