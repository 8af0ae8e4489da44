import { createLabEvent, type LabEvent, type LabEventFields, type LabEventType, type LabRecord } from '@labbot/core';

/** Where the runner's LabEvents go: the chat side of the lab's platform renders them. */
export interface LabEventSink {
  publish(event: LabEvent, record: LabRecord): Promise<void>;
}

export type Emit = <T extends LabEventType>(
  record: LabRecord,
  type: T,
  fields: Omit<LabEventFields<T>, 'labId' | 'threadId'>,
) => Promise<void>;

/** Builds events for a lab (its id and thread filled in) and hands them to the sink. */
export function createEmitter(sink: LabEventSink, clock: () => Date): Emit {
  return async (record, type, fields) => {
    const event = createLabEvent(
      type,
      { ...fields, labId: record.labId, ...(record.threadId ? { threadId: record.threadId } : {}) } as LabEventFields<
        typeof type
      >,
      clock,
    );
    await sink.publish(event, record);
  };
}
