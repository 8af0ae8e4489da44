/** Block Kit checks the sim applies (limits from Slack's reference), for renderer tests. */
export { checkBlocks, checkView } from './block-kit.js';
/** The signed-request driver playing Slack towards a Bolt app, and the v0 signature helper. */
export {
  type BlockActionRequest,
  createSlackDriver,
  type DriverResponse,
  type SigningOptions,
  type SlackDriver,
  type SlackDriverOptions,
  type SlashCommandRequest,
  signSlackRequest,
} from './driver.js';
/** The Web API simulator (messages, threads, ephemerals, response URLs, 429s); create one with startSlackSim. */
export { SlackSim, startSlackSim } from './slack-sim.js';
export type {
  JsonObject,
  ResponseUrlPost,
  ResponseUrlTarget,
  SlackEphemeral,
  SlackFailureRule,
  SlackRateLimitRule,
  SlackRecordedCall,
  SlackSimChannelOptions,
  SlackSimMessage,
  SlackSimOptions,
  SlackSimUserOptions,
  SlackViolation,
} from './types.js';
