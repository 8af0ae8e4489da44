export { type AuditEntry, AuditEntrySchema } from './audit.js';
export {
  type ClassMember,
  ClassMemberSchema,
  type ClassRecord,
  ClassRecordSchema,
  type MessageRef,
  MessageRefSchema,
} from './class-record.js';
export {
  type CheckRecord,
  type ClassRoster,
  type ClassRosterOptions,
  createClassRoster,
  type FinalResult,
  type JoinResult,
  type RosterEntry,
} from './class-roster.js';
export { type ActorOption, createLabStore, type LabStore, type LabStoreOptions } from './lab-store.js';
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimiterOptions,
  type RateLimitRule,
  RateLimitRuleSchema,
  type RateLimitVerdict,
} from './rate-limiter.js';
export type { AuditInput, UpdateOptions } from './versioned-collection.js';
