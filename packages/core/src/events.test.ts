import { describe, expect, it } from 'vitest';
import { LabbotError } from './errors.js';
import {
  boundedOutput,
  createLabEvent,
  LAB_EVENT_TYPES,
  type LabEvent,
  LabEventSchema,
  lastLines,
  parseLabEvent,
} from './events.js';
import { labIdFor } from './identity.js';
import { createLabRecord, decideReconcile, isSettled, LAB_PHASES, type LabPhase, LabRecordSchema } from './lab.js';

const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'me', lessonId: 'docker-vs-kubernetes' });
const clock = () => new Date('2026-11-25T13:00:00.000Z');
const pod = {
  name: 'hello-7d9-abcde',
  phase: 'Running',
  ready: true,
  readyContainers: 1,
  totalContainers: 1,
  restarts: 0,
  startedAt: '2026-11-25T12:59:00.000Z',
};

const examples: LabEvent[] = [
  createLabEvent('lab.accepted', { labId, threadId: 'local:me:1', lessonId: 'docker-vs-kubernetes' }, clock),
  createLabEvent('lab.step', { labId, step: 'build', phase: 'building' }, clock),
  createLabEvent('lab.namespace-ready', { labId, namespace: `lab-${labId}` }, clock),
  createLabEvent('lab.build-started', { labId }, clock),
  createLabEvent('lab.build-log', { labId, lines: ['Step 1/3 : FROM labbot/busybox:1'] }, clock),
  createLabEvent('lab.image-ready', { labId, tag: 'labbot/docker-vs-kubernetes:abc', cached: true }, clock),
  createLabEvent(
    'lab.container-output',
    { labId, output: 'Hello from inside the Docker container!\n', exitCode: 0 },
    clock,
  ),
  createLabEvent('lab.deployment-applied', { labId, name: 'hello', replicas: 3 }, clock),
  createLabEvent('lab.pods', { labId, pods: [pod], ready: 1, desired: 3 }, clock),
  createLabEvent('lab.ready', { labId, seq: 9 }, clock),
  createLabEvent(
    'lab.diagnosis',
    { labId, diagnosis: { reason: 'CrashLoopBackOff', summary: 'The container exits.', hint: 'Keep it running.' } },
    clock,
  ),
  createLabEvent(
    'lab.failed',
    { labId, code: 'BUILD_FAILED', step: 'build', message: 'The Dockerfile has an error.' },
    clock,
  ),
  createLabEvent('lab.expiry-warning', { labId, expiresAt: '2026-11-25T14:00:00.000Z' }, clock),
  createLabEvent('lab.stopping', { labId }, clock),
  createLabEvent('lab.stopped', { labId }, clock),
  createLabEvent(
    'lab.check-results',
    { labId, results: [{ name: '3 pods ready', passed: false, hint: 'Wait.' }] },
    clock,
  ),
];

describe('LabEvents', () => {
  it('has one example per event type, each stamped by the clock', () => {
    expect(new Set(examples.map((e) => e.type))).toEqual(new Set(LAB_EVENT_TYPES));
    expect(LAB_EVENT_TYPES).toHaveLength(16);
    for (const e of examples) expect(e.at).toBe('2026-11-25T13:00:00.000Z');
  });

  it('round-trips every event through JSON and the schema', () => {
    for (const e of examples) expect(parseLabEvent(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });

  it('refuses a wrong field with LabbotError LAB_EVENT_INVALID naming the field', () => {
    const bad = () =>
      createLabEvent('lab.image-ready', { labId, tag: 'x', cached: 'yes' as unknown as boolean }, clock);
    expect(bad).toThrow(LabbotError);
    expect(bad).toThrow(/cached/);
    expect(() => parseLabEvent({ type: 'lab.nope', labId, at: clock().toISOString() })).toThrow(/invalid lab event/);
    expect(LabEventSchema.safeParse({ type: 'lab.ready', labId: 'nope', at: clock().toISOString() }).success).toBe(
      false,
    );
  });

  it('keeps the last lines of a build log and bounds container output', () => {
    expect(lastLines('a\nb\n\nc\n', 2)).toEqual(['b', 'c']);
    const out = boundedOutput('x'.repeat(20_000));
    expect(out.length).toBeLessThanOrEqual(16_000);
    expect(out).toMatch(/more characters not shown\)$/);
    expect(boundedOutput('short')).toBe('short');
  });
});

describe('lab records', () => {
  it('creates a pending record that round-trips through JSON', () => {
    const record = createLabRecord({
      owner: { platform: 'local', workspaceId: 'local', userId: 'me' },
      lessonId: 'docker-vs-kubernetes',
      ttlMinutes: 60,
      now: clock,
    });
    expect(record).toMatchObject({
      labId,
      namespace: `lab-${labId}`,
      desired: { state: 'running', generation: 0 },
      observed: { phase: 'pending', pods: [] },
      expiresAt: '2026-11-25T14:00:00.000Z',
      version: 0,
    });
    expect(LabRecordSchema.parse(JSON.parse(JSON.stringify(record)))).toEqual(JSON.parse(JSON.stringify(record)));
  });

  it('settles on ready, degraded, failed and stopped only', () => {
    expect(LAB_PHASES.filter(isSettled)).toEqual(['ready', 'degraded', 'failed', 'stopped']);
  });
});

describe('decideReconcile', () => {
  const at = (state: 'running' | 'stopped', generation: number, phase: LabPhase, observedGeneration?: number) => ({
    desired: { state, generation },
    observed: { phase, pods: [], ...(observedGeneration === undefined ? {} : { generation: observedGeneration }) },
  });
  it.each([
    [at('stopped', 0, 'ready', 0), 'teardown'],
    [at('stopped', 0, 'stopping', 0), 'teardown'],
    [at('stopped', 0, 'stopped', 0), 'none'],
    [at('running', 1, 'ready', 0), 'restart'],
    [at('running', 1, 'failed', 0), 'restart'],
    [at('running', 0, 'failed', 0), 'none'],
    [at('running', 0, 'ready', 0), 'none'],
    [at('running', 0, 'degraded', 0), 'none'],
    [at('running', 0, 'pending'), 'continue'],
    [at('running', 0, 'building', 0), 'continue'],
    [at('running', 0, 'stopped', 0), 'continue'],
  ] as const)('%j → %s', (record, action) => {
    expect(decideReconcile(record).action).toBe(action);
  });
});
