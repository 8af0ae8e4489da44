import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChatButton, ChatMessage } from '@labbot/chat';
import { buildResultMessage, manifestMessage } from '@labbot/commands';
import { messageBodySchema } from '@labbot/discord-sim';
import { expectGolden } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';
import {
  DISCORD_LIMITS,
  discordMessageText,
  renderButtons,
  renderDiscordError,
  renderDiscordMessage,
} from './cards.js';

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), '__golden__');

/** Compares with src/__golden__/<name>.golden.json (UPDATE_GOLDEN=1 rewrites it; review the diff). */
const expectGoldenPayload = (name: string, value: unknown) =>
  expectGolden(join(GOLDEN_DIR, `${name}.golden.json`), value);

const buttons = (labId: string): ChatButton[] => [
  { action: 'check', target: labId, label: 'Check', style: 'primary' },
  { action: 'status', target: labId, label: 'Status', style: 'secondary' },
  { action: 'reset', target: labId, label: 'Reset', style: 'secondary' },
  { action: 'stop', target: labId, label: 'Stop', style: 'danger' },
];

const steps = (marks: [string, string, string, string, string], ready: string) =>
  [
    `${marks[0]} Namespace \`lab-3f9c2a1b\` (sandboxed: quota, network policy, restricted pods)`,
    `${marks[1]} Image build`,
    `${marks[2]} One container run with Docker`,
    `${marks[3]} Deployment with 3 replicas applied`,
    `${marks[4]} Pods ready: ${ready}`,
  ].join('\n');

const footer = {
  kind: 'context',
  text: 'Lab 3f9c2a1b7e4d · expires in 58 min · /lab check · /lab kubectl get pods',
} as const;

const PHASES: Record<string, ChatMessage> = {
  'status-building': {
    title: 'Docker vs Kubernetes · building the image',
    tone: 'progress',
    blocks: [
      { kind: 'text', text: steps(['✅', '⏳', '▫️', '▫️', '▫️'], '0/3') },
      {
        kind: 'code',
        title: 'Build log (last lines)',
        text: 'Step 2/4 : COPY server.sh /app/server.sh\n ---> 1b2c3d4e5f60\nStep 3/4 : USER 10001\n ---> Running in 7a8b9c',
      },
      footer,
    ],
    buttons: buttons('3f9c2a1b7e4d'),
  },
  'status-ready': {
    title: 'Docker vs Kubernetes · ready',
    tone: 'success',
    blocks: [
      { kind: 'text', text: steps(['✅', '✅', '✅', '✅', '✅'], '3/3') },
      { kind: 'code', title: 'Output of the container', text: 'hello from a container\nserving on :8080' },
      {
        kind: 'table',
        columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
        rows: [
          ['web-6d4b9c7f8-2xkqp', '1/1', 'Running', '0', '41s'],
          ['web-6d4b9c7f8-8hzvn', '1/1', 'Running', '0', '41s'],
          ['web-6d4b9c7f8-tq5mw', '1/1', 'Running', '0', '40s'],
        ],
      },
      { kind: 'text', text: '📘 Kubernetes keeps three copies running\nDelete a pod and watch a new one appear.' },
      footer,
    ],
    buttons: buttons('3f9c2a1b7e4d'),
  },
  'status-degraded': {
    title: 'Docker vs Kubernetes (exits) · needs attention',
    tone: 'warning',
    blocks: [
      { kind: 'text', text: steps(['✅', '✅', '✅', '✅', '❌'], '0/3') },
      {
        kind: 'table',
        columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
        rows: [
          ['web-5c8f7d6b9-4lmnp', '0/1', 'CrashLoopBackOff', '3', '62s'],
          ['web-5c8f7d6b9-9rstu', '0/1', 'CrashLoopBackOff', '3', '62s'],
          ['web-5c8f7d6b9-wxyz1', '0/1', 'Error', '2', '61s'],
        ],
      },
      {
        kind: 'text',
        text: '⚠️ CrashLoopBackOff: the container exits right after it starts, so Kubernetes restarts it again and again.\n💡 A Deployment expects a long-running process: make the command keep running (e.g. a server).',
      },
      footer,
    ],
    buttons: buttons('3f9c2a1b7e4d'),
  },
  'status-failed': {
    title: 'Docker vs Kubernetes · failed',
    tone: 'error',
    blocks: [
      { kind: 'text', text: steps(['✅', '❌', '▫️', '▫️', '▫️'], '0/?') },
      { kind: 'code', title: 'Build log (last lines)', text: 'Step 3/4 : RUN make\n/bin/sh: make: not found' },
      {
        kind: 'text',
        text: '❌ The image did not build: a RUN step failed (/bin/sh: make: not found).\nFix what it says, then `/lab reset`.',
      },
      footer,
    ],
    buttons: buttons('3f9c2a1b7e4d'),
  },
  'status-stopped': {
    title: 'Docker vs Kubernetes · stopped',
    tone: 'info',
    blocks: [{ kind: 'text', text: 'Lab stopped.' }],
  },
};

describe('Discord cards: the exact JSON sent', () => {
  for (const [name, message] of Object.entries(PHASES)) {
    it(`renders ${name}`, () => {
      const body = renderDiscordMessage(message);
      expectGoldenPayload(name, body);
      expect(messageBodySchema.safeParse(body).success).toBe(true);
    });
  }

  it('renders an ephemeral answer and an error', () => {
    expectGoldenPayload(
      'ephemeral-reply',
      renderDiscordMessage(
        { title: 'Your labs', blocks: [{ kind: 'text', text: '• docker-vs-kubernetes: ready (lab 3f9c2a1b7e4d)' }] },
        { ephemeral: true },
      ),
    );
    const error = renderDiscordError('There is no lesson "nope". Try /lab lessons.');
    expectGoldenPayload('error', error);
    expect(error.flags).toBe(64);
    expect(error.embeds[0]?.color).toBe(0xed4245);
  });

  it('maps tone to colour, drops buttons on edit when none, and keeps fields as fields', () => {
    const body = renderDiscordMessage({
      tone: 'success',
      blocks: [{ kind: 'fields', fields: [{ name: 'Lesson', value: 'docker-vs-kubernetes' }] }],
    });
    expect(body.embeds[0]).toEqual({
      color: 0x57f287,
      fields: [{ name: 'Lesson', value: 'docker-vs-kubernetes', inline: false }],
    });
    expect(body.components).toEqual([]);
  });

  it('keeps a huge message within Discord limits, cutting the start of logs', () => {
    const log = Array.from({ length: 2000 }, (_, i) => `line ${i} of the build`).join('\n');
    const body = renderDiscordMessage({
      title: 't'.repeat(256),
      blocks: [
        { kind: 'text', text: 'intro' },
        { kind: 'code', title: 'Build log', text: log },
        { kind: 'code', text: '```inner fence```' },
        { kind: 'fields', fields: Array.from({ length: 30 }, (_, i) => ({ name: `f${i}`, value: 'v'.repeat(1500) })) },
        { kind: 'context', text: 'c'.repeat(3000) },
      ],
      buttons: buttons('abc'),
    });
    const [embed] = body.embeds;
    expect(embed?.description?.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect((embed?.fields ?? []).length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    expect(discordMessageText(body).length).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal + 200);
    const parsed = messageBodySchema.safeParse(body);
    expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    expect(embed?.description).toContain('line 1999 of the build');
    expect(embed?.description).not.toContain('line 0 of');
  });

  it('keeps a long build log readable: the last lines survive, the fence stays closed', () => {
    const log = Array.from({ length: 1000 }, (_, i) => `step ${i}`).join('\n');
    const description = renderDiscordMessage({ blocks: [{ kind: 'code', title: 'Build log', text: log }] }).embeds[0]
      ?.description;
    expect(description?.length).toBeLessThanOrEqual(4096);
    expect(description?.endsWith('step 999\n```')).toBe(true);
    expect(description?.startsWith('**Build log**\n```\n(cut) …\n')).toBe(true);
  });

  it('puts more than five buttons into rows of five', () => {
    const many: ChatButton[] = Array.from({ length: 7 }, (_, i) => ({
      action: 'join',
      target: `c${i}`,
      label: `Join ${i}`,
      style: 'primary',
    }));
    expect(renderButtons(many).map((row) => row.components.length)).toEqual([5, 2]);
    const body = renderDiscordMessage({ blocks: [{ kind: 'text', text: 'x' }], buttons: many.slice(0, 5) });
    expect(body.components.map((row) => row.components.length)).toEqual([5]);
  });
});

const learnerTag = '127.0.0.1:5057/labbot/learner-0123456789ab:fedcba9876543210';
const learnerMessages = {
  'build-result': buildResultMessage({
    ok: true,
    tag: learnerTag,
    cached: false,
    logTail: [
      'Step 1/4 : FROM labbot/busybox:1',
      'Step 2/4 : COPY hello.sh /app/hello.sh',
      `Successfully tagged ${learnerTag}`,
    ],
    output: 'Hello from my first image!\n',
    exitCode: 0,
  }),
  'build-refused': buildResultMessage({
    ok: false,
    logTail: [],
    message:
      'FROM "ubuntu:22.04" is not allowed here (line 1: `FROM ubuntu:22.04`). Lab images are built offline, so nothing can be downloaded: start from the base image this lesson allows: labbot/busybox:1. Write `FROM labbot/busybox:1`.',
  }),
  'generated-manifest': manifestMessage({ name: 'hello', image: 'hello:1', replicas: 3 }, learnerTag),
};

describe('/lab build and the generated manifest', () => {
  for (const [name, message] of Object.entries(learnerMessages)) {
    it(`renders ${name} exactly as the golden file`, () => {
      expectGoldenPayload(name, renderDiscordMessage(message));
    });
  }
});
