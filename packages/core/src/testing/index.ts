export { createManualClock, type ManualClock } from './manual-clock.js';
export { type LabRecordFixture, labRecordFixture, podFixture } from './records.js';
