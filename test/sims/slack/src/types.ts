/** A JSON object as sent or received on the wire. */
export type JsonObject = Record<string, unknown>;

/** A channel the simulated workspace has. */
export interface SlackSimChannelOptions {
  /** Channel id, e.g. 'C0LABS0001'. */
  id: string;
  /** Channel name without '#'. */
  name: string;
  /** Private channel (G.../is_private). */
  isPrivate?: boolean;
}

/** A user the simulated workspace has (any well-formed U/W id is also accepted and given a default name). */
export interface SlackSimUserOptions {
  /** User id, e.g. 'U0LEARNER1'. */
  id: string;
  /** Handle, e.g. 'ada'. */
  name: string;
  /** Workspace admin (users.info is_admin), e.g. for instructor checks. */
  isAdmin?: boolean;
}

/** Options of startSlackSim. */
export interface SlackSimOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /**
   * How long the HTTP server keeps an idle connection (default 1000 ms). Its `Keep-Alive: timeout=1` hint makes Node's
   * kept-alive agents (the bot's response_url answers) drop a connection that idles for a second and connect anew; a
   * benchmark passes more to see the bot as Slack keeps connections.
   */
  keepAliveTimeoutMs?: number;
  /** The bot token every Web API call must carry (default 'xoxb-sim-token'). */
  botToken?: string;
  /** The app's signing secret (the driver signs with it; default 'sim-signing-secret'). */
  signingSecret?: string;
  /** Workspace id (default 'T0LABBOT01'). */
  teamId?: string;
  /** Channels (default one public channel C0LABS0001 'labs'). */
  channels?: SlackSimChannelOptions[];
  /** Named users. */
  users?: SlackSimUserOptions[];
  /** User groups (id S...) and their member ids, for usergroups.users.list. */
  userGroups?: { id: string; users: string[] }[];
  /** The app-level token for Socket Mode's apps.connections.open (default 'xapp-sim-token'). */
  appToken?: string;
  /** How often the sim pings Socket Mode clients (ms, default 10000; Slack clients expect one within 30 s). */
  socketPingIntervalMs?: number;
}

/** A Socket Mode client's acknowledgement of one envelope. */
export interface SocketModeAck {
  /** The envelope acknowledged. */
  envelopeId: string;
  /** The response payload sent with the ack (what ack(...) was given), if any. */
  payload?: JsonObject;
  /** ms from sending the envelope to the ack. */
  ackMs: number;
}

/** One Web API call as the sim saw it. */
export interface SlackRecordedCall {
  /** Web API method, e.g. 'chat.postMessage'. */
  method: string;
  /** Arguments with JSON fields (blocks, view, metadata...) parsed and the token removed. */
  body: JsonObject;
  /** HTTP status the sim answered (200, or 429). */
  status: number;
  /** The answer's `ok`. */
  ok: boolean;
  /** The answer's `error`, if any. */
  error?: string;
  /** Epoch ms when the request arrived. */
  at: number;
}

/** A rule the client broke (the sim answered like Slack and kept a note). */
export interface SlackViolation {
  /** Short kind: 'invalid-request', 'invalid-auth', 'rate-limit-ignored', 'unknown-method', ... */
  kind: string;
  /** Web API method or 'response_url'. */
  method: string;
  /** Detail. */
  message: string;
  /** Epoch ms. */
  at: number;
}

/** A message stored in the sim. */
export interface SlackSimMessage {
  /** Channel id. */
  channel: string;
  /** Message timestamp (its id). */
  ts: string;
  /** Parent ts when the message is a thread reply. */
  threadTs?: string;
  /** Current text. */
  text: string;
  /** Current blocks. */
  blocks: JsonObject[];
  /** The message object as Slack returns it (current version). */
  data: JsonObject;
  /** How it was created. */
  via: 'api' | 'response_url';
  /** Every update applied, in order. */
  edits: { at: number; text: string; blocks: JsonObject[]; via: 'api' | 'response_url' }[];
  /** Epoch ms when deleted. */
  deletedAt?: number;
}

/** An ephemeral message (chat.postEphemeral or an ephemeral response_url post), visible to one user. */
export interface SlackEphemeral {
  /** Channel id. */
  channel: string;
  /** The only user who sees it. */
  user: string;
  /** Text. */
  text: string;
  /** Blocks. */
  blocks: JsonObject[];
  /** Thread it was posted in, if any. */
  threadTs?: string;
  /** Its message_ts. */
  ts: string;
  /** How it was created. */
  via: 'api' | 'response_url';
  /** Epoch ms. */
  at: number;
}

/** One POST to a response_url the sim hosts. */
export interface ResponseUrlPost {
  /** The response URL. */
  url: string;
  /** The JSON body posted. */
  body: JsonObject;
  /** Status the sim answered. */
  status: number;
  /** Epoch ms. */
  at: number;
}

/** A rule making the Web API answer 429 with Retry-After. */
export interface SlackRateLimitRule {
  /** Web API method, e.g. 'chat.update'; every method when omitted. */
  method?: string;
  /** How many matching calls get 429. */
  count: number;
  /** Retry-After in whole seconds (Slack's unit). */
  retryAfterSeconds: number;
}

/** A rule making the Web API answer `ok: false` with an error (e.g. 'not_in_channel'). */
export interface SlackFailureRule {
  /** Web API method. */
  method: string;
  /** Slack error code. */
  error: string;
  /** How many matching calls fail (default 1). */
  count?: number;
  /** An HTTP status for the failure (e.g. 500, 503: Slack's side broke); 200 with ok: false when omitted. */
  status?: number;
}

/** Where a response_url posts land (what the interaction came from). */
export interface ResponseUrlTarget {
  /** Channel of the interaction. */
  channel: string;
  /** User who triggered it (ephemeral responses are for them). */
  user: string;
  /** The message the interaction came from (replace_original/delete_original act on it). */
  messageTs?: string;
}
