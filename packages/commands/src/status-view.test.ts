import type { ChatMessage, MessageBlock } from '@labbot/chat';
import type { LabRecord, ObservedState, PodSummary } from '@labbot/core';
import { labRecordFixture, podFixture } from '@labbot/core/testing';
import { loadLessons } from '@labbot/lessons';
import { describe, expect, it } from 'vitest';
import { age, podRows, renderStatus } from './status-view.js';

const lessons = await loadLessons();
const lesson = lessons.find('docker-vs-kubernetes');
if (!lesson) throw new Error('the built-in docker-vs-kubernetes lesson is missing');

const created = new Date('2026-11-25T12:00:00.000Z');
/** Ten minutes after the lab was created (its TTL is 60 minutes). */
const now = new Date('2026-11-25T12:10:00.000Z');

function lab(observed: Partial<ObservedState>, variant?: string): LabRecord {
  return labRecordFixture({ observed, createdAt: created.toISOString(), ...(variant ? { variant } : {}) });
}

/** A pod started three minutes before `now`, Running and ready unless `fields` say otherwise. */
const pod = (name: string, fields: Partial<PodSummary> = {}) =>
  podFixture(name, { startedAt: '2026-11-25T12:07:00.000Z', ...fields });

/** The five progress lines of the status message. */
function progressLines(message: ChatMessage): string[] {
  const first = message.blocks[0];
  if (first?.kind !== 'text') throw new Error('the status message does not start with its progress lines');
  return first.text.split('\n');
}

function block(message: ChatMessage, title: string) {
  return message.blocks.find(
    (item): item is Extract<MessageBlock, { kind: 'code' }> => item.kind === 'code' && item.title === title,
  );
}

function texts(message: ChatMessage): string[] {
  return message.blocks.flatMap((item) => (item.kind === 'text' || item.kind === 'context' ? [item.text] : []));
}

describe('renderStatus', () => {
  it('shows a queued lab with every step still to do, its buttons and when it expires', () => {
    const message = renderStatus(lab({}), { now, lesson });
    expect(message.title).toBe('Docker vs Kubernetes · queued');
    expect(message.tone).toBe('progress');
    expect(progressLines(message)).toEqual([
      `▫️ Namespace \`${lab({}).namespace}\` (sandboxed: quota, network policy, restricted pods)`,
      '▫️ Image build',
      '▫️ One container run with Docker',
      '▫️ Deployment with 3 replicas applied',
      '▫️ Pods ready: 0/3',
    ]);
    expect(message.buttons?.map((button) => button.label)).toEqual(['Check', 'Status', 'Reset', 'Stop']);
    expect(message.buttons?.every((button) => button.target === lab({}).labId)).toBe(true);
    expect(texts(message).at(-1)).toBe(`Lab ${lab({}).labId} · expires in 50 min · /lab check · /lab kubectl get pods`);
  });

  it('marks the step in progress and shows the last build lines while the image builds', () => {
    const message = renderStatus(
      lab({ phase: 'building', buildLog: ['Step 1/3 : FROM labbot/busybox:1', 'Step 2/3'] }),
      {
        now,
        lesson,
      },
    );
    expect(message.title).toBe('Docker vs Kubernetes · building the image');
    expect(progressLines(message).slice(0, 3)).toEqual([
      expect.stringMatching(/^✅ Namespace /),
      '⏳ Image build',
      '▫️ One container run with Docker',
    ]);
    expect(block(message, 'Build log (last lines)')).toEqual({
      kind: 'code',
      title: 'Build log (last lines)',
      text: 'Step 1/3 : FROM labbot/busybox:1\nStep 2/3',
    });
  });

  it('hides the build log once the build is over, and says whether the image was reused', () => {
    const built = renderStatus(
      lab({ phase: 'running-once', imageTag: 'labbot/dvk:abc', imageCached: false, buildLog: ['done'] }),
      { now, lesson },
    );
    expect(progressLines(built)[1]).toBe('✅ Image `labbot/dvk:abc` built');
    expect(progressLines(built)[2]).toBe('⏳ One container run with Docker: running…');
    expect(block(built, 'Build log (last lines)')).toBeUndefined();
    const reused = renderStatus(lab({ phase: 'running-once', imageTag: 'labbot/dvk:abc', imageCached: true }), {
      now,
      lesson,
    });
    expect(progressLines(reused)[1]).toBe('✅ Image `labbot/dvk:abc` (already built, reused)');
  });

  it('shows a ready lab whose container still runs with that line in progress and its pods done', () => {
    const pods = [pod('hello-1'), pod('hello-2'), pod('hello-3')];
    const message = renderStatus(lab({ phase: 'ready', imageTag: 'labbot/dvk:abc', pods, desiredReplicas: 3 }), {
      now,
      lesson,
    });
    expect(message.title).toBe('Docker vs Kubernetes · ready');
    expect(progressLines(message).slice(1)).toEqual([
      '✅ Image `labbot/dvk:abc` built',
      '⏳ One container run with Docker: running…',
      '✅ Deployment with 3 replicas applied',
      '✅ Pods ready: 3/3',
    ]);
    expect(block(message, 'Output of the container')).toBeUndefined();
  });

  it("shows the container's output and the lesson step that explains it", () => {
    const message = renderStatus(
      lab({
        phase: 'deploying',
        imageTag: 'labbot/dvk:abc',
        containerOutput: 'Hello from inside the Docker container!\n',
      }),
      { now, lesson },
    );
    expect(block(message, 'Output of the container')?.text).toBe('Hello from inside the Docker container!');
    expect(progressLines(message).slice(2, 4)).toEqual([
      '✅ One container run with Docker',
      '⏳ Deployment with 3 replicas applied',
    ]);
    expect(texts(message)).toContainEqual(expect.stringMatching(/^📘 Step 1: one container with Docker\n/));
  });

  it('says "(no output)" when the container printed nothing', () => {
    const message = renderStatus(lab({ phase: 'deploying', imageTag: 'labbot/dvk:abc', containerOutput: '  \n' }), {
      now,
      lesson,
    });
    expect(block(message, 'Output of the container')?.text).toBe('(no output)');
  });

  it('tables the pods like kubectl get pods, sorted by name, and counts the ready ones', () => {
    const pods = [
      pod('hello-b', { ready: false, readyContainers: 0, phase: 'Pending', reason: 'ContainerCreating' }),
      pod('hello-a', { restarts: 2, startedAt: '2026-11-25T12:09:15.000Z' }),
      pod('hello-c', { startedAt: undefined, phase: 'Pending', ready: false, readyContainers: 0 }),
    ];
    const message = renderStatus(
      lab({ phase: 'waiting-for-pods', imageTag: 'labbot/dvk:abc', containerOutput: 'hi', pods, desiredReplicas: 3 }),
      { now, lesson },
    );
    expect(progressLines(message).slice(3)).toEqual(['✅ Deployment with 3 replicas applied', '⏳ Pods ready: 1/3']);
    expect(message.blocks.find((item) => item.kind === 'table')).toEqual({
      kind: 'table',
      columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE'],
      rows: [
        ['hello-a', '1/1', 'Running', '2', '45s'],
        ['hello-b', '0/1', 'ContainerCreating', '0', '3m'],
        ['hello-c', '0/1', 'Pending', '0', '-'],
      ],
    });
    expect(texts(message)).toContainEqual(expect.stringMatching(/^📘 Step 2: the same image as a Deployment\n/));
  });

  it('shows a ready lab all done, in the success tone, with the lesson step about ready pods', () => {
    const pods = [pod('hello-1'), pod('hello-2'), pod('hello-3')];
    const message = renderStatus(
      lab({ phase: 'ready', imageTag: 'labbot/dvk:abc', containerOutput: 'hi', pods, desiredReplicas: 3 }),
      { now, lesson },
    );
    expect(message.title).toBe('Docker vs Kubernetes · ready');
    expect(message.tone).toBe('success');
    expect(progressLines(message).map((line) => line.slice(0, 1))).toEqual(['✅', '✅', '✅', '✅', '✅']);
    expect(progressLines(message)[4]).toBe('✅ Pods ready: 3/3');
    expect(texts(message)).toContainEqual(expect.stringMatching(/^📘 The trap: a container that just exits\n/));
  });

  it("shows a degraded lab's diagnosis and hint, with the variant in the title", () => {
    const message = renderStatus(
      lab(
        {
          phase: 'degraded',
          imageTag: 'labbot/dvk-exits:abc',
          containerOutput: 'hi',
          pods: [pod('hello-1', { ready: false, readyContainers: 0, reason: 'CrashLoopBackOff', restarts: 4 })],
          desiredReplicas: 3,
          diagnosis: {
            reason: 'CrashLoopBackOff',
            summary: 'The container keeps exiting.',
            hint: 'Keep a process running.',
          },
        },
        'exits',
      ),
      { now, lesson },
    );
    expect(message.title).toBe('Docker vs Kubernetes (exits) · needs attention');
    expect(message.tone).toBe('warning');
    expect(progressLines(message)[4]).toBe('❌ Pods ready: 0/3');
    expect(texts(message)).toContain('⚠️ CrashLoopBackOff: The container keeps exiting.\n💡 Keep a process running.');
  });

  it('marks the failed step, keeps its build log and tells the learner how to recover', () => {
    const message = renderStatus(
      lab({
        phase: 'failed',
        buildLog: ['Step 2/3 : RUN false', "The command '/bin/sh -c false' returned a non-zero code: 1"],
        error: { code: 'BUILD_FAILED', message: 'The image build failed at step 2.', step: 'build' },
      }),
      { now, lesson },
    );
    expect(message.title).toBe('Docker vs Kubernetes · failed');
    expect(message.tone).toBe('error');
    expect(progressLines(message)[1]).toBe('❌ Image build');
    expect(block(message, 'Build log (last lines)')?.text).toContain('returned a non-zero code: 1');
    expect(texts(message)).toContain('❌ The image build failed at step 2.\nFix what it says, then `/lab reset`.');
    expect(message.buttons?.map((button) => button.action)).toEqual(['check', 'status', 'reset', 'stop']);
  });

  it.each([
    ['stopping', 'Lab stopping.', 'progress'],
    ['stopped', 'Lab stopped.', 'info'],
  ] as const)('shows a %s lab as one line, without buttons or expiry', (phase, text, tone) => {
    const message = renderStatus(lab({ phase, pods: [pod('hello-1')], containerOutput: 'hi' }), { now, lesson });
    expect(message).toEqual({ title: `Docker vs Kubernetes · ${phase}`, tone, blocks: [{ kind: 'text', text }] });
  });

  it('never shows a negative time left, and falls back to the lesson id without the lesson', () => {
    const late = new Date('2026-11-25T14:00:00.000Z');
    const message = renderStatus(lab({}), { now: late });
    expect(message.title).toBe('docker-vs-kubernetes · queued');
    expect(texts(message).at(-1)).toMatch(/ · expires in 0 min · /);
    expect(progressLines(message).slice(3)).toEqual(['▫️ Deployment with N replicas applied', '▫️ Pods ready: 0/?']);
    expect(texts(message).some((text) => text.startsWith('📘'))).toBe(false);
  });
});

describe('age', () => {
  it.each([
    ['2026-11-25T12:09:15.000Z', '45s'],
    ['2026-11-25T12:08:01.000Z', '119s'],
    ['2026-11-25T12:08:00.000Z', '2m'],
    ['2026-11-25T10:10:01.000Z', '119m'],
    ['2026-11-25T10:10:00.000Z', '2h'],
    ['2026-11-23T12:10:00.000Z', '2d'],
    ['2026-11-25T12:11:00.000Z', '0s'],
    [undefined, '-'],
  ])('a pod started at %s is %s old, as kubectl prints it', (startedAt, expected) => {
    expect(age(startedAt, now)).toBe(expected);
  });
});

describe('podRows', () => {
  it('prints the waiting reason instead of the phase when there is one', () => {
    expect(podRows([pod('web', { phase: 'Pending', reason: 'ImagePullBackOff', ready: false })], now)).toEqual([
      ['web', '1/1', 'ImagePullBackOff', '0', '3m'],
    ]);
  });
});
