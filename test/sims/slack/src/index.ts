/** Block Kit checks the sim applies (limits from Slack's reference), for renderer tests. */
export { checkBlocks, checkView } from './block-kit.js';
/** Drivers playing Slack towards a Bolt app (signed HTTP, or Socket Mode envelopes), and the v0 signature helper. */
export {
  type BlockActionRequest,
  createSlackDriver,
  createSocketModeDriver,
  type DriverResponse,
  type SigningOptions,
  type SlackDriver,
  type SlackDriverOptions,
  type SlashCommandRequest,
  type SocketModeDriverOptions,
  signSlackRequest,
} from './driver.js';
/** The Web API simulator (messages, threads, ephemerals, response URLs, 429s); create one with startSlackSim. */
/** What a user reads in a message (block texts, or `text` without blocks), for "what does the learner see" assertions. */
export { SlackSim, slackMessageText, startSlackSim } from './slack-sim.js';
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
  SocketModeAck,
} from './types.js';
