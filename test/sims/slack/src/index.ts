/**
 * @labbot/slack-sim: a local Slack Web API (+ response URLs + Socket Mode) for tests, and drivers playing Slack.
 *
 * - startSlackSim(options): starts the sim on 127.0.0.1 and resolves with a SlackSim.
 * - SlackSim: state (calls, violations, messages, ephemerals, responsePosts, views, channelMessages(), threadReplies(),
 *   ephemeralsFor(), callsTo()), response URLs and trigger ids, fault injection (rateLimit, failRequests,
 *   disconnectSocketMode), sendEnvelope (Socket Mode), waitFor and stop.
 * - createSlackDriver(options): signed HTTP slash commands and block_actions towards a Bolt receiver (forgeable).
 * - createSocketModeDriver(options): the same requests as Socket Mode envelopes, answered by the app's ack.
 * - signSlackRequest(secret, timestamp, body): Slack's v0 request signature.
 * - slackMessageText(message): what a user reads in a message (block texts, or `text` without blocks).
 * - checkBlocks(blocks), checkView(view): the Block Kit checks the sim applies, for renderer tests.
 */
export { checkBlocks, checkView } from './block-kit.js';
export {
  createSlackDriver,
  createSocketModeDriver,
  type SlackDriver,
  signSlackRequest,
} from './driver.js';
export { SlackSim, slackMessageText, startSlackSim } from './slack-sim.js';
export type {
  JsonObject,
  SlackSimMessage,
} from './types.js';
