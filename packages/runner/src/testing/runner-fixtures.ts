import { createMemoryBuilder } from '@labbot/builder/testing';
import { createMemoryClusterDriver } from '@labbot/cluster/testing';
import { createLogger } from '@labbot/config';
import { createLabRecord, type LabEvent, type LabRecord, type PodSummary } from '@labbot/core';
import { createManualClock } from '@labbot/core/testing';
import { type LessonCatalog, loadLessons } from '@labbot/lessons';
import { createMemoryLabStore } from '@labbot/store/testing';
import { createLabNotices } from '../events.js';

let catalog: Promise<LessonCatalog> | undefined;

/** The built-in lessons, loaded once per test file. */
export const builtInLessons = (): Promise<LessonCatalog> => {
  catalog ??= loadLessons();
  return catalog;
};

/** Everything the runner's parts take, as working in-memory fakes, plus the events they sent. */
export function createRunnerWorld() {
  const clock = createManualClock();
  const store = createMemoryLabStore({ clock: clock.now });
  const cluster = createMemoryClusterDriver({ clock: clock.now });
  const builder = createMemoryBuilder();
  const events: LabEvent[] = [];
  const notices = createLabNotices(
    {
      publish: async (event) => {
        events.push(event);
      },
    },
    clock.now,
  );
  const logger = createLogger({ name: 'test', level: 'silent' });
  let users = 0;

  /** A new lab of the built-in lesson, stored as the bot stores it. */
  async function newLab(options: { lessonId?: string; ttlMinutes?: number } = {}): Promise<LabRecord> {
    users++;
    const record = createLabRecord({
      owner: { platform: 'discord', workspaceId: 'guild-1', userId: `learner-${users}` },
      lessonId: options.lessonId ?? 'docker-vs-kubernetes',
      ttlMinutes: options.ttlMinutes ?? 60,
      threadId: `discord:guild-1:chan-1:thread-${users}`,
      now: clock.now,
    });
    await store.create(record);
    return record;
  }

  /** The phases the chat was told about for a lab, in order. */
  const phasesShown = (labId: string) =>
    events.flatMap((event) => (event.labId === labId && event.type === 'lab.changed' ? [event.phase] : []));

  return { clock, store, cluster, builder, events, notices, logger, newLab, phasesShown };
}

export function pod(name: string, ready: boolean, extra: Partial<PodSummary> = {}): PodSummary {
  return {
    name,
    phase: ready ? 'Running' : 'Pending',
    ready,
    readyContainers: ready ? 1 : 0,
    totalContainers: 1,
    restarts: 0,
    ...extra,
  };
}
