import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { LabbotError } from '@labbot/core';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { type AuditEntry, AuditEntrySchema } from './audit.js';
import { runScript } from './lua-script.js';

/** One membership a record keeps in an index: a set member, or a sorted-set member with a score. */
export type IndexEntry =
  | { kind: 'set'; key: string; member: string }
  | { kind: 'zset'; key: string; member: string; score: number };

/** How one kind of record is stored: its key, history key, schema and the indexes it belongs to. */
export interface CollectionSpec<T extends { version: number }> {
  /** `lab` or `class`: used in error codes' context and messages. */
  kind: string;
  schema: z.ZodType<T>;
  recordKey(id: string): string;
  historyKey(id: string): string;
  indexEntries(record: T): IndexEntry[];
  /** How many audit entries to keep per record. */
  historyLimit: number;
}

export interface AuditInput {
  /** Who did it: a user key, `runner`, `janitor`... */
  actor: string;
  /** What was done, e.g. `created`, `desired.stopped`, `observed.ready`. */
  action: string;
  /** Small extra facts (kept as JSON). */
  detail?: Record<string, string | number | boolean | null>;
}

export interface UpdateOptions {
  /** How many times a write that lost a race is retried before STORE_CONFLICT (default 50). */
  retries?: number;
  /** An audit entry appended in the same transaction when the update writes. */
  audit?: AuditInput;
}

/**
 * Compare-and-set of one record and its index memberships in one Lua call (atomic in Redis).
 * ARGV[1] is the stored JSON the caller read ('' = must be absent), ARGV[2] the new JSON ('' = delete),
 * ARGV[3] this call's random write id, then quads of index operations that refer to KEYS by position. Comparing
 * the whole stored value (which carries `version`) means any concurrent write makes this one fail and retry.
 * KEYS[2] lists the ids of the record's last writes: finding its own id there, a call knows it ran already. Redis
 * applied it but the reply was lost (Redis killed after writing its AOF) and ioredis sent it again on reconnecting:
 * that is a success, not a conflict, and nothing is done twice.
 */
const CAS_SCRIPT = `
if redis.call('LPOS', KEYS[2], ARGV[3]) then return {1} end
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return {0, current} end
elseif current ~= ARGV[1] then
  if current then return {0, current} end
  return {0}
end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
redis.call('LPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], 0, 15)
if ARGV[2] == '' then redis.call('PEXPIRE', KEYS[2], 600000) else redis.call('PERSIST', KEYS[2]) end
local i = 4
while i <= #ARGV do
  local op = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  local member = ARGV[i + 2]
  local extra = ARGV[i + 3]
  if op == 'sadd' then redis.call('SADD', key, member)
  elseif op == 'srem' then redis.call('SREM', key, member)
  elseif op == 'zadd' then redis.call('ZADD', key, extra, member)
  elseif op == 'zrem' then redis.call('ZREM', key, member)
  elseif op == 'push' then
    redis.call('RPUSH', key, member)
    redis.call('LTRIM', key, -tonumber(extra), -1)
    redis.call('PERSIST', key)
  elseif op == 'expire' then redis.call('PEXPIRE', key, extra)
  end
  i = i + 4
end
return {1}
`;

/** The records of one kind in Redis, with create-if-absent, versioned update, delete and audit trail. */
export class VersionedCollection<T extends { version: number }> {
  readonly #redis: Redis;
  /** The connection of plain reads (get, getMany, history); an update reads through `#redis`, next to its write. */
  readonly #reads: Redis;
  readonly #spec: CollectionSpec<T>;
  readonly #clock: () => Date;

  constructor(redis: Redis, spec: CollectionSpec<T>, clock: () => Date, reads: Redis = redis) {
    this.#redis = redis;
    this.#reads = reads;
    this.#spec = spec;
    this.#clock = clock;
  }

  async get(id: string): Promise<T | undefined> {
    const raw = await this.#reads.get(this.#spec.recordKey(id));
    return raw === null ? undefined : this.#parse(id, raw);
  }

  /** The records of `ids` that exist; an unreadable one is reported to `onInvalid` and left out, so one bad record cannot block a listing. */
  async getMany(ids: readonly string[], onInvalid: (id: string, error: LabbotError) => void): Promise<T[]> {
    if (ids.length === 0) return [];
    const raws = await this.#reads.mget(...ids.map((id) => this.#spec.recordKey(id)));
    const out: T[] = [];
    raws.forEach((raw, index) => {
      if (raw === null) return;
      const id = ids[index] ?? '';
      try {
        out.push(this.#parse(id, raw));
      } catch (error) {
        if (!(error instanceof LabbotError)) throw error;
        onInvalid(id, error);
      }
    });
    return out;
  }

  /** Writes `record` only when no record has this id; otherwise returns the existing one unchanged. */
  async create(id: string, record: T, audit: AuditInput): Promise<{ created: boolean; record: T }> {
    const valid = this.#validate(id, record);
    const result = await this.#cas(id, '', valid, undefined, audit);
    if (result.ok) return { created: true, record: valid };
    if (result.current === undefined) {
      // Created and deleted between our write and read; cannot happen with '' expected, but stay total.
      throw this.#conflict(id, 0);
    }
    return { created: false, record: this.#parse(id, result.current) };
  }

  /**
   * Reads, applies `change`, writes with `version + 1` if nobody wrote in between, else re-reads and
   * re-applies. `change` returning undefined means "nothing to change" (no write, no audit entry).
   */
  async update(
    id: string,
    change: (current: T) => T | undefined | Promise<T | undefined>,
    options: UpdateOptions = {},
  ): Promise<T> {
    const retries = options.retries ?? 50;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const raw = await this.#redis.get(this.#spec.recordKey(id));
      if (raw === null) {
        throw new LabbotError('STORE_NOT_FOUND', `No ${this.#spec.kind} record ${id}.`, {
          userMessage: `That ${this.#spec.kind} does not exist (any more).`,
          context: { kind: this.#spec.kind, id },
        });
      }
      const current = this.#parse(id, raw);
      const proposed = await change(structuredClone(current));
      if (proposed === undefined) return current;
      const next = this.#validate(id, { ...proposed, version: current.version + 1 });
      const result = await this.#cas(id, raw, next, current, options.audit);
      if (result.ok) return next;
      // Lost the race: back off a little (jittered, growing) so concurrent writers spread out.
      await sleep(Math.floor(Math.random() * Math.min(50, 2 + attempt * 3)));
    }
    throw this.#conflict(id, retries);
  }

  /** Removes the record and its index memberships; the audit trail is kept for `historyTtlMs`. */
  async delete(id: string, audit: AuditInput, historyTtlMs: number): Promise<boolean> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const raw = await this.#redis.get(this.#spec.recordKey(id));
      if (raw === null) return false;
      const current = this.#parse(id, raw);
      const result = await this.#cas(id, raw, undefined, current, audit, historyTtlMs);
      if (result.ok) return true;
      await sleep(Math.floor(Math.random() * 20));
    }
    throw this.#conflict(id, 50);
  }

  async history(id: string, limit?: number): Promise<AuditEntry[]> {
    const start = limit === undefined ? 0 : -limit;
    const raws = await this.#reads.lrange(this.#spec.historyKey(id), start, -1);
    return raws.map((raw) => AuditEntrySchema.parse(JSON.parse(raw)));
  }

  async #cas(
    id: string,
    expectedRaw: string,
    next: T | undefined,
    previous: T | undefined,
    audit: AuditInput | undefined,
    historyTtlMs?: number,
  ): Promise<{ ok: true } | { ok: false; current: string | undefined }> {
    const keys: string[] = [this.#spec.recordKey(id), `${this.#spec.recordKey(id)}:writes`];
    const keyIndex = new Map<string, number>();
    const ref = (key: string): string => {
      let index = keyIndex.get(key);
      if (index === undefined) {
        keys.push(key);
        index = keys.length;
        keyIndex.set(key, index);
      }
      return String(index);
    };
    const ops: string[] = [];
    for (const entry of previous ? this.#spec.indexEntries(previous) : []) {
      ops.push(entry.kind === 'set' ? 'srem' : 'zrem', ref(entry.key), entry.member, '');
    }
    for (const entry of next ? this.#spec.indexEntries(next) : []) {
      if (entry.kind === 'set') ops.push('sadd', ref(entry.key), entry.member, '');
      else ops.push('zadd', ref(entry.key), entry.member, String(entry.score));
    }
    if (audit) {
      const entry: AuditEntry = { at: this.#clock().toISOString(), ...audit, version: next?.version ?? null };
      ops.push('push', ref(this.#spec.historyKey(id)), JSON.stringify(entry), String(this.#spec.historyLimit));
    }
    if (historyTtlMs !== undefined) ops.push('expire', ref(this.#spec.historyKey(id)), '', String(historyTtlMs));
    const reply = await runScript(
      this.#redis,
      CAS_SCRIPT,
      keys.length,
      ...keys,
      expectedRaw,
      next ? JSON.stringify(next) : '',
      randomBytes(8).toString('hex'),
      ...ops,
    );
    if (!Array.isArray(reply)) throw new LabbotError('STORE_PROTOCOL', `Unexpected reply from the CAS script.`);
    if (reply[0] === 1) return { ok: true };
    const current = reply[1];
    return { ok: false, current: typeof current === 'string' ? current : undefined };
  }

  #parse(id: string, raw: string): T {
    try {
      return this.#spec.schema.parse(JSON.parse(raw));
    } catch (cause) {
      throw new LabbotError('STORE_CORRUPT', `The stored ${this.#spec.kind} record ${id} is not valid.`, {
        cause,
        context: { kind: this.#spec.kind, id },
      });
    }
  }

  #validate(id: string, record: T): T {
    const result = this.#spec.schema.safeParse(record);
    if (!result.success) {
      throw new LabbotError('STORE_INVALID_RECORD', `Refusing to store an invalid ${this.#spec.kind} record ${id}.`, {
        cause: result.error,
        context: { kind: this.#spec.kind, id },
      });
    }
    return result.data;
  }

  #conflict(id: string, retries: number): LabbotError {
    return new LabbotError('STORE_CONFLICT', `The ${this.#spec.kind} record ${id} kept changing under us.`, {
      retryable: true,
      userMessage: 'Several changes to this lab arrived at once. Please try again.',
      context: { kind: this.#spec.kind, id, retries },
    });
  }
}
