import { describe, expect, it } from 'vitest';
import { LabbotError } from './errors.js';
import { createLabEvent, type LabEvent, LabEventSchema, parseLabEvent } from './events.js';
import { labIdFor } from './identity.js';
import { boundedOutput, createLabRecord, LabRecordSchema } from './lab.js';

const labId = labIdFor({ platform: 'local', workspaceId: 'local', userId: 'me', lessonId: 'docker-vs-kubernetes' });
const clock = () => new Date('2026-11-25T13:00:00.000Z');

const examples: LabEvent[] = [
  createLabEvent('lab.changed', { labId, threadId: 'local:me:1', phase: 'building' }, clock),
  createLabEvent('lab.expiry-warning', { labId, expiresAt: '2026-11-25T14:00:00.000Z' }, clock),
];

describe('LabEvents', () => {
  it('are slim notices: a lab id, a thread, a time and only what the record does not hold', () => {
    expect(examples.map((e) => Object.keys(e).sort())).toEqual([
      ['at', 'labId', 'phase', 'threadId', 'type'],
      ['at', 'expiresAt', 'labId', 'type'],
    ]);
    for (const e of examples) expect(e.at).toBe('2026-11-25T13:00:00.000Z');
  });

  it('round-trips every event through JSON and the schema', () => {
    for (const e of examples) expect(parseLabEvent(JSON.parse(JSON.stringify(e)))).toEqual(e);
  });

  it('refuses a wrong field with LabbotError LAB_EVENT_INVALID naming the field', () => {
    const bad = () => createLabEvent('lab.changed', { labId, phase: 'nearly' as 'ready' }, clock);
    expect(bad).toThrow(LabbotError);
    expect(bad).toThrow(/phase/);
    expect(() => parseLabEvent({ type: 'lab.nope', labId, at: clock().toISOString() })).toThrow(/invalid lab event/);
    expect(
      LabEventSchema.safeParse({ type: 'lab.changed', labId: 'nope', phase: 'ready', at: clock().toISOString() })
        .success,
    ).toBe(false);
  });

  it('bounds container output kept in the record', () => {
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
});
