export {
  DOCUMENT_INPUT_ACTION_ID,
  DOCUMENT_INPUT_BLOCK_ID,
  DOCUMENT_INPUT_MAX_LENGTH,
  DOCUMENT_MODAL_CALLBACK_ID,
  renderDocumentModal,
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
  type SlackAdapterOptions,
  SlackChatAdapter,
  SlackRateLimitedError,
  toChatError,
} from './slack-adapter.js';
