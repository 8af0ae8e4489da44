export {
  createDiscordSimHarness,
  type DiscordSimHarness,
  interactionUserOf,
  messageText,
} from './sim-harness.js';
