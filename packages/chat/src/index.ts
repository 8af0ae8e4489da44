export {
  type ChatButton,
  type ChatMessage,
  ChatMessageSchema,
  decodeButtonId,
  encodeButtonId,
  formatTable,
  type MessageBlock,
  messageToPlainText,
  type Tone,
  truncate,
} from './message.js';
export {
  type ChatAdapter,
  type ChatCapabilities,
  type ChatFile,
  type ChatHandlers,
  type Conversation,
  type DocumentRequest,
  type FilesRequest,
  type IncomingAction,
  type IncomingCommand,
  type IncomingDocument,
  MESSAGE_GONE_CODE,
  type OutgoingFile,
  RateLimitedError,
  type Responder,
} from './port.js';
export { decodeThreadId, encodeThreadId, platformOfThread, type ThreadAddress } from './thread-id.js';
