import type { LabbotError } from '@labbot/core';
import { isLabActive, type LabOwner, type LabRecord, LabRecordSchema, ownerKeyFor } from '@labbot/core';
import type { Redis } from 'ioredis';
import type { AuditEntry } from './audit.js';
import { type ClassRecord, ClassRecordSchema } from './class-record.js';
import { type AuditInput, type UpdateOptions, VersionedCollection } from './versioned-collection.js';

export interface LabStoreOptions {
  /** An ioredis client; the store never closes it. */
  redis: Redis;
  /**
   * The client of the store's plain reads (records, listings, counts, message references; default `redis`); the store
   * never closes it. The chat processes pass one with ioredis `enableAutoPipelining`, so a burst of commands' reads goes
   * out in a few socket writes instead of one each. Writes, and the reads of an update, stay on `redis`.
   */
  reads?: Redis;
  /** Prefix of every key (default `labbot`); tests use a unique one. */
  prefix?: string;
  /** The clock for audit entries and `updatedAt` (a seam for tests). */
  clock?: () => Date;
  /** Audit entries kept per lab or class (default 200). */
  historyLimit?: number;
  /** How long the audit trail of a deleted record is kept (default 7 days). */
  historyTtlAfterDeleteMs?: number;
  /** How long a message reference lives after its last write (default 30 days). */
  messageRefTtlMs?: number;
  /** Told about a stored record that no longer parses; listings skip it (default: one line on stderr). */
  onInvalidRecord?: (kind: 'lab' | 'class', id: string, error: LabbotError) => void;
}

/** Who made a change, for the audit trail (default `labbot`). */
export interface ActorOption {
  actor?: string;
}

/** Lab and class records in Redis, with versioned updates, indexes and an audit trail. */
export interface LabStore {
  /** Stores a new lab unless one with this labId exists; then returns the existing one with `created: false`. */
  create(record: LabRecord, options?: ActorOption): Promise<{ created: boolean; record: LabRecord }>;
  get(labId: string): Promise<LabRecord | undefined>;
  /**
   * Applies `change` to the current record and writes it with `version + 1` and a fresh `updatedAt`; a
   * concurrent writer makes this re-read and re-apply. LabbotError STORE_CONFLICT after `retries`,
   * STORE_NOT_FOUND when the lab does not exist. `change` returning undefined writes nothing.
   */
  update(
    labId: string,
    change: (current: LabRecord) => LabRecord | undefined | Promise<LabRecord | undefined>,
    options?: UpdateOptions,
  ): Promise<LabRecord>;
  /** Removes the lab and its index memberships; false when it did not exist. */
  delete(labId: string, options?: ActorOption): Promise<boolean>;
  listByOwner(owner: LabOwner): Promise<LabRecord[]>;
  listByClass(classId: string): Promise<LabRecord[]>;
  /**
   * Labs still meant to run (desired `running`) whose `expiresAt` is at or before `epochMs`, soonest first: what the
   * janitor warns and stops. A stopped lab leaves the expiry index, so ended classes are not read again every sweep.
   */
  listRunningExpiringBefore(epochMs: number): Promise<LabRecord[]>;
  listAll(): Promise<LabRecord[]>;
  /**
   * Every lab a page at a time (Redis SSCAN over the index of all labs, one MGET per page), so a caller that looks at
   * every lab holds one page, not all of them: the janitor's sweep, with 1,000 labs every 30 s. A lab that exists for
   * the whole listing comes at least once (SSCAN may repeat one); a lab made or deleted meanwhile may or may not come.
   * `pageSize` is a hint (default 200), as SSCAN's COUNT is.
   */
  listAllInPages(options?: { pageSize?: number }): AsyncIterable<LabRecord[]>;
  /**
   * How many labs are active (core's `isLabActive`), all of them or one owner's, without reading any record:
   * the store keeps an index of active labs with every write. `excluding` leaves one lab out of the count.
   */
  countActive(query?: { owner?: LabOwner; excluding?: string }): Promise<number>;
  /** The lab's audit trail, oldest first (the last `limit` entries when given). */
  history(labId: string, limit?: number): Promise<AuditEntry[]>;
  /** Adds an audit entry without changing the record (e.g. `kubectl.scale` by a learner). */
  appendHistory(labId: string, entry: AuditInput): Promise<void>;
  /** Records which chat message shows `logicalKey` (e.g. `status`) in a thread. */
  setMessageRef(threadKey: string, logicalKey: string, messageId: string): Promise<void>;
  getMessageRef(threadKey: string, logicalKey: string): Promise<string | undefined>;
  deleteMessageRefs(threadKey: string): Promise<void>;
  /** Records that a deleted thread's messages now go to `replacementThreadKey` (a thread the bot opened instead). */
  setThreadReplacement(threadKey: string, replacementThreadKey: string): Promise<void>;
  /** The thread that replaced a deleted one, if any. */
  getThreadReplacement(threadKey: string): Promise<string | undefined>;
  createClass(record: ClassRecord, options?: ActorOption): Promise<{ created: boolean; record: ClassRecord }>;
  getClass(classId: string): Promise<ClassRecord | undefined>;
  updateClass(
    classId: string,
    change: (current: ClassRecord) => ClassRecord | undefined | Promise<ClassRecord | undefined>,
    options?: UpdateOptions,
  ): Promise<ClassRecord>;
  deleteClass(classId: string, options?: ActorOption): Promise<boolean>;
  listClasses(): Promise<ClassRecord[]>;
  classHistory(classId: string, limit?: number): Promise<AuditEntry[]>;
}

const DEFAULT_ACTOR = 'labbot';
/** Labs per page of `listAllInPages`. */
const DEFAULT_PAGE_SIZE = 200;

export function createLabStore(options: LabStoreOptions): LabStore {
  const { redis } = options;
  const reads = options.reads ?? redis;
  const prefix = options.prefix ?? 'labbot';
  const clock = options.clock ?? (() => new Date());
  const historyLimit = options.historyLimit ?? 200;
  const historyTtlMs = options.historyTtlAfterDeleteMs ?? 7 * 24 * 3600_000;
  const messageRefTtlMs = options.messageRefTtlMs ?? 30 * 24 * 3600_000;
  const onInvalidRecord =
    options.onInvalidRecord ??
    ((kind: string, id: string, error: LabbotError) =>
      console.error(`[labbot store] skipping unreadable ${kind} record ${id}: ${error.message}`));
  const invalidLab = (id: string, error: LabbotError) => onInvalidRecord('lab', id, error);
  const invalidClass = (id: string, error: LabbotError) => onInvalidRecord('class', id, error);

  const keys = {
    lab: (labId: string) => `${prefix}:lab:${labId}`,
    labHistory: (labId: string) => `${prefix}:lab:${labId}:history`,
    allLabs: `${prefix}:labs:all`,
    byOwner: (ownerKey: string) => `${prefix}:labs:owner:${ownerKey}`,
    byClass: (classId: string) => `${prefix}:labs:class:${classId}`,
    byExpiry: `${prefix}:labs:expiry`,
    active: `${prefix}:labs:active`,
    activeByOwner: (ownerKey: string) => `${prefix}:labs:active:owner:${ownerKey}`,
    class: (classId: string) => `${prefix}:class:${classId}`,
    classHistory: (classId: string) => `${prefix}:class:${classId}:history`,
    allClasses: `${prefix}:classes:all`,
    messageRefs: (threadKey: string) => `${prefix}:msgref:${threadKey}`,
    threadReplacement: (threadKey: string) => `${prefix}:thread-replacement:${threadKey}`,
  };

  const labs = new VersionedCollection<LabRecord>(
    redis,
    {
      kind: 'lab',
      schema: LabRecordSchema,
      recordKey: keys.lab,
      historyKey: keys.labHistory,
      historyLimit,
      indexEntries: (lab) => [
        { kind: 'set', key: keys.allLabs, member: lab.labId },
        { kind: 'set', key: keys.byOwner(ownerKeyFor(lab.owner)), member: lab.labId },
        ...(lab.classId ? [{ kind: 'set' as const, key: keys.byClass(lab.classId), member: lab.labId }] : []),
        ...(lab.desired.state === 'running'
          ? [{ kind: 'zset' as const, key: keys.byExpiry, member: lab.labId, score: Date.parse(lab.expiresAt) }]
          : []),
        ...(isLabActive(lab)
          ? [
              { kind: 'set' as const, key: keys.active, member: lab.labId },
              { kind: 'set' as const, key: keys.activeByOwner(ownerKeyFor(lab.owner)), member: lab.labId },
            ]
          : []),
      ],
    },
    clock,
    reads,
  );

  const classes = new VersionedCollection<ClassRecord>(
    redis,
    {
      kind: 'class',
      schema: ClassRecordSchema,
      recordKey: keys.class,
      historyKey: keys.classHistory,
      historyLimit,
      indexEntries: (record) => [{ kind: 'set', key: keys.allClasses, member: record.classId }],
    },
    clock,
    reads,
  );

  const stamp = <T extends { updatedAt: string }>(record: T | undefined): T | undefined =>
    record === undefined ? undefined : { ...record, updatedAt: clock().toISOString() };

  const appendHistory = async (key: string, entry: AuditInput): Promise<void> => {
    const line: AuditEntry = { at: clock().toISOString(), ...entry, version: null };
    await redis.multi().rpush(key, JSON.stringify(line)).ltrim(key, -historyLimit, -1).exec();
  };

  return {
    create: (record, opts = {}) =>
      labs.create(record.labId, record, { actor: opts.actor ?? DEFAULT_ACTOR, action: 'created' }),
    get: (labId) => labs.get(labId),
    update: (labId, change, opts) => labs.update(labId, async (current) => stamp(await change(current)), opts),
    delete: (labId, opts = {}) =>
      labs.delete(labId, { actor: opts.actor ?? DEFAULT_ACTOR, action: 'deleted' }, historyTtlMs),
    listByOwner: async (owner) => labs.getMany(await reads.smembers(keys.byOwner(ownerKeyFor(owner))), invalidLab),
    listByClass: async (classId) => labs.getMany(await reads.smembers(keys.byClass(classId)), invalidLab),
    // A lab stopped before stopped labs left the index is still in it until its next write: left out here.
    listRunningExpiringBefore: async (epochMs) =>
      (await labs.getMany(await reads.zrangebyscore(keys.byExpiry, '-inf', epochMs), invalidLab)).filter(
        (lab) => lab.desired.state === 'running',
      ),
    listAll: async () => labs.getMany(await reads.smembers(keys.allLabs), invalidLab),
    listAllInPages: async function* (pageOptions = {}) {
      const count = pageOptions.pageSize ?? DEFAULT_PAGE_SIZE;
      let cursor = '0';
      do {
        const [next, labIds] = await reads.sscan(keys.allLabs, cursor, 'COUNT', count);
        cursor = next;
        if (labIds.length > 0) yield await labs.getMany(labIds, invalidLab);
      } while (cursor !== '0');
    },
    countActive: async (query = {}) => {
      const key = query.owner ? keys.activeByOwner(ownerKeyFor(query.owner)) : keys.active;
      if (query.excluding === undefined) return reads.scard(key);
      const reply = await reads.multi().scard(key).sismember(key, query.excluding).exec();
      const [count, excluded] = (reply ?? []).map(([error, value]) => {
        if (error) throw error;
        return Number(value);
      });
      return (count ?? 0) - (excluded ?? 0);
    },
    history: (labId, limit) => labs.history(labId, limit),
    appendHistory: (labId, entry) => appendHistory(keys.labHistory(labId), entry),

    setMessageRef: async (threadKey, logicalKey, messageId) => {
      const key = keys.messageRefs(threadKey);
      await redis.multi().hset(key, logicalKey, messageId).pexpire(key, messageRefTtlMs).exec();
    },
    getMessageRef: async (threadKey, logicalKey) =>
      (await reads.hget(keys.messageRefs(threadKey), logicalKey)) ?? undefined,
    deleteMessageRefs: async (threadKey) => {
      await redis.del(keys.messageRefs(threadKey));
    },
    setThreadReplacement: async (threadKey, replacementThreadKey) => {
      await redis.set(keys.threadReplacement(threadKey), replacementThreadKey, 'PX', messageRefTtlMs);
    },
    getThreadReplacement: async (threadKey) => (await reads.get(keys.threadReplacement(threadKey))) ?? undefined,

    createClass: (record, opts = {}) =>
      classes.create(record.classId, record, { actor: opts.actor ?? DEFAULT_ACTOR, action: 'created' }),
    getClass: (classId) => classes.get(classId),
    updateClass: (classId, change, opts) =>
      classes.update(classId, async (current) => stamp(await change(current)), opts),
    deleteClass: (classId, opts = {}) =>
      classes.delete(classId, { actor: opts.actor ?? DEFAULT_ACTOR, action: 'deleted' }, historyTtlMs),
    listClasses: async () => classes.getMany(await reads.smembers(keys.allClasses), invalidClass),
    classHistory: (classId, limit) => classes.history(classId, limit),
  };
}
