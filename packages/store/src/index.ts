export { type AuditEntry, AuditEntrySchema } from './audit.js';
export {
  type ClassHelpDesk,
  type ClassHelpDeskOptions,
  createClassHelpDesk,
  type HelpRequest,
  HelpRequestSchema,
  type TakeResult,
} from './class-help.js';
export {
  type ClassProvisionSlots,
  type ClassProvisionSlotsOptions,
  createClassProvisionSlots,
  type ProvisionTurn,
} from './class-provisions.js';
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
  createClassRoster,
  type FinalResult,
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
