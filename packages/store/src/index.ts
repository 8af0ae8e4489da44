export { type CapacityReports, createCapacityReports } from './capacity-report.js';
export { type ClassHelpDesk, createClassHelpDesk, type HelpRequest } from './class-help.js';
export { type ClassProvisionSlots, createClassProvisionSlots } from './class-provisions.js';
export type { ClassRecord } from './class-record.js';
export {
  type CheckRecord,
  type ClassRoster,
  createClassRoster,
  type FinalResult,
  type RosterEntry,
} from './class-roster.js';
export { createLabStore, type LabStore } from './lab-store.js';
export { createRateLimiter, type RateLimiter, type RateLimitRule } from './rate-limiter.js';
export { createWarmPoolStore, type WarmPoolStore } from './warm-pool.js';
