/** A JSON object as sent or received on the wire. */
export type JsonObject = Record<string, unknown>;

/** One text channel of a simulated guild. */
export interface SimChannelOptions {
  /** Channel id (snowflake); generated when omitted. */
  id?: string;
  /** Channel name, e.g. 'labs'. */
  name: string;
  /** Channel type: 0 text (default), 5 announcement, 2 voice... */
  type?: number;
}

/** One simulated guild, sent to the bot in READY and GUILD_CREATE. */
export interface SimGuildOptions {
  /** Guild id (snowflake); generated when omitted. */
  id?: string;
  /** Guild name. */
  name?: string;
  /** Channels of the guild; one text channel 'labs' when omitted. */
  channels?: SimChannelOptions[];
}

/** Options of startDiscordSim. */
export interface DiscordSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * How long the HTTP server keeps an idle connection (default 1000 ms). Its `Keep-Alive: timeout=1` hint makes
   * undici (discord.js's REST) close every connection after one response, a new TCP connection per call; a benchmark
   * passes more to see the bot as Discord's API keeps connections.
   */
  keepAliveTimeoutMs?: number;
  /** The application (and bot user) id; generated when omitted. */
  applicationId?: string;
  /** The bot token the REST API and IDENTIFY must present. */
  botToken?: string;
  /** Bot user name. */
  botUsername?: string;
  /** Guilds the bot is in; one guild with one text channel when omitted. */
  guilds?: SimGuildOptions[];
  /** Heartbeat interval announced in HELLO (ms), default 41250. */
  heartbeatIntervalMs?: number;
  /** An interaction must be acknowledged within this many ms (default 3000) or its callback gets 10062. */
  interactionAckDeadlineMs?: number;
  /** Interaction tokens (webhook follow-ups, @original) expire after this many ms (default 15 minutes). */
  interactionTokenTtlMs?: number;
}

/** A file part of a multipart upload. */
export interface UploadedFile {
  /** The form field, e.g. `files[0]`. */
  field: string;
  name: string;
  content: string;
}

/** One REST call as the sim saw it. */
export interface RecordedCall {
  /** HTTP method, upper case. */
  method: string;
  /** Route template with named parameters, e.g. '/channels/:channelId/messages/:messageId'. */
  route: string;
  /** The concrete path after /api/v10, decoded ('@original', not '%40original'). */
  path: string;
  /** Query string parameters. */
  query: Record<string, string>;
  /** Parsed JSON body (payload_json for multipart), or undefined. */
  body: unknown;
  /** The files of a multipart upload, as text. */
  files?: UploadedFile[];
  /** Status the sim answered. */
  status: number;
  /** Epoch ms when the request arrived. */
  at: number;
}

/** A payload or protocol rule the client broke (the sim answered like Discord and kept a note). */
export interface Violation {
  /** Short kind: 'invalid-body', 'empty-message', 'unknown-route', 'late-ack', 'rate-limit-ignored', ... */
  kind: string;
  /** Human-readable detail. */
  message: string;
  /** HTTP method of the call, when the violation came from a REST call. */
  method?: string;
  /** Route template of the call, when the violation came from a REST call. */
  route?: string;
  /** Epoch ms. */
  at: number;
}

/** A message stored in the sim, with its edit history. */
export interface SimMessage {
  /** The message object as Discord returns it (current version). */
  data: JsonObject;
  /** Message id. */
  id: string;
  /** Channel (or thread) id. */
  channelId: string;
  /** Who created it: the bot token ('bot'), an interaction callback or an interaction webhook. */
  via: 'bot' | 'interaction' | 'webhook';
  /** Interaction id when created through an interaction. */
  interactionId?: string;
  /** Ephemeral messages exist only for the interaction's user, never in channel history. */
  ephemeral: boolean;
  /** Every PATCH body applied, in order, with the route used and the time. */
  edits: { at: number; body: JsonObject; via: 'bot' | 'interaction' | 'webhook' }[];
  /** Epoch ms when deleted, or undefined. */
  deletedAt?: number;
}

/** A channel or thread stored in the sim. */
export interface SimChannel {
  /** The channel object as Discord returns it. */
  data: JsonObject;
  /** Channel id. */
  id: string;
  /** Guild id, undefined for DMs. */
  guildId?: string;
  /** Parent channel id for threads. */
  parentId?: string;
  /** True for threads (types 10, 11, 12). */
  isThread: boolean;
}

/** The interaction callback a client sent. */
export interface InteractionCallback {
  /** Callback type: 4 reply, 5 deferred reply, 6 deferred update, 7 update, 8 autocomplete, 9 modal. */
  type: number;
  /** The callback's data, if any. */
  data?: JsonObject;
  /** Epoch ms when it arrived. */
  at: number;
  /** ms between the INTERACTION_CREATE dispatch and the callback. */
  latencyMs: number;
}

/** What the sim knows about one interaction it sent. */
export interface InteractionRecord {
  /** Interaction id. */
  id: string;
  /** Interaction token (webhook token). */
  token: string;
  /** 2 application command, 3 component, 4 autocomplete. */
  type: number;
  /** The INTERACTION_CREATE payload sent to the bot. */
  payload: JsonObject;
  /** Epoch ms Discord created the interaction (its id's timestamp: the dispatch, less `deliveredLateByMs`). */
  sentAt: number;
  /** The first (and only) callback, once it arrived. */
  callback?: InteractionCallback;
  /** Id of the message @original refers to, once there is one. */
  originalMessageId?: string;
  /** Ids of follow-up messages, in order. */
  followUpIds: string[];
}

/** Handle on one interaction the sim dispatched. */
export interface InteractionHandle {
  /** Interaction id. */
  readonly id: string;
  /** Interaction token. */
  readonly token: string;
  /** The sim's record of this interaction (live). */
  readonly record: InteractionRecord;
  /** Resolves with the callback when the bot acknowledges; rejects after timeoutMs (default 3000). */
  acknowledged(timeoutMs?: number): Promise<InteractionCallback>;
  /** The message @original refers to now, if any. */
  original(): SimMessage | undefined;
  /** Follow-up messages sent with the interaction token. */
  followUps(): SimMessage[];
  /** Resolves with @original once predicate holds for it; rejects after timeoutMs (default 5000). */
  waitForOriginal(predicate: (message: SimMessage) => boolean, timeoutMs?: number): Promise<SimMessage>;
}

/** A slash command the sim sends as INTERACTION_CREATE type 2. */
export interface SlashCommandInput {
  /** Guild id; omit for a DM (then the channel is the user's DM channel). */
  guildId?: string;
  /** Channel (or thread) id the command is typed in; the guild's first text channel when omitted. */
  channelId?: string;
  /** The invoking user id. */
  userId: string;
  /** User name shown in the payload. */
  username?: string;
  /** The member's permission bitfield in the guild (default: the bot's, which lacks ADMINISTRATOR/MANAGE_GUILD). */
  memberPermissions?: string;
  /** Role ids of the member. */
  roles?: string[];
  /**
   * How long before its delivery Discord created the interaction (a gateway that delivers it late): its id's
   * timestamp and the 3 s acknowledgement deadline count from then (default 0).
   */
  deliveredLateByMs?: number;
  /** Top-level command name, e.g. 'lab'. */
  name: string;
  /** Subcommand group name, if any. */
  subcommandGroup?: string;
  /** Subcommand name, e.g. 'start'. */
  subcommand?: string;
  /**
   * Option values by name (types come from the registered command when known, else from the JS type),
   * or raw API options placed under the subcommand.
   */
  options?: Record<string, string | number | boolean> | JsonObject[];
}

/** An autocomplete request (INTERACTION_CREATE type 4); `focused` names the option being typed. */
export interface AutocompleteInput extends SlashCommandInput {
  /** Name of the focused option. */
  focused: string;
}

/** A button press (INTERACTION_CREATE type 3) on a message the sim holds. */
export interface ButtonClickInput {
  /** Id of the message carrying the button. */
  messageId: string;
  /** custom_id of the button. */
  customId: string;
  /** The user pressing it. */
  userId: string;
  /** User name shown in the payload. */
  username?: string;
  /** The member's permission bitfield in the guild (default: the bot's). */
  memberPermissions?: string;
  /** Role ids of the member. */
  roles?: string[];
  /**
   * How long before its delivery Discord created the interaction (a gateway that delivers it late): its id's
   * timestamp and the 3 s acknowledgement deadline count from then (default 0).
   */
  deliveredLateByMs?: number;
}

/** A rule making the sim answer 429. */
export interface RateLimitRule {
  /** Route template (e.g. '/channels/:channelId/messages') or concrete path; every route when omitted. */
  route?: string;
  /** HTTP method; any when omitted. */
  method?: string;
  /** How many matching requests get 429. */
  count: number;
  /** The wait Discord asks for, in ms. */
  retryAfterMs: number;
  /** Answer as a global rate limit (X-RateLimit-Global, scope 'global'). */
  global?: boolean;
}

/** A rule making the sim answer an API error (e.g. 403 Missing Permissions on thread creation). */
export interface FailureRule {
  /** Route template or concrete path. */
  route: string;
  /** HTTP method; any when omitted. */
  method?: string;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** HTTP status (default 403). */
  status?: number;
  /** Discord JSON error code (default 50013 Missing Permissions). */
  code?: number;
  /** Error message (default 'Missing Permissions'). */
  message?: string;
}

/** State of one gateway connection. */
export interface GatewayConnectionInfo {
  /** Session id once identified. */
  sessionId?: string;
  /** True after READY (or RESUMED) was sent. */
  ready: boolean;
  /** Intents from IDENTIFY. */
  intents: number;
  /** Heartbeats received. */
  heartbeats: number;
  /** True while the socket is open. */
  open: boolean;
}
