import type { Builder } from '@labbot/builder';
import type { KubeRequestObserver } from '@labbot/cluster';
import { LAB_PHASES, type LabEvent, type LabRecord } from '@labbot/core';
import type { LabStore } from '@labbot/store';
import type { LabEventSink } from './events.js';

/** What the runner reports for metrics (the metrics package's object satisfies it); must not throw. */
export interface RunnerObserver extends KubeRequestObserver {
  /** A lab became ready, this long after /lab start created it. */
  labReady(secondsSinceStart: number): void;
  /** An image request ended: a Docker build ran, an existing image answered, or it failed. */
  buildFinished(result: 'built' | 'cached' | 'failed', seconds: number): void;
}

/** The sink, telling the observer when a lab becomes ready (a `lab.changed` to ready after another phase). */
export function observeLabEvents(sink: LabEventSink, observer: RunnerObserver, clock: () => Date): LabEventSink {
  const lastPhase = new Map<string, string>();
  return {
    publish: (event: LabEvent, record: LabRecord) => {
      if (event.type === 'lab.changed') {
        const before = lastPhase.get(event.labId);
        if (event.phase === 'stopped') lastPhase.delete(event.labId);
        else lastPhase.set(event.labId, event.phase);
        if (event.phase === 'ready' && before !== 'ready') {
          observer.labReady((clock().getTime() - Date.parse(record.createdAt)) / 1000);
        }
      }
      return sink.publish(event, record);
    },
  };
}

/** The builder, timing each ensureImage call and reporting its result. */
export function observeBuilder(builder: Builder, observer: RunnerObserver): Builder {
  return Object.assign(Object.create(builder) as Builder, {
    ensureImage: async (options: Parameters<Builder['ensureImage']>[0]) => {
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const result = await builder.ensureImage(options);
        observer.buildFinished(result.cached ? 'cached' : 'built', seconds());
        return result;
      } catch (error) {
        observer.buildFinished('failed', seconds());
        throw error;
      }
    },
  });
}

/**
 * Labs in the store by observed phase (every phase listed, zeros included, so a series drops to 0). Read a page at a
 * time, as the janitor does: every metrics scrape runs this, and holding every lab record at once for a count is waste.
 */
export async function countLabsByPhase(store: Pick<LabStore, 'listAllInPages'>): Promise<Record<string, number>> {
  const counts: Record<string, number> = Object.fromEntries(LAB_PHASES.map((phase) => [phase, 0]));
  const seen = new Set<string>();
  for await (const page of store.listAllInPages()) {
    for (const lab of page) {
      // SSCAN may return a lab twice: count it once.
      if (seen.has(lab.labId)) continue;
      seen.add(lab.labId);
      counts[lab.observed.phase] = (counts[lab.observed.phase] ?? 0) + 1;
    }
  }
  return counts;
}
