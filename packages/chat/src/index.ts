export {
  type ButtonAction,
  ButtonActionSchema,
  type ChatButton,
  ChatButtonSchema,
  type ChatMessage,
  ChatMessageSchema,
  decodeButtonId,
  encodeButtonId,
  formatTable,
  type MessageBlock,
  MessageBlockSchema,
  messageToPlainText,
  type Tone,
  ToneSchema,
  truncate,
} from './message.js';
export {
  type ChatAdapter,
  type ChatCapabilities,
  type ChatHandlers,
  type Conversation,
  type IncomingAction,
  type IncomingCommand,
  RateLimitedError,
  type Responder,
  type Suggestion,
} from './port.js';
export { decodeThreadId, encodeThreadId, platformOfThread, type ThreadAddress } from './thread-id.js';
