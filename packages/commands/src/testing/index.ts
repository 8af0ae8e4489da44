export { createLabBotOnFakes, type LabBotOnFakes, type LabBotOnFakesOptions } from './lab-bot-on-fakes.js';
