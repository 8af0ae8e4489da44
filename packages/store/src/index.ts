export type { ClassRecord } from './class-record.js';
export {
  type CheckRecord,
  type ClassRoster,
  createClassRoster,
  type FinalResult,
  type RosterEntry,
} from './class-roster.js';
export { createLabStore, type LabStore } from './lab-store.js';
