import type { Actor, Platform } from '@labbot/core';
import type { ButtonAction, ChatMessage } from './message.js';

/** What an adapter can do; shared code asks these instead of checking which platform it is. */
export interface ChatCapabilities {
  /** Labs get a thread of their own (otherwise messages go to the channel). */
  supportsThreads: boolean;
  /** Errors can be shown to one user only. */
  supportsEphemeral: boolean;
  /** Messages can carry buttons. */
  supportsButtons: boolean;
  /** Longest text of one message or block the platform takes. */
  maxMessageLength: number;
}

/** Where a command was typed. */
export interface Conversation {
  platform: Platform;
  workspaceId: string;
  channelId: string;
  /** Set when the command was typed inside a thread (e.g. a lab's thread). */
  threadId?: string;
  /** A direct message conversation: no threads, no classes. */
  isDirect?: boolean;
}

/** How a handler answers one command or button press; every method may be called at most as documented. */
export interface Responder {
  /** Acknowledge now and answer later (Discord: deferReply; Slack: the HTTP ack). Idempotent. */
  defer(options?: { ephemeral?: boolean }): Promise<void>;
  /** Answer the user in the conversation; ephemeral answers are seen by the user only where supported. */
  reply(message: ChatMessage, options?: { ephemeral?: boolean }): Promise<void>;
  /** Answer with one short error sentence, ephemeral where the platform allows. */
  error(text: string): Promise<void>;
  /**
   * Answer in the channel and open a thread for a lab under that answer; returns the thread id
   * (`<platform>:<workspace>:<channel>:<thread>`). Falls back to the channel where threads are not possible.
   */
  openThread(request: { announcement: ChatMessage; title: string }): Promise<string>;

  /**
   * Asks the user for a longer text that does not fit in a command (a manifest for `/lab apply`): Discord and
   * Slack open a form with a multi-line field. The answer arrives as a new command (`commandText`) carrying it as
   * `document`. Absent where the adapter takes documents with the command itself (a file or pasted block).
   */
  requestDocument?(request: DocumentRequest): Promise<void>;
  /**
   * Asks the user for a few small text files in a form (the Dockerfile and the files it COPYs, for `/lab build`):
   * Slack opens a modal with a field per file. The answer arrives as a new command (`commandText`) carrying them as
   * `attachments`. Absent where the adapter takes files with the command itself (attachments, a folder).
   */
  requestFiles?(request: FilesRequest): Promise<void>;
  /** Answers with a file (e.g. a class export as CSV), where the platform takes files; otherwise absent. */
  replyFile?(file: OutgoingFile, options?: { ephemeral?: boolean }): Promise<void>;
}

/** What a form asking for a document shows, and the command its answer becomes. */
export interface DocumentRequest {
  /** The form's title, e.g. "Apply a manifest". */
  title: string;
  /** The label of the multi-line field. */
  label: string;
  placeholder?: string;
  /** The command the submitted text goes with, e.g. `apply`. */
  commandText: string;
}

/** What a form asking for a few small files shows, and the command its answer becomes. */
export interface FilesRequest {
  /** The form's title, e.g. "Build your image". */
  title: string;
  /** The file the form always asks for; it arrives under this path (e.g. `Dockerfile`). */
  mainFile: { path: string; label: string; placeholder?: string };
  /** How many more files the form offers (each optional: a name and a content field). */
  extraFiles: number;
  /** The submit button's label (default "Send"). */
  submitLabel?: string;
  /** The command the submitted files go with, e.g. `build`. */
  commandText: string;
}

/** A text that came with a command: an attached or named file, or a form's paragraph field. */
export interface IncomingDocument {
  /** The file or attachment name, when there is one. */
  name?: string;
  text: string;
  /** Its full size in bytes when `text` holds only the start of it (an adapter never reads a huge file whole). */
  size?: number;
}

/** A small text file labbot sends in chat (e.g. a class export). */
export interface OutgoingFile {
  /** The file name, e.g. `class-1a2b3c4d5e.csv`. */
  name: string;
  content: string;
  /** The message the file comes with. */
  message: ChatMessage;
}

/** A file a user sent with a command (e.g. a Dockerfile for /lab build). */
export interface ChatFile {
  /** Relative path with forward slashes, e.g. `app/hello.sh`. */
  path: string;
  content: Uint8Array;
  /** Permission bits where the source has them (a local folder). */
  mode?: number;
}

/** A `/lab ...` command as typed by a user. */
export interface IncomingCommand {
  actor: Actor;
  /** The text after `/lab`, e.g. `start docker-vs-kubernetes`. */
  text: string;
  /** A document sent with the command (e.g. the manifest of `/lab apply`). */
  document?: IncomingDocument;
  conversation: Conversation;
  respond: Responder;
  /** Files sent with the command, where the platform takes files (attachments, a modal's fields). */
  attachments?: ChatFile[];
  /** Reads the files of a folder the user named, where the chat runs on the user's own machine (local chat). */
  readFolder?(path: string): Promise<ChatFile[]>;
}

/** A press of one of our buttons. */
export interface IncomingAction {
  actor: Actor;
  action: ButtonAction;
  target: string;
  conversation: Conversation;
  respond: Responder;
}

/** A lesson suggestion for autocomplete. */
export interface Suggestion {
  name: string;
  value: string;
}

export interface ChatHandlers {
  onCommand(command: IncomingCommand): Promise<void>;
  onAction(action: IncomingAction): Promise<void>;
  /** Suggestions while the user types a lesson id (where the platform supports autocomplete). */
  suggestLessons?(prefix: string): Promise<Suggestion[]>;
}

/**
 * The chat port every adapter (Discord, Slack, terminal) implements. Lab logic sees only this.
 * Message ids are the platform's own (Discord message id, Slack ts, terminal counter).
 */
export interface ChatAdapter {
  readonly platform: Platform;
  readonly capabilities: ChatCapabilities;
  /** Connects and starts delivering commands and button presses to the handlers. */
  start(handlers: ChatHandlers): Promise<void>;
  /** Disconnects; no handler is called afterwards. */
  stop(): Promise<void>;
  /**
   * Posts a new message in a thread with the bot's own credentials; returns its message id. The same
   * `idempotencyKey` given again (a retried delivery) must not make a second message where the platform allows.
   */
  postMessage(threadId: string, message: ChatMessage, options?: PostOptions): Promise<string>;
  /** Replaces a message the bot posted earlier in that thread. */
  editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void>;
  /** Sends a direct message to a user, where the platform allows. */
  sendDirect?(userId: string, message: ChatMessage): Promise<void>;
  /** Resolves while the platform is reachable (gateway connected, Web API answering); rejects with why not. */
  checkConnection?(): Promise<void>;
  /** How a message points at a thread (e.g. Discord's `<#id>`); plain words are used where absent. */
  threadLink?(threadId: string): string;
  /**
   * The thread was deleted (posting there threw THREAD_GONE_CODE): opens a new thread in the same channel that
   * starts with `notice` (or, where no thread can be opened, posts `notice` in the channel) and returns its thread id.
   */
  reopenThread?(threadId: string, request: { notice: ChatMessage; title: string }): Promise<string>;
}

export interface PostOptions {
  /** Stable for one logical message (thread + key): Discord's nonce, Slack message metadata. */
  idempotencyKey?: string;
}

/** The error code an adapter uses when the message to edit no longer exists (deleted by someone). */
export const MESSAGE_GONE_CODE = 'CHAT_MESSAGE_GONE';

/** The error code an adapter uses when the whole thread is gone (deleted by someone): nothing can be posted there. */
export const THREAD_GONE_CODE = 'CHAT_THREAD_GONE';

/** A delivery the platform refused for now; the outbox waits `retryAfterMs` and tries again. */
export class RateLimitedError extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, options?: { cause?: unknown }) {
    super(`rate limited: retry after ${retryAfterMs} ms`, options);
    this.name = 'RateLimitedError';
    this.retryAfterMs = retryAfterMs;
  }
}
