import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DEFAULT_PLACE_LEASE_MS, PROVISION_KEYS_TTL_MS, provisionKeysOf } from './class-provisions.js';
import { runScript } from './lua-script.js';

/** One learner of a class: who, which lab, when they joined and their place in the join order (1 = first). */
export const RosterEntrySchema = z.object({
  userId: z.string().min(1).max(128),
  labId: z.string().min(1).max(64),
  joinedAt: z.string().min(1),
  seq: z.number().int().min(1),
});
export type RosterEntry = z.infer<typeof RosterEntrySchema>;

/** The latest `/lab check` of one learner's lab: each check's result, and when it first passed. */
export const CheckRecordSchema = z.object({
  at: z.string().min(1),
  results: z.array(
    z.object({ name: z.string().min(1).max(200), passed: z.boolean(), firstPassedAt: z.string().optional() }),
  ),
});
export type CheckRecord = z.infer<typeof CheckRecordSchema>;

/** Where a learner ended when the class ended (the board's final results). */
export const FinalResultSchema = z.object({
  stage: z.string().min(1).max(32),
  diagnosis: z.string().max(64).optional(),
  readyAt: z.string().optional(),
});
export type FinalResult = z.infer<typeof FinalResultSchema>;

export type JoinResult =
  | { outcome: 'joined'; entry: RosterEntry }
  | { outcome: 'already'; entry: RosterEntry }
  | { outcome: 'full'; max: number };

export interface JoinOptions {
  /** Put the lab in the provision line (default true); false for a lab that needs no provisioning (a warm lab taken). */
  inLine?: boolean;
}

/** Who joined which class, in order, with their checks and final results (Redis; one hash per class, atomic joins). */
export interface ClassRoster {
  /**
   * Adds a learner unless they are in already or the class has `max` learners, and puts their lab in the class's
   * provision line at their join place, in one atomic step (so no later joiner can be provisioned first).
   */
  join(classId: string, entry: Omit<RosterEntry, 'seq'>, max: number, options?: JoinOptions): Promise<JoinResult>;
  /** The learners in join order. */
  members(classId: string): Promise<RosterEntry[]>;
  member(classId: string, userId: string): Promise<RosterEntry | undefined>;
  /** Records a learner's check results, keeping the first time each check passed. */
  recordChecks(classId: string, labId: string, results: { name: string; passed: boolean }[], at: string): Promise<void>;
  checks(classId: string): Promise<Map<string, CheckRecord>>;
  setFinal(classId: string, results: Map<string, FinalResult>): Promise<void>;
  finals(classId: string): Promise<Map<string, FinalResult>>;
  /** Makes `classId` the open class of a channel unless another one is; returns the open one. */
  claimChannel(channelKey: string, classId: string): Promise<string>;
  openClassOf(channelKey: string): Promise<string | undefined>;
  /** Frees the channel when `classId` still holds it. */
  releaseChannel(channelKey: string, classId: string): Promise<void>;
  /**
   * The class ended: what only joining needed (the join counter) goes now; the members, checks and final results,
   * which the export reads, are kept for `keepMs` and then expire.
   */
  retire(classId: string, keepMs: number): Promise<void>;
}

export interface ClassRosterOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
  /** How long a place in the provision line lives before the lab's runner first asks (the slots' place lease). */
  placeLeaseMs?: number;
  now?: () => number;
}

// KEYS: members, seq, provision line, line-seen; ARGV: userId, entry, max, place lease end, line keys' TTL, in line (1/0)
const JOIN = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return {-1} end
local seq = redis.call('INCR', KEYS[2])
local entry = cjson.decode(ARGV[2])
entry['seq'] = seq
local encoded = cjson.encode(entry)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
if ARGV[6] == '1' then
  redis.call('ZADD', KEYS[3], 'NX', seq, entry['labId'])
  redis.call('ZADD', KEYS[4], ARGV[4], entry['labId'])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  redis.call('PEXPIRE', KEYS[4], ARGV[5])
end
return {1, encoded}
`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

function parseMap<T>(raw: Record<string, string>, schema: z.ZodType<T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const [key, value] of Object.entries(raw)) {
    const parsed = schema.safeParse(JSON.parse(value));
    if (parsed.success) out.set(key, parsed.data);
  }
  return out;
}

export function createClassRoster(options: ClassRosterOptions): ClassRoster {
  const { redis } = options;
  const prefix = options.prefix ?? 'labbot';
  const now = options.now ?? Date.now;
  const placeLeaseMs = options.placeLeaseMs ?? DEFAULT_PLACE_LEASE_MS;
  const keys = {
    members: (classId: string) => `${prefix}:class:${classId}:members`,
    seq: (classId: string) => `${prefix}:class:${classId}:seq`,
    checks: (classId: string) => `${prefix}:class:${classId}:checks`,
    finals: (classId: string) => `${prefix}:class:${classId}:finals`,
    channel: (channelKey: string) => `${prefix}:classes:channel:${channelKey}`,
  };
  const parseEntry = (raw: unknown) => RosterEntrySchema.parse(JSON.parse(String(raw)));

  return {
    async join(classId, entry, max, joinOptions = {}) {
      const line = provisionKeysOf(prefix, classId);
      const reply = (await runScript(
        redis,
        JOIN,
        4,
        keys.members(classId),
        keys.seq(classId),
        line.line,
        line.seen,
        entry.userId,
        JSON.stringify(entry),
        max,
        now() + placeLeaseMs,
        PROVISION_KEYS_TTL_MS,
        joinOptions.inLine === false ? '0' : '1',
      )) as [number, string?];
      if (reply[0] === -1) return { outcome: 'full', max };
      return { outcome: reply[0] === 1 ? 'joined' : 'already', entry: parseEntry(reply[1]) };
    },
    async members(classId) {
      const all = parseMap(await redis.hgetall(keys.members(classId)), RosterEntrySchema);
      return [...all.values()].sort((a, b) => a.seq - b.seq);
    },
    async member(classId, userId) {
      const raw = await redis.hget(keys.members(classId), userId);
      return raw === null ? undefined : parseEntry(raw);
    },
    async recordChecks(classId, labId, results, at) {
      const key = keys.checks(classId);
      // One writer per learner (their own /lab check); a lost race only loses a "first passed" time.
      const before = parseMap({ labId: (await redis.hget(key, labId)) ?? 'null' }, CheckRecordSchema).get('labId');
      const record: CheckRecord = {
        at,
        results: results.map((result) => {
          const firstPassedAt = before?.results.find((old) => old.name === result.name)?.firstPassedAt;
          return {
            name: result.name,
            passed: result.passed,
            ...(firstPassedAt ? { firstPassedAt } : result.passed ? { firstPassedAt: at } : {}),
          };
        }),
      };
      await redis.hset(key, labId, JSON.stringify(record));
    },
    checks: async (classId) => parseMap(await redis.hgetall(keys.checks(classId)), CheckRecordSchema),
    async setFinal(classId, results) {
      if (results.size === 0) return;
      const flat: string[] = [];
      for (const [labId, result] of results) flat.push(labId, JSON.stringify(result));
      await redis.hset(keys.finals(classId), ...flat);
    },
    finals: async (classId) => parseMap(await redis.hgetall(keys.finals(classId)), FinalResultSchema),
    async claimChannel(channelKey, classId) {
      await redis.set(keys.channel(channelKey), classId, 'NX');
      return (await redis.get(keys.channel(channelKey))) ?? classId;
    },
    openClassOf: async (channelKey) => (await redis.get(keys.channel(channelKey))) ?? undefined,
    async releaseChannel(channelKey, classId) {
      await redis.eval(RELEASE, 1, keys.channel(channelKey), classId);
    },
    async retire(classId, keepMs) {
      const keep = Math.max(1, Math.round(keepMs));
      await redis
        .multi()
        .del(keys.seq(classId))
        .pexpire(keys.members(classId), keep)
        .pexpire(keys.checks(classId), keep)
        .pexpire(keys.finals(classId), keep)
        .exec();
    },
  };
}
