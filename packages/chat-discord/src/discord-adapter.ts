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
  type IncomingDocument,
  MESSAGE_GONE_CODE,
  type OutgoingFile,
  RateLimitedError,
  type Responder,
  THREAD_GONE_CODE,
} from '@labbot/chat';
import { createLogger, type Logger } from '@labbot/config';
import {
  type Actor,
  ADMIN_PERMISSION_ROLE,
  GENERIC_USER_MESSAGE,
  INSTRUCTOR_PERMISSION_ROLE,
  LabbotError,
  MAX_MANIFEST_LENGTH,
} from '@labbot/core';
import {
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  Client,
  type ClientOptions,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  type ModalSubmitInteraction,
  PermissionFlagsBits,
  type RateLimitData,
  RateLimitError,
  RESTJSONErrorCodes,
  type RESTPostAPIChannelMessageResult,
  type RESTPostAPIChannelThreadsResult,
  Routes,
  Status,
} from 'discord.js';
import { AttachmentError, type AttachmentOptionLike, attachmentOptions, fetchAttachments } from './attachments.js';
import {
  type DiscordMessageBody,
  DOCUMENT_FIELD_ID,
  DOCUMENT_MODAL_PREFIX,
  renderDiscordError,
  renderDiscordMessage,
  renderDocumentModal,
} from './cards.js';
import { commandText, focusedValue, LAB_COMMAND } from './lab-command.js';
import { createDiscordRequest } from './rest-request.js';

export interface DiscordAdapterOptions {
  /** The bot token. */
  token: string;
  /** The application id (the `/lab` command is registered under it). */
  applicationId: string;
  /** Register `/lab` in this guild only (appears at once; for development). Global when omitted (production). */
  guildId?: string;
  /** Discord's REST base, `https://discord.com/api` by default (LABBOT_DISCORD_API_URL; a simulator in tests). */
  apiUrl?: string;
  /** Hosts attachments (/lab build files) are downloaded from: Discord's CDN by default (a simulator in tests). */
  attachmentHosts?: readonly string[];
  /**
   * Defer an interaction the handler has not answered after this long (default 1500 ms), so Discord's
   * 3-second deadline is never missed however slow a handler is.
   */
  autoDeferMs?: number;
  /** User ids that may end any class (they are instructors too). */
  adminUserIds?: readonly string[];
  /** Instructor user ids (besides instructor roles and the Manage Server permission). */
  instructorUserIds?: readonly string[];
  /** Thread archive after inactivity, minutes (60, 1440, 4320 or 10080; default 1440). */
  threadArchiveMinutes?: 60 | 1440 | 4320 | 10080;
  logger?: Logger;
}

/** Text shown in a direct message for anything that needs a server channel. */
export const DIRECT_MESSAGE_NOTICE =
  'In a direct message only /lab help and /lab lessons work: labs, their threads and buttons live in a server channel. Type /lab start <lesson> in a channel of a server where labbot is.';

/** Text shown when a lab cannot get a thread of its own. */
export const THREAD_FALLBACK_NOTICE =
  "I could not open a thread here (threads are not allowed in this channel, or I lack the Create Public Threads permission), so your lab's status is posted in this channel instead.";

const DIRECT_MESSAGE_COMMANDS = new Set(['help', 'lessons', 'start']);
/** Where the status messages go (channel messages API); a 429 there is handed to the outbox, which waits. */
const OUTBOX_ROUTE = /^\/channels\/[^/]+\/messages(\/[^/]+)?$/;
const DM_WORKSPACE = '@me';
const THREAD_PERMISSIONS = PermissionFlagsBits.CreatePublicThreads | PermissionFlagsBits.SendMessagesInThreads;

/**
 * The discord.js client as labbot runs it (also the library floor of bench/ack-latency.ts, so that the bench measures
 * the client labbot has). `apiUrl` replaces Discord's API (discord-sim).
 */
export function discordClientOptions(apiUrl?: string): ClientOptions {
  return {
    // Slash commands and buttons arrive as interactions; Guilds gives channels, threads and roles.
    intents: [GatewayIntentBits.Guilds],
    rest: {
      version: '10',
      ...(apiUrl ? { api: apiUrl } : {}),
      // Status posts and edits go through the outbox, which waits as told and coalesces meanwhile;
      // interaction answers (3 s deadline) and thread creation are left to discord.js, which waits.
      rejectOnRateLimit: (data: RateLimitData) => OUTBOX_ROUTE.test(data.route),
      makeRequest: createDiscordRequest(),
    },
  };
}

const silent = () => {};

/**
 * The chat port on discord.js 14 (gateway): `/lab` slash commands and button presses become
 * handler calls; lab threads are public threads started from the command's reply; status
 * messages are posted and edited with the bot token (channel messages API), never with an
 * interaction's webhook token, which expires after 15 minutes.
 */
export class DiscordChatAdapter implements ChatAdapter {
  readonly platform = 'discord' as const;
  readonly capabilities: ChatCapabilities = {
    supportsThreads: true,
    supportsEphemeral: true,
    supportsButtons: true,
    maxMessageLength: 4096,
  };

  #client: Client | undefined;
  #handlers: ChatHandlers | undefined;
  readonly #logger: Logger;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly options: DiscordAdapterOptions) {
    this.#logger = options.logger ?? createLogger({ name: 'labbot-discord', level: 'silent' });
  }

  /** The discord.js client while started (for tests and diagnostics). */
  get client(): Client | undefined {
    return this.#client;
  }

  async start(handlers: ChatHandlers): Promise<void> {
    if (this.#client) throw new Error('the Discord adapter is already started');
    const client = new Client(discordClientOptions(this.options.apiUrl));
    this.#client = client;
    this.#handlers = handlers;
    client.on(Events.InteractionCreate, (interaction) => {
      const work = this.#onInteraction(interaction).catch((error: unknown) =>
        this.#logger.error({ err: error, interactionId: interaction.id }, 'interaction failed'),
      );
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    client.on(Events.Error, (error) => this.#logger.warn({ err: error }, 'discord client error'));
    // The gateway's life: a disconnect that is not resumed loses the interactions Discord sent meanwhile.
    client.on(Events.ShardDisconnect, (event) =>
      this.#logger.warn({ code: event.code }, 'Discord gateway disconnected'),
    );
    client.on(Events.ShardReconnecting, () => this.#logger.info('Discord gateway reconnecting'));
    client.on(Events.ShardResume, (_shard, replayed) => this.#logger.info({ replayed }, 'Discord gateway resumed'));
    client.on(Events.Invalidated, () => this.#logger.error('Discord invalidated the gateway session'));
    const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
    await client.login(this.options.token);
    await ready;
    await this.#registerCommands(client);
  }

  async checkConnection(): Promise<void> {
    const client = this.#client;
    if (!client) throw new Error('the Discord adapter is not started');
    if (!client.isReady() || client.ws.status !== Status.Ready) {
      throw new Error(`Discord gateway not connected (status ${Status[client.ws.status] ?? client.ws.status})`);
    }
  }

  async stop(): Promise<void> {
    this.#handlers = undefined;
    const client = this.#client;
    this.#client = undefined;
    await Promise.allSettled([...this.#inFlight]);
    await client?.destroy();
  }

  async postMessage(
    threadId: string,
    message: ChatMessage,
    options: { idempotencyKey?: string } = {},
  ): Promise<string> {
    const channelId = this.#channelOf(threadId);
    const body = {
      ...renderDiscordMessage(message),
      // A repeated post with the same nonce within a few minutes is dropped by Discord.
      ...(options.idempotencyKey ? { nonce: options.idempotencyKey.slice(0, 25), enforce_nonce: true } : {}),
    };
    const posted = (await this.#rest('post message', () =>
      this.#requireClient().rest.post(Routes.channelMessages(channelId), { body }),
    )) as RESTPostAPIChannelMessageResult;
    return posted.id;
  }

  async editMessage(threadId: string, messageId: string, message: ChatMessage): Promise<void> {
    const channelId = this.#channelOf(threadId);
    await this.#rest('edit message', () =>
      this.#requireClient().rest.patch(Routes.channelMessage(channelId, messageId), {
        body: renderDiscordMessage(message),
      }),
    );
  }

  threadLink(threadId: string): string {
    const address = decodeThreadId(threadId);
    return address ? `<#${address.threadId}>` : 'your thread';
  }

  /** A deleted lab thread: the notice goes into its parent channel and a new thread starts from it (else the channel serves). */
  async reopenThread(threadId: string, request: { notice: ChatMessage; title: string }): Promise<string> {
    const address = decodeThreadId(threadId);
    if (address?.platform !== 'discord') throw new Error(`not a Discord thread id: ${threadId}`);
    const { workspaceId, channelId } = address;
    if (workspaceId === DM_WORKSPACE || channelId === address.threadId) {
      // The lab lived in the channel itself: that channel is what is gone, and there is nowhere to go.
      throw new LabbotError(THREAD_GONE_CODE, `channel ${channelId} is gone`, { retryable: false });
    }
    const client = this.#requireClient();
    const notice = (await this.#rest('post the new thread notice', () =>
      client.rest.post(Routes.channelMessages(channelId), { body: renderDiscordMessage(request.notice) }),
    )) as RESTPostAPIChannelMessageResult;
    try {
      const thread = (await client.rest.post(Routes.threads(channelId, notice.id), {
        body: { name: request.title.slice(0, 100), auto_archive_duration: this.options.threadArchiveMinutes ?? 1440 },
      })) as RESTPostAPIChannelThreadsResult;
      return encodeThreadId({ platform: 'discord', workspaceId, channelId, threadId: thread.id });
    } catch (error) {
      this.#logger.warn({ err: error, channelId }, 'no new thread for the lab: using the channel');
      return encodeThreadId({ platform: 'discord', workspaceId, channelId, threadId: channelId });
    }
  }

  async sendDirect(userId: string, message: ChatMessage): Promise<void> {
    const client = this.#requireClient();
    const channel = (await this.#rest('open DM', () =>
      client.rest.post(Routes.userChannels(), { body: { recipient_id: userId } }),
    )) as { id: string };
    await this.#rest('send DM', () =>
      client.rest.post(Routes.channelMessages(channel.id), { body: renderDiscordMessage(message) }),
    );
  }

  // ---------------------------------------------------------------- interactions

  async #registerCommands(client: Client): Promise<void> {
    const { applicationId, guildId } = this.options;
    const route = guildId
      ? Routes.applicationGuildCommands(applicationId, guildId)
      : Routes.applicationCommands(applicationId);
    // A bulk overwrite is idempotent: restarting the bot keeps the command's id.
    await client.rest.put(route, { body: [LAB_COMMAND] });
    this.#logger.info({ scope: guildId ? `guild ${guildId}` : 'global' }, 'registered /lab');
  }

  async #onInteraction(interaction: Interaction): Promise<void> {
    const handlers = this.#handlers;
    if (!handlers) return;
    if (interaction.isAutocomplete()) return this.#onAutocomplete(interaction, handlers);
    if (interaction.isChatInputCommand() && interaction.commandName === LAB_COMMAND.name) {
      return this.#onCommand(interaction, handlers);
    }
    if (interaction.isButton()) return this.#onButton(interaction, handlers);
    if (interaction.isModalSubmit() && interaction.customId.startsWith(DOCUMENT_MODAL_PREFIX)) {
      return this.#onDocumentForm(interaction, handlers);
    }
  }

  /** A document form submitted (`/lab apply` without an attachment): the command it belongs to, with the text. */
  async #onDocumentForm(interaction: ModalSubmitInteraction, handlers: ChatHandlers): Promise<void> {
    const respond = new InteractionResponder(interaction, this.options, this.#logger);
    const text = interaction.customId.slice(DOCUMENT_MODAL_PREFIX.length);
    try {
      const document = { text: interaction.fields.getTextInputValue(DOCUMENT_FIELD_ID) };
      const conversation = await this.#conversationOf(interaction);
      await handlers.onCommand({ actor: this.#actorOf(interaction), text, document, conversation, respond });
    } catch (error) {
      this.#logger.error({ err: error, interactionId: interaction.id }, 'document form failed');
      await respond.error(GENERIC_USER_MESSAGE).catch(silent);
    } finally {
      await respond.finish();
    }
  }

  /** The attachment of a command as a document: never more than the manifest limit is downloaded. */
  async #attachmentOf(interaction: ChatInputCommandInteraction): Promise<IncomingDocument | undefined> {
    const attachment = interaction.options.data
      .flatMap((option) => [option, ...(option.options ?? [])])
      .find((option) => option.attachment)?.attachment;
    if (!attachment) return undefined;
    const name = attachment.name.slice(0, 256);
    if (attachment.size > MAX_MANIFEST_LENGTH) return { name, text: '', size: attachment.size };
    const response = await fetch(attachment.url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`attachment download answered ${response.status}`);
    const text = (await response.text()).slice(0, MAX_MANIFEST_LENGTH + 1);
    return { name, text, size: Math.max(attachment.size, text.length) };
  }

  async #onAutocomplete(interaction: AutocompleteInteraction, handlers: ChatHandlers): Promise<void> {
    const prefix = focusedValue(interaction.options.data);
    const suggestions = handlers.suggestLessons ? await handlers.suggestLessons(prefix).catch(() => []) : [];
    await interaction.respond(
      suggestions.slice(0, 25).map((suggestion) => ({
        name: suggestion.name.slice(0, 100),
        value: suggestion.value.slice(0, 100),
      })),
    );
  }

  async #onCommand(interaction: ChatInputCommandInteraction, handlers: ChatHandlers): Promise<void> {
    const respond = new InteractionResponder(interaction, this.options, this.#logger);
    const text = commandText(interaction.options.data);
    try {
      const conversation = await this.#conversationOf(interaction);
      if (conversation.isDirect && !DIRECT_MESSAGE_COMMANDS.has(text.split(' ')[0] ?? '')) {
        await respond.error(DIRECT_MESSAGE_NOTICE);
        return;
      }
      const options = interaction.options.data as readonly AttachmentOptionLike[];
      let attachments: ChatFile[] | undefined;
      if (text.split(' ')[0] === 'build' && attachmentOptions(options).length > 0) {
        try {
          attachments = await fetchAttachments(options, {
            ...(this.options.attachmentHosts ? { allowedHosts: this.options.attachmentHosts } : {}),
          });
        } catch (error) {
          if (!(error instanceof AttachmentError)) throw error;
          await respond.error(error.message);
          return;
        }
      }
      const document = await this.#attachmentOf(interaction);
      await handlers.onCommand({
        actor: this.#actorOf(interaction),
        text,
        ...(document ? { document } : {}),
        conversation,
        respond,
        ...(attachments ? { attachments } : {}),
      });
    } catch (error) {
      this.#logger.error({ err: error, interactionId: interaction.id, text: text.slice(0, 200) }, 'command failed');
      await respond.error(GENERIC_USER_MESSAGE).catch(silent);
    } finally {
      await respond.finish();
    }
  }

  async #onButton(interaction: ButtonInteraction, handlers: ChatHandlers): Promise<void> {
    const button = decodeButtonId(interaction.customId);
    if (!button) return;
    const respond = new InteractionResponder(interaction, this.options, this.#logger);
    try {
      await handlers.onAction({
        actor: this.#actorOf(interaction),
        action: button.action,
        target: button.target,
        conversation: await this.#conversationOf(interaction),
        respond,
      });
    } catch (error) {
      this.#logger.error({ err: error, interactionId: interaction.id }, 'button failed');
      await respond.error(GENERIC_USER_MESSAGE).catch(silent);
    } finally {
      await respond.finish();
    }
  }

  /** Who acts: the user, with the ids and names of their roles in the guild (instructor roles match either). */
  #actorOf(interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction): Actor {
    const member = interaction.member;
    // The member's own role ids: discord.js keeps them in `_roles`; its role cache drops ids of roles it has not seen.
    const ownIds = (member as unknown as { _roles?: unknown } | null)?._roles;
    const roleIds = !member
      ? []
      : Array.isArray(member.roles)
        ? member.roles
        : Array.isArray(ownIds)
          ? ownIds.filter((id): id is string => typeof id === 'string')
          : [...member.roles.cache.keys()];
    const roles = memberRoles(roleIds, interaction.guildId, (id) => interaction.guild?.roles.cache.get(id)?.name);
    // Platform permissions, never names: Manage Server makes an instructor, Administrator an admin.
    const permissions = interaction.guildId ? interaction.memberPermissions : null;
    const userId = interaction.user.id;
    if (permissions?.has(PermissionFlagsBits.Administrator) || this.options.adminUserIds?.includes(userId)) {
      roles.push(ADMIN_PERMISSION_ROLE);
    }
    if (permissions?.has(PermissionFlagsBits.ManageGuild) || this.options.instructorUserIds?.includes(userId)) {
      roles.push(INSTRUCTOR_PERMISSION_ROLE);
    }
    return { platform: 'discord', workspaceId: interaction.guildId ?? DM_WORKSPACE, userId, roles };
  }

  async #conversationOf(
    interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
  ): Promise<Conversation> {
    const channelId = interaction.channelId ?? '';
    if (!interaction.guildId) {
      return { platform: 'discord', workspaceId: DM_WORKSPACE, channelId, isDirect: true };
    }
    const channel =
      interaction.channel ?? (await interaction.client.channels.fetch(channelId).catch(() => null)) ?? undefined;
    if (channel?.isThread() && channel.parentId) {
      return {
        platform: 'discord',
        workspaceId: interaction.guildId,
        channelId: channel.parentId,
        threadId: encodeThreadId({
          platform: 'discord',
          workspaceId: interaction.guildId,
          channelId: channel.parentId,
          threadId: channel.id,
        }),
      };
    }
    return { platform: 'discord', workspaceId: interaction.guildId, channelId };
  }

  // ---------------------------------------------------------------- REST

  #channelOf(threadId: string): string {
    const address = decodeThreadId(threadId);
    if (address?.platform !== 'discord') throw new Error(`not a Discord thread id: ${threadId}`);
    return address.threadId;
  }

  #requireClient(): Client {
    if (!this.#client)
      throw new LabbotError('CHAT_NOT_STARTED', 'the Discord adapter is not started', { retryable: true });
    return this.#client;
  }

  /** Runs one REST call; a 429 becomes RateLimitedError (the outbox waits as told), a gone message or thread a clear code. */
  async #rest<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof RateLimitError) {
        throw Object.assign(new RateLimitedError(Math.max(error.retryAfter, error.timeToReset, 0), { cause: error }), {
          global: error.global,
        });
      }
      // 10008 Unknown Message: the message was deleted. 10003 Unknown Channel: the whole thread was.
      if (error instanceof DiscordAPIError && error.code === 10008) {
        throw new LabbotError(MESSAGE_GONE_CODE, `${what}: ${error.message}`, { cause: error, retryable: false });
      }
      if (error instanceof DiscordAPIError && error.code === 10003) {
        throw new LabbotError(THREAD_GONE_CODE, `${what}: ${error.message}`, { cause: error, retryable: false });
      }
      throw error;
    }
  }
}

/** A member's roles as labbot matches instructor roles: every role id and, where known, its name; never @everyone. */
export function memberRoles(
  roleIds: readonly string[],
  guildId: string | null,
  nameOf: (roleId: string) => string | undefined,
): string[] {
  const roles = new Set<string>();
  for (const id of roleIds) {
    if (id === guildId) continue; // @everyone has the guild's id
    roles.add(id);
    const name = nameOf(id);
    // A name is chosen by whoever manages roles: it may never pose as a permission-derived role.
    if (name && !name.startsWith('@')) roles.add(name);
  }
  return [...roles];
}

/**
 * Answers one interaction. The first answer uses the interaction (reply, or the deferred reply),
 * later ones follow-ups; every call is serialized, and an unanswered interaction is deferred
 * (ephemerally) after `autoDeferMs` so Discord's 3-second deadline holds.
 */
class InteractionResponder implements Responder {
  #chain: Promise<unknown> = Promise.resolve();
  /** The original reply shows something already (a reply, or a deferred reply that was edited). */
  #originalUsed = false;
  #originalEphemeral = false;
  /** Discord's refusal of the interaction as unknown (too late), once it came: no answer can reach it after that. */
  #expired: DiscordAPIError | undefined;
  readonly #timer: NodeJS.Timeout;

  constructor(
    private readonly interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
    private readonly options: DiscordAdapterOptions,
    private readonly logger: Logger,
  ) {
    // Discord's deadline counts from when it created the interaction (the id's timestamp), not from when this
    // process got it: one delivered late, or queued behind a burst in a busy process, is deferred that much sooner.
    const autoDeferMs = options.autoDeferMs ?? 1500;
    const age = Date.now() - interaction.createdTimestamp;
    this.#timer = setTimeout(
      () => {
        void this.defer({ ephemeral: true }).catch((error: unknown) => {
          // Refused as too late already: the answer that learned it was logged.
          if (error !== this.#expired) logger.warn({ err: error, interactionId: interaction.id }, 'could not defer');
        });
      },
      Math.min(autoDeferMs, Math.max(0, autoDeferMs - age)),
    );
  }

  /** The handler finished: no automatic defer any more, and no "thinking…" left behind. */
  finish(): Promise<void> {
    clearTimeout(this.#timer);
    return this.#serial(async () => {
      // A deferred reply nothing was written into (the answers went out as follow-ups) would show "thinking…" forever.
      if (this.interaction.deferred && !this.#originalUsed) {
        await this.interaction
          .deleteReply()
          .catch((error: unknown) => this.logger.warn({ err: error }, 'could not remove an unused deferred reply'));
      }
    }).catch((error: unknown) => {
      // An interaction Discord no longer knows has nothing to clean up (its failed answers were told already).
      if (error !== this.#expired) throw error;
    });
  }

  defer(options: { ephemeral?: boolean } = {}): Promise<void> {
    return this.#serial(async () => {
      if (this.#acknowledged()) return;
      const ephemeral = options.ephemeral ?? false;
      await this.interaction.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {});
      this.#originalEphemeral = ephemeral;
    });
  }

  reply(message: ChatMessage, options: { ephemeral?: boolean } = {}): Promise<void> {
    const ephemeral = options.ephemeral ?? false;
    return this.#serial(async () => {
      await this.#send(renderDiscordMessage(message, { ephemeral }), ephemeral);
    });
  }

  error(text: string): Promise<void> {
    return this.#serial(async () => {
      await this.#send(renderDiscordError(text), true);
    });
  }

  /** A slash command or a button can answer with a modal (a form with a paragraph field); a form cannot. */
  get requestDocument(): ((request: DocumentRequest) => Promise<void>) | undefined {
    const interaction = this.interaction;
    if (interaction.isModalSubmit()) return undefined;
    return (request) =>
      this.#serial(async () => {
        clearTimeout(this.#timer);
        if (this.#acknowledged()) throw new Error('the interaction was answered before the form could open');
        await interaction.showModal(renderDocumentModal(request));
      });
  }

  replyFile(file: OutgoingFile, options: { ephemeral?: boolean } = {}): Promise<void> {
    const ephemeral = options.ephemeral ?? false;
    return this.#serial(async () => {
      const { flags: _ignored, ...content } = renderDiscordMessage(file.message, { ephemeral });
      const files = [{ attachment: Buffer.from(file.content, 'utf8'), name: file.name }];
      if (!this.#acknowledged()) {
        await this.interaction.reply({ ...content, files, ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) });
        this.#originalUsed = true;
        this.#originalEphemeral = ephemeral;
        return;
      }
      if (!this.#originalUsed && this.#originalEphemeral === ephemeral) {
        await this.interaction.editReply({ ...content, files });
        this.#originalUsed = true;
        return;
      }
      await this.interaction.followUp({ ...content, files, ...(ephemeral ? { flags: MessageFlags.Ephemeral } : {}) });
    });
  }

  openThread(request: { announcement: ChatMessage; title: string }): Promise<string> {
    return this.#serial(async () => {
      const interaction = this.interaction;
      const guildId = interaction.guildId;
      const channelId = interaction.channelId ?? '';
      const channel = interaction.channel;
      const body = renderDiscordMessage(request.announcement);
      if (!guildId) {
        await this.#send(body, false);
        return encodeThreadId({ platform: 'discord', workspaceId: DM_WORKSPACE, channelId, threadId: channelId });
      }
      // Typed inside a thread already: the lab lives in that thread.
      if (channel?.isThread() && channel.parentId) {
        await this.#send(body, false);
        return encodeThreadId({
          platform: 'discord',
          workspaceId: guildId,
          channelId: channel.parentId,
          threadId: channelId,
        });
      }
      const inChannel = encodeThreadId({ platform: 'discord', workspaceId: guildId, channelId, threadId: channelId });
      const messageId = await this.#send(body, false);
      const permitted = interaction.appPermissions?.has(THREAD_PERMISSIONS) ?? true;
      if (!permitted || !messageId) {
        await this.#fallback(new Error('missing thread permissions'));
        return inChannel;
      }
      try {
        const thread = (await interaction.client.rest.post(Routes.threads(channelId, messageId), {
          body: { name: request.title.slice(0, 100), auto_archive_duration: this.options.threadArchiveMinutes ?? 1440 },
        })) as RESTPostAPIChannelThreadsResult;
        return encodeThreadId({ platform: 'discord', workspaceId: guildId, channelId, threadId: thread.id });
      } catch (error) {
        await this.#fallback(error);
        return inChannel;
      }
    });
  }

  async #fallback(cause: unknown): Promise<void> {
    this.logger.warn({ err: cause, channelId: this.interaction.channelId }, 'no thread for the lab: using the channel');
    await this.interaction
      .followUp({
        ...renderDiscordMessage({ tone: 'warning', blocks: [{ kind: 'text', text: THREAD_FALLBACK_NOTICE }] }),
        flags: MessageFlags.Ephemeral,
      })
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not send the thread fallback notice'));
  }

  #acknowledged(): boolean {
    return this.interaction.deferred || this.interaction.replied;
  }

  /** Shows a body: as the first reply, as the deferred reply when its visibility matches, else as a follow-up. Returns the message id when known. */
  async #send(body: DiscordMessageBody, ephemeral: boolean): Promise<string | undefined> {
    const interaction = this.interaction;
    const flags = ephemeral ? MessageFlags.Ephemeral : undefined;
    const { flags: _ignored, ...content } = body;
    if (!this.#acknowledged()) {
      if (ephemeral) {
        await interaction.reply({ ...content, flags: MessageFlags.Ephemeral });
        this.#originalUsed = true;
        this.#originalEphemeral = true;
        return undefined;
      }
      // Deferring first makes the message id come back with the edit (no extra fetch).
      await interaction.deferReply();
      this.#originalEphemeral = false;
    }
    if (!this.#originalUsed && this.#originalEphemeral === ephemeral) {
      const message = await interaction.editReply(content);
      this.#originalUsed = true;
      return message.id;
    }
    const message = await interaction.followUp({ ...content, ...(flags ? { flags } : {}) });
    return message.id;
  }

  /**
   * Runs answers one after the other. Once Discord refused the interaction as unknown (10062: it was not
   * acknowledged within its 3 s), nothing can be shown through it any more (its webhook needs the acknowledgement):
   * later answers fail at once with that error instead of each trying the API again.
   */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const guarded = async () => {
      if (this.#expired) throw this.#expired;
      try {
        return await work();
      } catch (error) {
        if (error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.UnknownInteraction) {
          this.#expired = error;
          clearTimeout(this.#timer);
        }
        throw error;
      }
    };
    const next = this.#chain.then(guarded, guarded);
    this.#chain = next.catch(() => undefined);
    return next;
  }
}

/** A Discord adapter for the chat service (see DiscordAdapterOptions). */
export function createDiscordAdapter(options: DiscordAdapterOptions): DiscordChatAdapter {
  return new DiscordChatAdapter(options);
}
