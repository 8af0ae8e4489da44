import { setTimeout as sleep } from 'node:timers/promises';
import { isLabActive, LabbotError, type LabRecord, LabRecordSchema, ownerKeyFor } from '@labbot/core';
import type { z } from 'zod';
import type { AuditEntry } from '../audit.js';
import { type ClassRecord, ClassRecordSchema } from '../class-record.js';
import type { LabStore } from '../lab-store.js';
import type { AuditInput, UpdateOptions } from '../versioned-collection.js';

export interface MemoryLabStoreOptions {
  /** The clock for audit entries and `updatedAt`. */
  clock?: () => Date;
  /** Audit entries kept per lab or class (default 200). */
  historyLimit?: number;
}

/** The in-memory store of one record kind: same versioning, validation and errors as the Redis one. */
class MemoryCollection<T extends { version: number; updatedAt: string }> {
  readonly records = new Map<string, string>();
  readonly histories = new Map<string, AuditEntry[]>();

  constructor(
    private readonly kind: string,
    private readonly schema: z.ZodType<T>,
    private readonly clock: () => Date,
    private readonly historyLimit: number,
  ) {}

  get(id: string): T | undefined {
    const raw = this.records.get(id);
    return raw === undefined ? undefined : this.schema.parse(JSON.parse(raw));
  }

  all(): T[] {
    return [...this.records.keys()].flatMap((id) => this.get(id) ?? []);
  }

  create(id: string, record: T, audit: AuditInput): { created: boolean; record: T } {
    const existing = this.get(id);
    if (existing) return { created: false, record: existing };
    const valid = this.validate(id, record);
    this.records.set(id, JSON.stringify(valid));
    this.push(id, audit, valid.version);
    return { created: true, record: valid };
  }

  async update(
    id: string,
    change: (current: T) => T | undefined | Promise<T | undefined>,
    options: UpdateOptions = {},
  ): Promise<T> {
    const retries = options.retries ?? 50;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const raw = this.records.get(id);
      if (raw === undefined) {
        throw new LabbotError('STORE_NOT_FOUND', `No ${this.kind} record ${id}.`, {
          userMessage: `That ${this.kind} does not exist (any more).`,
          context: { kind: this.kind, id },
        });
      }
      const current = this.schema.parse(JSON.parse(raw));
      const proposed = await change(structuredClone(current));
      if (proposed === undefined) return current;
      const next = this.validate(id, {
        ...proposed,
        updatedAt: this.clock().toISOString(),
        version: current.version + 1,
      });
      // Compare-and-set, as the Redis store does: a write in between makes this one retry.
      if (this.records.get(id) === raw) {
        this.records.set(id, JSON.stringify(next));
        if (options.audit) this.push(id, options.audit, next.version);
        return next;
      }
      await sleep(0);
    }
    throw new LabbotError('STORE_CONFLICT', `The ${this.kind} record ${id} kept changing under us.`, {
      retryable: true,
      userMessage: 'Several changes to this lab arrived at once. Please try again.',
      context: { kind: this.kind, id, retries },
    });
  }

  delete(id: string, audit: AuditInput): boolean {
    if (!this.records.delete(id)) return false;
    this.push(id, audit, null);
    return true;
  }

  history(id: string, limit?: number): AuditEntry[] {
    const entries = this.histories.get(id) ?? [];
    return structuredClone(limit === undefined ? entries : entries.slice(-limit));
  }

  push(id: string, audit: AuditInput, version: number | null): void {
    const entries = this.histories.get(id) ?? [];
    entries.push({ at: this.clock().toISOString(), ...audit, version });
    this.histories.set(id, entries.slice(-this.historyLimit));
  }

  private validate(id: string, record: T): T {
    const result = this.schema.safeParse(record);
    if (!result.success) {
      throw new LabbotError('STORE_INVALID_RECORD', `Refusing to store an invalid ${this.kind} record ${id}.`, {
        cause: result.error,
        context: { kind: this.kind, id },
      });
    }
    return result.data;
  }
}

/**
 * A working LabStore in memory, for unit tests of the bot, the runner and the janitor. It passes the
 * same contract suite as the Redis store (`describeLabStoreContract`).
 */
export function createMemoryLabStore(options: MemoryLabStoreOptions = {}): LabStore {
  const clock = options.clock ?? (() => new Date());
  const historyLimit = options.historyLimit ?? 200;
  const labs = new MemoryCollection<LabRecord>('lab', LabRecordSchema, clock, historyLimit);
  const classes = new MemoryCollection<ClassRecord>('class', ClassRecordSchema, clock, historyLimit);
  const messageRefs = new Map<string, Map<string, string>>();
  const threadReplacements = new Map<string, string>();
  const actor = (given: string | undefined) => given ?? 'labbot';

  return {
    create: async (record, opts = {}) =>
      labs.create(record.labId, record, { actor: actor(opts.actor), action: 'created' }),
    get: async (labId) => labs.get(labId),
    update: (labId, change, opts) => labs.update(labId, change, opts),
    delete: async (labId, opts = {}) => labs.delete(labId, { actor: actor(opts.actor), action: 'deleted' }),
    listByOwner: async (owner) => labs.all().filter((lab) => ownerKeyFor(lab.owner) === ownerKeyFor(owner)),
    listByClass: async (classId) => labs.all().filter((lab) => lab.classId === classId),
    listRunningExpiringBefore: async (epochMs) =>
      labs
        .all()
        .filter((lab) => lab.desired.state === 'running' && Date.parse(lab.expiresAt) <= epochMs)
        .sort((a, b) => Date.parse(a.expiresAt) - Date.parse(b.expiresAt)),
    listAll: async () => labs.all(),
    // The ids as they were at the start, read a page at a time: a lab deleted meanwhile is left out, as in Redis.
    listAllInPages: async function* (pageOptions = {}) {
      const pageSize = pageOptions.pageSize ?? 200;
      const labIds = [...labs.records.keys()];
      for (let start = 0; start < labIds.length; start += pageSize) {
        yield labIds.slice(start, start + pageSize).flatMap((labId) => labs.get(labId) ?? []);
      }
    },
    countActive: async (query = {}) =>
      labs
        .all()
        .filter(
          (lab) =>
            isLabActive(lab) &&
            lab.labId !== query.excluding &&
            (!query.owner || ownerKeyFor(lab.owner) === ownerKeyFor(query.owner)),
        ).length,
    history: async (labId, limit) => labs.history(labId, limit),
    appendHistory: async (labId, entry) => labs.push(labId, entry, null),
    setMessageRef: async (threadKey, logicalKey, messageId) => {
      const refs = messageRefs.get(threadKey) ?? new Map<string, string>();
      refs.set(logicalKey, messageId);
      messageRefs.set(threadKey, refs);
    },
    getMessageRef: async (threadKey, logicalKey) => messageRefs.get(threadKey)?.get(logicalKey),
    deleteMessageRefs: async (threadKey) => {
      messageRefs.delete(threadKey);
    },
    setThreadReplacement: async (threadKey, replacementThreadKey) => {
      threadReplacements.set(threadKey, replacementThreadKey);
    },
    getThreadReplacement: async (threadKey) => threadReplacements.get(threadKey),
    createClass: async (record, opts = {}) =>
      classes.create(record.classId, record, { actor: actor(opts.actor), action: 'created' }),
    getClass: async (classId) => classes.get(classId),
    updateClass: (classId, change, opts) => classes.update(classId, change, opts),
    deleteClass: async (classId, opts = {}) => classes.delete(classId, { actor: actor(opts.actor), action: 'deleted' }),
    listClasses: async () => classes.all(),
    classHistory: async (classId, limit) => classes.history(classId, limit),
  };
}
