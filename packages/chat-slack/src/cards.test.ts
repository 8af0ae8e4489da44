import { join } from 'node:path';
import type { ChatMessage } from '@labbot/chat';
import { buildResultMessage, manifestMessage, renderStatus } from '@labbot/commands';
import type { LabRecord, PodSummary } from '@labbot/core';
import { labRecordFixture, podFixture } from '@labbot/core/testing';
import { checkBlocks } from '@labbot/slack-sim';
import { expectGolden } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';
import { renderSlackError, renderSlackMessage, type SlackMessagePayload, toMrkdwn } from './cards.js';

// Golden files hold the exact JSON the adapter sends (text + blocks). UPDATE_GOLDEN=1 rewrites them after a
// deliberate change; review the diff like code.
const goldenDir = join(import.meta.dirname, '__golden__');

function expectGoldenPayload(name: string, payload: SlackMessagePayload): void {
  expectGolden(join(goldenDir, `${name}.golden.json`), payload);
  // Whatever we send, Slack must accept.
  expect(checkBlocks(payload.blocks)).toEqual([]);
  expect(payload.text.trim().length).toBeGreaterThan(0);
}

const now = new Date('2026-01-15T10:00:00.000Z');
const started = '2026-01-15T09:58:30.000Z';
const owner = { platform: 'slack' as const, workspaceId: 'T0LABBOT01', userId: 'U0LEARNER1' };

const lab = (observed: Partial<LabRecord['observed']>): LabRecord =>
  labRecordFixture({ owner, createdAt: '2026-01-15T09:55:00.000Z', observed });
const pod = (name: string, extra: Partial<PodSummary> = {}) => podFixture(name, { startedAt: started, ...extra });

const imageTag = '127.0.0.1:5050/labbot/docker-vs-kubernetes:3f9a1c2e4b5d';
const status = (record: LabRecord) => renderSlackMessage(renderStatus(record, { now }));

describe('Block Kit rendering of the status message', () => {
  it('building: steps, build log as a code block, buttons', () => {
    const payload = status(
      lab({
        phase: 'building',
        generation: 0,
        buildLog: ['Step 1/3 : FROM labbot/busybox:1', 'Step 2/3 : COPY app.sh /app.sh', 'Step 3/3 : CMD ["/app.sh"]'],
      }),
    );
    expectGoldenPayload('status-building', payload);
    expect(payload.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '⏳ docker-vs-kubernetes · building the image' },
    });
    expect(payload.blocks.at(-1)?.['type']).toBe('actions');
  });

  it('ready: container output and the pod table 3/3 Running as a code block', () => {
    const payload = status(
      lab({
        phase: 'ready',
        generation: 0,
        imageTag,
        containerOutput: 'Hello from a container!\n',
        desiredReplicas: 3,
        pods: [pod('web-7c9d8-abcde'), pod('web-7c9d8-fghij'), pod('web-7c9d8-klmno')],
      }),
    );
    expectGoldenPayload('status-ready', payload);
    const table = JSON.stringify(payload.blocks);
    expect(table).toContain('Pods ready: 3/3');
    expect(table).toContain('web-7c9d8-abcde   1/1     Running');
  });

  it('degraded: the diagnosis in plain language', () => {
    const payload = status(
      lab({
        phase: 'degraded',
        generation: 0,
        imageTag,
        containerOutput: '',
        desiredReplicas: 3,
        pods: [
          pod('web-5f6-aaaaa', {
            phase: 'Running',
            ready: false,
            readyContainers: 0,
            restarts: 4,
            reason: 'CrashLoopBackOff',
          }),
          pod('web-5f6-bbbbb', {
            phase: 'Running',
            ready: false,
            readyContainers: 0,
            restarts: 3,
            reason: 'CrashLoopBackOff',
          }),
          pod('web-5f6-ccccc', {
            phase: 'Running',
            ready: false,
            readyContainers: 0,
            restarts: 4,
            reason: 'CrashLoopBackOff',
          }),
        ],
        diagnosis: {
          reason: 'CrashLoopBackOff',
          summary: 'The container exits right after it starts, so Kubernetes keeps restarting it.',
          hint: 'A Deployment expects a long-running process: make the container keep running (e.g. a server).',
        },
      }),
    );
    expectGoldenPayload('status-degraded', payload);
    expect(payload.text).toContain('CrashLoopBackOff');
  });

  it('failed: the error and what to do, the build log kept', () => {
    const payload = status(
      lab({
        phase: 'failed',
        generation: 0,
        buildLog: ['Step 2/3 : RUN make', '/bin/sh: make: not found', "The command '/bin/sh -c make' returned 127"],
        error: {
          code: 'BUILD_FAILED',
          step: 'build',
          message: 'The image did not build: a command in the Dockerfile failed.',
        },
      }),
    );
    expectGoldenPayload('status-failed', payload);
    expect(payload.blocks[0]).toMatchObject({ text: { text: '❌ docker-vs-kubernetes · failed' } });
  });

  it('stopped: no buttons left', () => {
    const payload = status(lab({ phase: 'stopped', generation: 0 }));
    expectGoldenPayload('status-stopped', payload);
    expect(payload.blocks.some((block) => block['type'] === 'actions')).toBe(false);
  });
});

describe('Block Kit rendering of other messages', () => {
  it('an error for one user', () => {
    expectGoldenPayload('error-unknown-lesson', renderSlackError('There is no lesson "nope". See /lab lessons.'));
  });

  it('the announcement of a lab: neutral **bold** becomes mrkdwn *bold*, mentions survive', () => {
    const payload = renderSlackMessage({
      blocks: [
        {
          kind: 'text',
          text: 'Starting a lab of **Docker vs Kubernetes** for <@U0LEARNER1>. Follow it in the thread.',
        },
      ],
    });
    expectGoldenPayload('announcement', payload);
    expect(payload.text).toBe('Starting a lab of *Docker vs Kubernetes* for <@U0LEARNER1>. Follow it in the thread.');
  });

  it('fields, context and every tone', () => {
    const message: ChatMessage = {
      title: 'Class board',
      tone: 'warning',
      blocks: [
        {
          kind: 'fields',
          fields: [
            { name: 'Joined', value: '12' },
            { name: 'Ready', value: '9' },
          ],
        },
        { kind: 'context', text: 'Class c-1 · /lab class status' },
      ],
      buttons: [{ action: 'join', target: 'c-1', label: 'Join', style: 'primary' }],
    };
    expectGoldenPayload('fields-context', renderSlackMessage(message));
  });

  it('escapes what Slack would read as markup, keeps links', () => {
    expect(toMrkdwn('a < b && c > d <https://example.org|docs> <!here> <#C0LABS0001>')).toBe(
      'a &lt; b &amp;&amp; c &gt; d <https://example.org|docs> <!here> <#C0LABS0001>',
    );
  });

  it('stays within the limits: 50 blocks, 3000 characters per section, buttons kept', () => {
    const payload = renderSlackMessage({
      title: 't'.repeat(300),
      blocks: Array.from({ length: 20 }, (_, i) => ({
        kind: 'fields' as const,
        fields: Array.from({ length: 30 }, (_, j) => ({ name: `f${i}-${j}`, value: 'v'.repeat(2500) })),
      })),
      buttons: [{ action: 'stop', target: 'abc', label: 'Stop', style: 'danger' }],
    });
    expect(payload.blocks).toHaveLength(50);
    expect(payload.blocks.at(-1)?.['type']).toBe('actions');
    expect(checkBlocks(payload.blocks)).toEqual([]);
    const log = Array.from({ length: 400 }, (_, i) => `line ${i} of the build`).join('\n');
    const code = renderSlackMessage({ blocks: [{ kind: 'code', title: 'Build log', text: log }] });
    expect(checkBlocks(code.blocks)).toEqual([]);
    const shown = JSON.stringify(code.blocks);
    // The end of a log is what matters: it is kept, the start is cut.
    expect(shown).toContain('line 399 of the build');
    expect(shown).not.toContain('line 0 of the build');
    expect(shown).toContain('(cut)');
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
      expectGoldenPayload(name, renderSlackMessage(message));
    });
  }
});
