import type { IncomingMessage, ServerResponse } from 'node:http';
import { DiscordApiError } from './api-error.js';
import type { Faults, RestReply } from './faults.js';
import type { SimState } from './state.js';
import type { UploadedFile } from './types.js';

const maxBodyBytes = 10 * 1024 * 1024;

export interface RestRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  body: unknown;
  fileCount: number;
}

interface RouteDefinition {
  method: string;
  template: string;
  pattern: RegExp;
  names: string[];
  /** Interaction callbacks and interaction webhooks need no bot token. */
  auth: boolean;
  handler: (request: RestRequest) => RestReply;
}

/** The REST plumbing under /api/v10: routing, bot-token auth, bodies (JSON or multipart), faults, the call log. */
export class RestServer {
  readonly #routes: RouteDefinition[] = [];

  constructor(
    private readonly state: SimState,
    private readonly faults: Faults,
  ) {}

  /** Adds a route; `:name` segments become params. */
  on(method: string, template: string, handler: (request: RestRequest) => RestReply, auth = true): void {
    const names: string[] = [];
    const source = template.replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.#routes.push({ method, template, pattern: new RegExp(`^${source}/?$`), names, auth, handler });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { state } = this;
    const method = (request.method ?? 'GET').toUpperCase();
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const prefix = '/api/v10';
    let reply: RestReply;
    let route = '(unknown)';
    let path = url.pathname;
    let body: unknown;
    const query = Object.fromEntries(url.searchParams);
    let files: UploadedFile[] = [];
    try {
      const raw = await readBody(request);
      const parsed = await parseBody(raw, request.headers['content-type']);
      body = parsed.body;
      files = parsed.files;
      if (!url.pathname.startsWith(`${prefix}/`)) throw new DiscordApiError(404, 0, '404: Not Found');
      path = url.pathname.slice(prefix.length).split('/').map(safeDecode).join('/');
      const match = this.#match(method, path);
      if (!match) {
        state.violation('unknown-route', `${method} ${path} is not simulated`, { method, route: path });
        throw new DiscordApiError(404, 0, '404: Not Found');
      }
      route = match.route.template;
      if (match.route.auth && request.headers.authorization !== `Bot ${state.botToken}`) {
        state.violation('invalid-auth', 'missing or wrong bot token', { method, route });
        throw new DiscordApiError(401, 0, '401: Unauthorized');
      }
      reply =
        this.faults.replyFor(method, route, path, match.route.auth) ??
        match.route.handler({ method, path, params: match.params, query, body, fileCount: parsed.files.length });
    } catch (error) {
      reply = errorReply(error, { method, route });
      if (reply.status === 500) state.violation('sim-error', String(error), { method, route });
      if (error instanceof DiscordApiError && error.status === 400) {
        // Discord would refuse this body too; keep a note so tests can assert a clean run.
        const detail = error.errors ? ` ${JSON.stringify(error.errors)}` : '';
        state.violation('invalid-request', `${error.code} ${error.message}${detail}`, { method, route });
      }
    }
    state.calls.push({
      method,
      route,
      path,
      query,
      body,
      ...(files.length ? { files } : {}),
      status: reply.status,
      at: Date.now(),
    });
    const headers: Record<string, string> = { ...reply.headers };
    if (reply.body !== undefined) headers['content-type'] = 'application/json';
    response.writeHead(reply.status, headers);
    response.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    state.changed();
  }

  #match(method: string, path: string): { route: RouteDefinition; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, index) => {
        params[name] = found[index + 1] ?? '';
      });
      return { route, params };
    }
    return undefined;
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBodyBytes) throw new DiscordApiError(413, 40005, 'Request entity too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

async function parseBody(
  raw: Buffer,
  contentType: string | undefined,
): Promise<{ body: unknown; files: UploadedFile[] }> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    // discord.js sends files as multipart with the JSON in payload_json.
    const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
    let body: unknown;
    const files: UploadedFile[] = [];
    for (const [name, value] of form.entries()) {
      if (name === 'payload_json' && typeof value === 'string') body = JSON.parse(value);
      else if (typeof value !== 'string') files.push({ field: name, name: value.name, content: await value.text() });
    }
    return { body, files };
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')), files: [] };
  } catch {
    throw new DiscordApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

function errorReply(error: unknown, call: { method: string; route: string }): RestReply {
  if (error instanceof DiscordApiError) {
    return {
      status: error.status,
      body: { message: error.message, code: error.code, ...(error.errors ? { errors: error.errors } : {}) },
    };
  }
  return {
    status: 500,
    body: { message: `discord-sim error in ${call.method} ${call.route}: ${String(error)}`, code: 0 },
  };
}
