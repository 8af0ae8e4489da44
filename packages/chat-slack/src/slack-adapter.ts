import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ChatAdapter,
  type ChatCapabilities,
  type ChatFile,
  type ChatHandlers,
  type ChatMessage,
  type Conversation,
  type DocumentRequest,
  decodeButtonId,
  decodeThreadId,
  encodeThreadId,
  type FilesRequest,
  MESSAGE_GONE_CODE,
  RateLimitedError,
  type Responder,
  THREAD_GONE_CODE,
  type ThreadAddress,
} from '@labbot/chat';
import type { Logger } from '@labbot/config';
import { type Actor, ADMIN_PERMISSION_ROLE, GENERIC_USER_MESSAGE, LabbotError } from '@labbot/core';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, webApi } from '@slack/bolt';
import {
  DOCUMENT_INPUT_ACTION_ID,
  DOCUMENT_INPUT_BLOCK_ID,
  DOCUMENT_MODAL_CALLBACK_ID,
  FILES_MODAL_CALLBACK_ID,
  MAX_EXTRA_FILES,
  renderDocumentModal,
  renderFilesModal,
  renderSlackError,
  renderSlackMessage,
  SLACK_LIMITS,
  type SlackMessagePayload,
} from './cards.js';
import {
  type FormContext,
  FormContextSchema,
  readFilesForm,
  type ViewSubmission,
  ViewSubmissionSchema,
} from './files-form.js';
import { createResponseUrlPoster, type ResponseUrlPoster } from './response-url.js';

export interface SlackAdapterOptions {
  /** The bot token (xoxb-...): every Web API call. */
  botToken: string;
  /** The app's signing secret: HTTP requests from Slack are verified with it (401 otherwise). */
  signingSecret: string;
  /** 'http' (default): Slack POSTs to `/slack/events`; 'socket': Socket Mode over a WebSocket (needs appToken). */
  mode?: 'http' | 'socket';
  /** The app-level token (xapp-..., scope connections:write) for Socket Mode. */
  appToken?: string;
  /** Web API base (default https://slack.com/api/; tests point it at slack-sim). */
  apiUrl?: string;
  /** Port of the HTTP receiver (default 3000; 0 picks a free one, see `port()`). */
  port?: number;
  /** Address the HTTP receiver binds (default 127.0.0.1: put a TLS reverse proxy or tunnel in front). */
  host?: string;
  /**
   * How long the HTTP receiver keeps an idle keep-alive connection open (default 65 000 ms). It must outlast the
   * idle timeout of whoever sends the requests (Slack, a proxy: often 60 s): Node's 5 s default closed connections
   * that the sender reused at that moment, and the command on it was lost ("This app did not respond").
   */
  keepAliveTimeoutMs?: number;
  /** The slash command (default '/lab'). */
  command?: string;
  /** Slack has no roles: these member ids (U...) act as instructors. */
  instructorUserIds?: readonly string[];
  /** User groups (S...) whose members act as instructors (looked up at start and every 10 minutes). */
  instructorGroupIds?: readonly string[];
  /** Member ids that may end any class (they are instructors too). */
  adminUserIds?: readonly string[];
  /** The role name given to them (default 'instructor'; pass it in the chat service's instructorRoles). */
  instructorRole?: string;
  /** The bot's identity; when both are given Bolt skips its auth.test call. */
  botId?: string;
  botUserId?: string;
  /** Give up on one Web API call after this many ms (default 10000). */
  requestTimeoutMs?: number;
  /** Retries of a failed Web API call made while answering a command (default 2; the outbox retries on its own). */
  responderRetries?: number;
  logger?: Logger;
}

const PLATFORM = 'slack' as const;
/** Message metadata type carrying the key of a post, so a post whose answer was lost can be found again. */
export const POST_METADATA_TYPE = 'labbot_post';

/** Web API errors after which the same call cannot succeed: the outbox should not retry them. */
const PERMANENT_ERRORS = new Set([
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'message_not_found',
  'thread_not_found',
  'cant_update_message',
  'invalid_blocks',
  'msg_too_long',
  'no_text',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'restricted_action',
]);

/** Web API errors saying the message or its channel is gone (deleted, archived, or never there). */
const GONE_ERRORS = new Set(['message_not_found', 'channel_not_found', 'is_archived']);

interface WebApiErrorShape {
  code?: unknown;
  retryAfter?: unknown;
  statusCode?: unknown;
  data?: { error?: unknown };
}

/**
 * A 429 from Slack. Slack's Web API limits are per method and workspace, not per thread, so the outbox holds every
 * Slack delivery (`global`) until Retry-After has passed, instead of letting other threads hit the same limit.
 */
export class SlackRateLimitedError extends RateLimitedError {
  readonly global = true;
}

/** Turns a Web API failure into what the outbox understands: RateLimitedError, or a LabbotError with a retry verdict. */
export function toChatError(error: unknown, method: string): Error {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as WebApiErrorShape;
  if (shape.code === webApi.ErrorCode.RateLimitedError && typeof shape.retryAfter === 'number') {
    return new SlackRateLimitedError(shape.retryAfter * 1000, { cause: error });
  }
  if (shape.code === webApi.ErrorCode.PlatformError) {
    const slackError = String(shape.data?.error ?? 'unknown_error');
    const notMember = slackError === 'not_in_channel' || slackError === 'channel_not_found';
    // The same code as the other adapters for a message or thread that no longer exists.
    // thread_not_found: a reply to a parent message that was deleted with every reply (the whole thread is gone).
    const code =
      slackError === 'thread_not_found'
        ? THREAD_GONE_CODE
        : GONE_ERRORS.has(slackError)
          ? MESSAGE_GONE_CODE
          : 'SLACK_API_ERROR';
    return new LabbotError(code, `${method} failed: ${slackError}`, {
      cause: error,
      retryable: !PERMANENT_ERRORS.has(slackError),
      context: { method, slackError },
      ...(notMember
        ? { userMessage: 'I cannot post in this channel. Invite me first (/invite @labbot), then try again.' }
        : {}),
    });
  }
  return new LabbotError('SLACK_REQUEST_FAILED', `${method} failed: ${errorText(error)}`, {
    cause: error,
    retryable: true,
    context: { method },
  });
}

/**
 * Lets the event loop read other pending requests before this one's work starts: in a burst, every request is
 * acknowledged first (cheap) and the slower command work follows, so no ack waits behind another command's work.
 */
function afterPendingIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A failure after which the message may or may not exist at Slack (the answer was lost, or Slack failed). */
function isAmbiguous(error: unknown): boolean {
  const shape = (typeof error === 'object' && error !== null ? error : {}) as WebApiErrorShape;
  if (shape.code === webApi.ErrorCode.RequestError) return true;
  return shape.code === webApi.ErrorCode.HTTPError && typeof shape.statusCode === 'number' && shape.statusCode >= 500;
}

interface SlashCommandPayload {
  team_id: string;
  channel_id: string;
  user_id: string;
  text: string;
  trigger_id?: string;
  response_url?: string;
}

/** Posts one answer to the interaction it belongs to (its response_url). */
type AnswerFn = (message: object) => Promise<void>;

interface BlockActionPayload {
  type: string;
  user: { id: string; team_id?: string };
  team: { id: string } | null;
  channel?: { id: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string };
  actions: { type: string; action_id: string; value?: string }[];
  response_url?: string;
}

/**
 * The chat port on @slack/bolt: `/lab` slash commands (acknowledged at once, then handled), Block Kit buttons,
 * ephemeral answers through the interaction's response_url, and a thread per lab (`thread_ts`) under the channel
 * message where the status message is posted with chat.postMessage and edited with chat.update.
 */
export class SlackChatAdapter implements ChatAdapter {
  readonly platform = PLATFORM;
  readonly capabilities: ChatCapabilities = {
    supportsThreads: true,
    supportsEphemeral: true,
    supportsButtons: true,
    maxMessageLength: SLACK_LIMITS.sectionText,
  };

  /** The Web API client of the outbox: no retries of its own, 429s thrown at once (the outbox waits as told). */
  readonly client: InstanceType<typeof webApi.WebClient>;
  private readonly options: SlackAdapterOptions;
  /** Answers to response_urls (instead of Bolt's `respond`, whose fetch cost the acks of a burst their CPU). */
  private readonly responseUrls: ResponseUrlPoster;
  private app: App | undefined;
  private server: Server | undefined;
  private handlers: ChatHandlers | undefined;
  private readonly instructors: Set<string>;
  /** Members of the instructor user groups, as last looked up. */
  private groupInstructors = new Set<string>();
  private groupTimer: NodeJS.Timeout | undefined;

  constructor(options: SlackAdapterOptions) {
    if ((options.mode ?? 'http') === 'socket' && !options.appToken) {
      throw new LabbotError('CONFIG_INVALID', 'Slack Socket Mode needs an app-level token (xapp-...)');
    }
    this.options = options;
    this.instructors = new Set(options.instructorUserIds ?? []);
    this.client = new webApi.WebClient(options.botToken, {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.requestTimeoutMs ?? 10_000,
      logLevel: webApi.LogLevel.ERROR,
    });
    this.responseUrls = createResponseUrlPoster({ timeoutMs: options.requestTimeoutMs ?? 10_000 });
  }

  /** The port the HTTP receiver listens on (after start; undefined in Socket Mode). */
  port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === 'object' ? (address as AddressInfo).port : undefined;
  }

  async start(handlers: ChatHandlers): Promise<void> {
    if (this.app) throw new Error('the Slack adapter is already started');
    this.handlers = handlers;
    const { options } = this;
    const clientOptions = {
      ...(options.apiUrl ? { slackApiUrl: options.apiUrl } : {}),
      retryConfig: { retries: options.responderRetries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
      timeout: options.requestTimeoutMs ?? 10_000,
    };
    const logLevel = LogLevel.ERROR;
    const receiver =
      (options.mode ?? 'http') === 'socket'
        ? new SocketModeReceiver({
            appToken: options.appToken ?? '',
            logLevel,
            installerOptions: { clientOptions },
          })
        : new HTTPReceiver({
            signingSecret: options.signingSecret,
            endpoints: '/slack/events',
            logLevel,
            // Answer Slack as soon as a listener acks; the work continues after the HTTP response.
            processBeforeResponse: false,
            customRoutes: [
              {
                path: '/healthz',
                method: 'GET',
                handler: (_request, response) => {
                  response.writeHead(200, { 'content-type': 'text/plain' });
                  response.end('ok\n');
                },
              },
            ],
          });
    const app = new App({
      token: options.botToken,
      receiver,
      logLevel,
      clientOptions,
      // No conversation store: nothing here reads context.conversation, and its middleware made an Error per event.
      convoStore: false,
      ...(options.botId && options.botUserId ? { botId: options.botId, botUserId: options.botUserId } : {}),
    });
    app.command(options.command ?? '/lab', async ({ ack, command }) => {
      await ack();
      await afterPendingIo();
      await this.onSlashCommand(command);
    });
    // Every button press is acknowledged (Slack shows a warning otherwise); only ours reach the handlers.
    app.action({ type: 'block_actions' }, async ({ ack, body }) => {
      await ack();
      await afterPendingIo();
      await this.onBlockAction(body as unknown as BlockActionPayload);
    });
    // A document form (`/lab apply`) submitted: acknowledged at once (the form closes), then handled.
    app.view(DOCUMENT_MODAL_CALLBACK_ID, async ({ ack, body }) => {
      await ack();
      await afterPendingIo();
      await this.onDocumentSubmitted(body);
    });
    // A files form (`/lab build`): checked before the ack, so a bad field is shown in the form, which stays open.
    app.view(FILES_MODAL_CALLBACK_ID, async ({ ack, body }) => {
      const read = this.readFilesSubmission(body);
      if (read.kind === 'errors') {
        await ack({ response_action: 'errors', errors: read.errors });
        return;
      }
      await ack();
      if (read.kind === 'ignored') return;
      await afterPendingIo();
      await this.onFilesSubmitted(read.submission, read.context, read.files);
    });
    app.error(async (error) => {
      options.logger?.error({ err: error }, 'slack listener failed');
    });
    this.app = app;
    if (options.instructorGroupIds?.length) {
      await this.refreshInstructorGroups();
      this.groupTimer = setInterval(() => void this.refreshInstructorGroups(), 10 * 60_000);
      this.groupTimer.unref();
    }
    if (receiver instanceof HTTPReceiver) {
      this.server = await receiver.start({ port: options.port ?? 3000, host: options.host ?? '127.0.0.1' });
      this.server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
      // Headers of a request on a long-idle connection still get their full time.
      this.server.headersTimeout = this.server.keepAliveTimeout + 5_000;
    } else {
      await app.start();
    }
  }

  async checkConnection(): Promise<void> {
    if (!this.app) throw new Error('the Slack adapter is not started');
    if ((this.options.mode ?? 'http') === 'http' && !this.server?.listening)
      throw new Error('the HTTP receiver is not listening');
    // auth.test: the Web API answers and the bot token is still valid.
    await this.client.auth.test();
  }

  /** Looks up the members of the instructor user groups (usergroups.users.list); keeps the last list on failure. */
  private async refreshInstructorGroups(): Promise<void> {
    const members = new Set<string>();
    try {
      for (const usergroup of this.options.instructorGroupIds ?? []) {
        const result = await this.client.usergroups.users.list({ usergroup });
        for (const user of result.users ?? []) members.add(user);
      }
      this.groupInstructors = members;
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'could not look up the instructor user groups');
    }
  }

  async stop(): Promise<void> {
    if (this.groupTimer) clearInterval(this.groupTimer);
    this.handlers = undefined;
    const app = this.app;
    this.app = undefined;
    this.server?.closeAllConnections();
    this.server = undefined;
    await app?.stop();
    this.responseUrls.close();
  }

  async postMessage(
    threadId: string,
    message: ChatMessage,
    options: { idempotencyKey?: string } = {},
  ): Promise<string> {
    const address = this.address(threadId);
    // A key travels with the post (message metadata), so a post whose answer was lost can be found instead of repeated.
    const key = options.idempotencyKey ?? randomUUID();
    try {
      const result = await this.client.chat.postMessage({
        channel: address.channelId,
        // A "thread" that is the channel itself (e.g. a class message) is a top-level post.
        ...(address.threadId === address.channelId ? {} : { thread_ts: address.threadId }),
        ...renderSlackMessage(message),
        metadata: { event_type: POST_METADATA_TYPE, event_payload: { key } },
      });
      if (!result.ts) throw new Error('chat.postMessage answered without a ts');
      return result.ts;
    } catch (error) {
      if (isAmbiguous(error)) {
        const found = await this.findPost(address, key).catch(() => undefined);
        if (found) return found;
      }
      throw toChatError(error, 'chat.postMessage');
    }
  }

  async editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void> {
    const address = this.address(threadId);
    try {
      await this.client.chat.update({ channel: address.channelId, ts: messageId, ...renderSlackMessage(message) });
    } catch (error) {
      throw toChatError(error, 'chat.update');
    }
  }

  /** A deleted lab thread (its parent message and replies): a new parent message in the same channel starts the new thread. */
  async reopenThread(threadId: string, request: { notice: ChatMessage }): Promise<string> {
    const address = this.address(threadId);
    if (address.threadId === address.channelId) {
      throw new LabbotError(THREAD_GONE_CODE, `channel ${address.channelId} is gone`, { retryable: false });
    }
    try {
      const posted = await this.client.chat.postMessage({
        channel: address.channelId,
        ...renderSlackMessage(request.notice),
      });
      if (!posted.ts) throw new Error('chat.postMessage answered without a ts');
      return encodeThreadId({
        platform: PLATFORM,
        workspaceId: address.workspaceId,
        channelId: posted.channel ?? address.channelId,
        threadId: posted.ts,
      });
    } catch (error) {
      throw toChatError(error, 'chat.postMessage');
    }
  }

  /** The bot's reply in a thread carrying this post key, if Slack has it. */
  private async findPost(address: ThreadAddress, key: string): Promise<string | undefined> {
    const replies = await this.client.conversations.replies({
      channel: address.channelId,
      ts: address.threadId,
      include_all_metadata: true,
      limit: 200,
    });
    const match = replies.messages?.find((message) => {
      const metadata = message.metadata as { event_type?: string; event_payload?: { key?: unknown } } | undefined;
      return metadata?.event_type === POST_METADATA_TYPE && metadata.event_payload?.key === key;
    });
    return match?.ts;
  }

  private address(threadId: string): ThreadAddress {
    const address = decodeThreadId(threadId);
    if (!address || address.platform !== PLATFORM) {
      throw new LabbotError('CHAT_BAD_THREAD', `not a Slack thread id: ${threadId}`, { retryable: false });
    }
    return address;
  }

  private actor(teamId: string, userId: string): Actor {
    const role = this.options.instructorRole ?? 'instructor';
    const roles = this.instructors.has(userId) || this.groupInstructors.has(userId) ? [role] : [];
    if (this.options.adminUserIds?.includes(userId)) roles.push(ADMIN_PERMISSION_ROLE);
    return { platform: PLATFORM, workspaceId: teamId, userId, roles };
  }

  /** Answers through this response_url; an interaction without one cannot be answered (the handler's error is logged). */
  private answerTo(responseUrl: string | undefined): AnswerFn {
    return async (message) => {
      if (!responseUrl) throw new LabbotError('SLACK_NO_RESPONSE_URL', 'the interaction has no response_url');
      await this.responseUrls.post(responseUrl, message);
    };
  }

  private async onSlashCommand(command: SlashCommandPayload): Promise<void> {
    const handlers = this.handlers;
    if (!handlers) return;
    const conversation: Conversation = {
      platform: PLATFORM,
      workspaceId: command.team_id,
      channelId: command.channel_id,
      // Slack does not say whether a slash command was typed in a thread.
      ...(command.channel_id.startsWith('D') ? { isDirect: true } : {}),
    };
    const form =
      command.trigger_id && command.response_url
        ? { triggerId: command.trigger_id, responseUrl: command.response_url }
        : undefined;
    const responder = this.responder(conversation, this.answerTo(command.response_url), undefined, form);
    await this.guard(responder, { userId: command.user_id }, () =>
      handlers.onCommand({
        actor: this.actor(command.team_id, command.user_id),
        text: command.text.trim(),
        conversation,
        respond: responder,
      }),
    );
  }

  private async onBlockAction(body: BlockActionPayload): Promise<void> {
    const handlers = this.handlers;
    const pressed = body.actions[0];
    const decoded = decodeButtonId(pressed?.action_id);
    if (!handlers || !decoded) return;
    const teamId = body.team?.id ?? body.user.team_id ?? '';
    const channelId = body.container?.channel_id ?? body.channel?.id ?? '';
    const threadTs = body.container?.thread_ts;
    const conversation: Conversation = {
      platform: PLATFORM,
      workspaceId: teamId,
      channelId,
      ...(threadTs
        ? { threadId: encodeThreadId({ platform: PLATFORM, workspaceId: teamId, channelId, threadId: threadTs }) }
        : {}),
      ...(channelId.startsWith('D') ? { isDirect: true } : {}),
    };
    const responder = this.responder(conversation, this.answerTo(body.response_url), threadTs);
    await this.guard(responder, { userId: body.user.id, action: pressed?.action_id }, () =>
      handlers.onAction({
        actor: this.actor(teamId, body.user.id),
        action: decoded.action,
        target: decoded.target,
        conversation,
        respond: responder,
      }),
    );
  }

  /** The submitted view and its context (private_metadata), checked; undefined (logged) when they are not ours. */
  private formOf(body: unknown): { submission: ViewSubmission; context: FormContext } | undefined {
    const submission = ViewSubmissionSchema.safeParse(body);
    if (!submission.success) {
      this.options.logger?.warn(
        { issues: submission.error.issues.slice(0, 3) },
        'slack form submission not understood',
      );
      return undefined;
    }
    let metadata: unknown;
    try {
      metadata = JSON.parse(submission.data.view.private_metadata ?? '');
    } catch {
      metadata = undefined;
    }
    const context = FormContextSchema.safeParse(metadata);
    if (!context.success) {
      this.options.logger?.warn({ issues: context.error.issues.slice(0, 3) }, 'slack form without its context');
      return undefined;
    }
    return { submission: submission.data, context: context.data };
  }

  /**
   * A form's submitter, conversation and answers: a form has no response_url of its own, so its answers go to the
   * slash command's.
   */
  private formResponder(
    submission: ViewSubmission,
    context: FormContext,
  ): { actor: Actor; conversation: Conversation; responder: Responder } {
    const actor = this.actor(submission.team?.id ?? submission.user.team_id ?? context.team, submission.user.id);
    const conversation: Conversation = { platform: PLATFORM, workspaceId: context.team, channelId: context.channel };
    return { actor, conversation, responder: this.responder(conversation, this.answerTo(context.responseUrl)) };
  }

  private async onDocumentSubmitted(body: unknown): Promise<void> {
    const handlers = this.handlers;
    const form = this.formOf(body);
    if (!handlers || !form) return;
    const { submission, context } = form;
    const text = submission.view.state?.values?.[DOCUMENT_INPUT_BLOCK_ID]?.[DOCUMENT_INPUT_ACTION_ID]?.value ?? '';
    const { actor, conversation, responder } = this.formResponder(submission, context);
    await this.guard(responder, { userId: submission.user.id, form: DOCUMENT_MODAL_CALLBACK_ID }, () =>
      handlers.onCommand({
        actor,
        text: context.command,
        document: { text },
        conversation,
        respond: responder,
      }),
    );
  }

  /** A files form read back: its files, the errors to show in it, or nothing (not ours, or the adapter stopped). */
  private readFilesSubmission(
    body: unknown,
  ):
    | { kind: 'files'; submission: ViewSubmission; context: FormContext; files: ChatFile[] }
    | { kind: 'errors'; errors: Record<string, string> }
    | { kind: 'ignored' } {
    const form = this.formOf(body);
    if (!this.handlers || !form) return { kind: 'ignored' };
    const read = readFilesForm(form.submission.view.state?.values ?? {}, form.context);
    return read.ok ? { kind: 'files', ...form, files: read.files } : { kind: 'errors', errors: read.errors };
  }

  private async onFilesSubmitted(submission: ViewSubmission, context: FormContext, files: ChatFile[]): Promise<void> {
    const handlers = this.handlers;
    if (!handlers) return;
    const { actor, conversation, responder } = this.formResponder(submission, context);
    await this.guard(responder, { userId: submission.user.id, form: FILES_MODAL_CALLBACK_ID }, () =>
      handlers.onCommand({
        actor,
        text: context.command,
        attachments: files,
        conversation,
        respond: responder,
      }),
    );
  }

  /** Opens a form (modal) for a slash command; its context (the command, where to answer) travels in the view. */
  private async openForm(
    triggerId: string,
    render: (privateMetadata: string) => unknown,
    context: FormContext,
  ): Promise<void> {
    const app = this.app;
    if (!app) throw new Error('the Slack adapter is stopped');
    try {
      await app.client.views.open({ trigger_id: triggerId, view: render(JSON.stringify(context)) as never });
    } catch (error) {
      throw toChatError(error, 'views.open');
    }
  }

  /** A handler that throws: the user sees one plain sentence, the details go to the log. */
  private async guard(responder: Responder, context: Record<string, unknown>, work: () => Promise<void>) {
    try {
      await work();
    } catch (error) {
      this.options.logger?.error({ ...context, err: error }, 'slack handler failed');
      await responder
        .error(GENERIC_USER_MESSAGE)
        .catch((replyError: unknown) => this.options.logger?.warn({ err: replyError }, 'could not answer'));
    }
  }

  /**
   * Answers through the interaction's response_url (works in channels the bot is not in, costs no Web API call);
   * the thread of a lab is a bot message posted with chat.postMessage, whose ts names the thread.
   */
  private responder(
    conversation: Conversation,
    respond: AnswerFn,
    threadTs?: string,
    form?: { triggerId: string; responseUrl: string },
  ): Responder {
    const answer = async (payload: SlackMessagePayload, ephemeral: boolean) => {
      await respond({
        response_type: ephemeral ? 'ephemeral' : 'in_channel',
        replace_original: false,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...payload,
      });
    };
    return {
      // The slash command was acknowledged before the handler ran (Slack wants it within 3 s).
      defer: async () => {},
      reply: (message, options) => answer(renderSlackMessage(message), options?.ephemeral ?? false),
      error: (text) => answer(renderSlackError(text), true),
      openThread: async ({ announcement }) => {
        const app = this.app;
        if (!app) throw new Error('the Slack adapter is stopped');
        try {
          const posted = await app.client.chat.postMessage({
            channel: conversation.channelId,
            ...renderSlackMessage(announcement),
          });
          if (!posted.ts) throw new Error('chat.postMessage answered without a ts');
          return encodeThreadId({
            platform: PLATFORM,
            workspaceId: conversation.workspaceId,
            channelId: posted.channel ?? conversation.channelId,
            threadId: posted.ts,
          });
        } catch (error) {
          throw toChatError(error, 'chat.postMessage');
        }
      },
      // Slash commands carry a trigger_id: a modal with a multi-line input asks for the document.
      ...(form
        ? {
            requestDocument: (request: DocumentRequest) =>
              this.openForm(form.triggerId, (context) => renderDocumentModal(request, context), {
                command: request.commandText,
                team: conversation.workspaceId,
                channel: conversation.channelId,
                responseUrl: form.responseUrl,
              }),
            requestFiles: (request: FilesRequest) =>
              this.openForm(form.triggerId, (context) => renderFilesModal(request, context), {
                command: request.commandText,
                team: conversation.workspaceId,
                channel: conversation.channelId,
                responseUrl: form.responseUrl,
                mainPath: request.mainFile.path,
                extraFiles: Math.max(0, Math.min(request.extraFiles, MAX_EXTRA_FILES)),
              }),
          }
        : {}),
    };
  }
}

/** Creates the Slack chat adapter (HTTP receiver or Socket Mode, from the options). */
export function createSlackAdapter(options: SlackAdapterOptions): SlackChatAdapter {
  return new SlackChatAdapter(options);
}
