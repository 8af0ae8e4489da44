import type { Redis } from 'ioredis';
import { z } from 'zod';

/** A learner's raised hand: who, which lab, when, what they said, and the instructor who took it. */
export const HelpRequestSchema = z.object({
  labId: z.string().min(1).max(64),
  userId: z.string().min(1).max(128),
  raisedAt: z.string().min(1),
  text: z.string().max(500).optional(),
  takenBy: z.string().min(1).max(128).optional(),
  takenAt: z.string().optional(),
});
export type HelpRequest = z.infer<typeof HelpRequestSchema>;

export type TakeResult =
  | { outcome: 'taken'; request: HelpRequest }
  | { outcome: 'taken-by-other'; request: HelpRequest }
  | { outcome: 'none' };

/** The raised hands of each class (Redis; one hash per class; taking a hand is one atomic step). */
export interface ClassHelpDesk {
  /** Raises a learner's hand; a hand that is up already stays as it is (with its first time). */
  raise(
    classId: string,
    request: Omit<HelpRequest, 'takenBy' | 'takenAt'>,
  ): Promise<{ outcome: 'raised' | 'already'; request: HelpRequest }>;
  /** An instructor takes a raised hand, unless another instructor has it already. */
  take(classId: string, labId: string, instructorId: string, at: string): Promise<TakeResult>;
  /** Lowers a hand (helped, or withdrawn); returns it as it was. */
  done(classId: string, labId: string): Promise<HelpRequest | undefined>;
  /** The raised hands, earliest first. */
  list(classId: string): Promise<HelpRequest[]>;
  /** The class ended: its raised hands go. */
  forget(classId: string): Promise<void>;
}

export interface ClassHelpDeskOptions {
  redis: Redis;
  /** Key prefix (default `labbot`), the same as the store's. */
  prefix?: string;
}

const RAISE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then return {0, existing} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, ARGV[2]}
`;

const TAKE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then return {-1} end
local request = cjson.decode(existing)
if request['takenBy'] and request['takenBy'] ~= ARGV[2] then return {0, existing} end
request['takenBy'] = ARGV[2]
request['takenAt'] = ARGV[3]
local encoded = cjson.encode(request)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return {1, encoded}
`;

const DONE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then redis.call('HDEL', KEYS[1], ARGV[1]) end
return existing
`;

export function createClassHelpDesk(options: ClassHelpDeskOptions): ClassHelpDesk {
  const { redis } = options;
  const prefix = options.prefix ?? 'labbot';
  const key = (classId: string) => `${prefix}:class:${classId}:help`;
  const parse = (raw: unknown) => HelpRequestSchema.parse(JSON.parse(String(raw)));
  return {
    async raise(classId, request) {
      const valid = HelpRequestSchema.parse(request);
      const reply = (await redis.eval(RAISE, 1, key(classId), valid.labId, JSON.stringify(valid))) as [number, string];
      return { outcome: reply[0] === 1 ? 'raised' : 'already', request: parse(reply[1]) };
    },
    async take(classId, labId, instructorId, at) {
      const reply = (await redis.eval(TAKE, 1, key(classId), labId, instructorId, at)) as [number, string?];
      if (reply[0] === -1) return { outcome: 'none' };
      return { outcome: reply[0] === 1 ? 'taken' : 'taken-by-other', request: parse(reply[1]) };
    },
    async done(classId, labId) {
      const raw = await redis.eval(DONE, 1, key(classId), labId);
      return raw === null ? undefined : parse(raw);
    },
    async list(classId) {
      const all = Object.values(await redis.hgetall(key(classId))).flatMap((raw) => {
        const parsed = HelpRequestSchema.safeParse(JSON.parse(raw));
        return parsed.success ? [parsed.data] : [];
      });
      return all.sort((a, b) => a.raisedAt.localeCompare(b.raisedAt));
    },
    async forget(classId) {
      await redis.del(key(classId));
    },
  };
}
