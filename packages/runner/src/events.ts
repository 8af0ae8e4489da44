import { createLabEvent, type LabEvent, type LabRecord } from '@labbot/core';

/** Where the runner's LabEvents go: the chat side of the lab's platform renders them. */
export interface LabEventSink {
  publish(event: LabEvent, record: LabRecord): Promise<void>;
}

/** The notices the runner sends; the chat renders the lab from its record (see core's LabEventSchema). */
export interface LabNotices {
  /** The lab's observed state changed: its status message should show the record as it is now. */
  changed(record: LabRecord): Promise<void>;
  /** The lab expires soon: the learner gets a warning. */
  expiring(record: LabRecord): Promise<void>;
  /** A class lab waits for a provision slot: its place in line (1 = next) and a rough wait in seconds. */
  queued(record: LabRecord, place: number, estimateSeconds?: number): Promise<void>;
}

/** Builds the events of a lab (its id and thread filled in) and hands them to the sink. */
export function createLabNotices(sink: LabEventSink, clock: () => Date): LabNotices {
  const where = (record: LabRecord) => ({
    labId: record.labId,
    ...(record.threadId ? { threadId: record.threadId } : {}),
  });
  return {
    changed: (record) =>
      sink.publish(createLabEvent('lab.changed', { ...where(record), phase: record.observed.phase }, clock), record),
    expiring: (record) =>
      sink.publish(
        createLabEvent('lab.expiry-warning', { ...where(record), expiresAt: record.expiresAt }, clock),
        record,
      ),
    queued: (record, place, estimateSeconds) =>
      sink.publish(
        createLabEvent(
          'lab.queued',
          { ...where(record), place, ...(estimateSeconds !== undefined ? { estimateSeconds } : {}) },
          clock,
        ),
        record,
      ),
  };
}
