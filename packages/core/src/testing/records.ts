import type { LabOwner } from '../identity.js';
import { createLabRecord, type LabRecord, type ObservedState, type PodSummary } from '../lab.js';

export interface LabRecordFixture {
  owner?: LabOwner;
  lessonId?: string;
  variant?: string;
  /** When the lab was created (its TTL is 60 minutes). */
  createdAt?: string;
  /** Fields of the observed state; the rest as a new lab has them (pending, no pods). */
  observed?: Partial<ObservedState>;
}

/** A lab record as the bot creates it, with the observed state a test needs (for views and renderers). */
export function labRecordFixture(fixture: LabRecordFixture = {}): LabRecord {
  const record = createLabRecord({
    owner: fixture.owner ?? { platform: 'discord', workspaceId: 'guild-1', userId: 'ada' },
    lessonId: fixture.lessonId ?? 'docker-vs-kubernetes',
    ...(fixture.variant ? { variant: fixture.variant } : {}),
    ttlMinutes: 60,
    now: () => new Date(fixture.createdAt ?? '2026-11-25T12:00:00.000Z'),
  });
  return { ...record, observed: { ...record.observed, ...fixture.observed } };
}

/** One pod as the pod watch summarises it: Running and 1/1 ready, unless `fields` say otherwise. */
export function podFixture(name: string, fields: Partial<PodSummary> = {}): PodSummary {
  return { name, phase: 'Running', ready: true, readyContainers: 1, totalContainers: 1, restarts: 0, ...fields };
}
