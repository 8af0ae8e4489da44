export {
  renderSlackError,
  renderSlackMessage,
  SLACK_LIMITS,
  type SlackBlock,
  type SlackMessagePayload,
  TONE_EMOJI,
  toMrkdwn,
} from './cards.js';
export {
  createSlackAdapter,
  POST_METADATA_TYPE,
  type SlackAdapterLogger,
  type SlackAdapterOptions,
  SlackChatAdapter,
  SlackRateLimitedError,
  toChatError,
} from './slack-adapter.js';
