import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, STATUS_CODES } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { RESTOptions, ResponseLike } from 'discord.js';

type MakeRequest = RESTOptions['makeRequest'];
type RequestInit = Parameters<MakeRequest>[1];

export interface NodeHttpRequestOptions {
  /** Connections kept open per host (default 16): a burst of interaction answers queues on them instead of opening one each. */
  maxSockets?: number;
}

/**
 * discord.js's requests over Node's own HTTP client with kept-alive connections, in place of @discordjs/rest's
 * undici `request()`. Every interaction answer is one of these, and in a burst of slash commands undici's request
 * and response handling (its WebAssembly parser, a Headers object, a body stream per response) cost the bot more CPU
 * than Node's client does (profiled in BENCHMARKS.md's acknowledgement section). The body is read whole before the
 * promise settles: Discord's answers are small JSON, and @discordjs/rest reads every one anyway.
 */
export function createNodeHttpRequest(options: NodeHttpRequestOptions = {}): MakeRequest {
  const maxSockets = options.maxSockets ?? 16;
  const agents = {
    http: new HttpAgent({ keepAlive: true, maxSockets }),
    https: new HttpsAgent({ keepAlive: true, maxSockets }),
  };
  return (url, init) =>
    new Promise<ResponseLike>((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const body = bodyOf(init.body);
      const sent = (secure ? httpsRequest : httpRequest)(target, {
        method: init.method ?? 'GET',
        headers: init.headers as Record<string, string> | undefined,
        agent: secure ? agents.https : agents.http,
        ...(init.signal ? { signal: init.signal } : {}),
      });
      sent.once('error', reject);
      sent.once('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => resolve(bufferedResponse(response, Buffer.concat(chunks))));
      });
      sent.end(body);
    });
}

/** What @discordjs/rest hands its strategy: a JSON string, bytes (an encoded upload, see createDiscordRequest) or none. */
function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === null || body === undefined) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError(`a Discord request body of an unexpected kind: ${Object.prototype.toString.call(body)}`);
}

function bufferedResponse(response: IncomingMessage, bytes: Buffer): ResponseLike {
  const status = response.statusCode ?? 0;
  let used = false;
  const consume = () => {
    if (used) throw new TypeError('the response body was read already');
    used = true;
    return bytes;
  };
  return {
    get body() {
      return Readable.from([bytes]);
    },
    get bodyUsed() {
      return used;
    },
    arrayBuffer: async () => {
      const read = consume();
      return read.buffer.slice(read.byteOffset, read.byteOffset + read.byteLength) as ArrayBuffer;
    },
    json: async () => JSON.parse(consume().toString('utf8')) as unknown,
    text: async () => consume().toString('utf8'),
    headers: headersOf(response),
    status,
    statusText: STATUS_CODES[status] ?? '',
    ok: status >= 200 && status < 300,
  } as ResponseLike;
}

/** The response's headers as fetch's Headers, built from Node's parsed (lower-cased) header list. */
function headersOf(response: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) headers.append(raw[index] ?? '', raw[index + 1] ?? '');
  return headers;
}

/**
 * discord.js's request strategy with file uploads sent as bytes. discord.js builds uploads as a global
 * `FormData` and hands it to its own undici (6) `request()`, which dispatches through the process's global
 * dispatcher. undici 6 and 7 share that dispatcher (`Symbol.for('undici.globalDispatcher.1')`), and whichever
 * loads first installs it: when undici 7 came first (loaded by @kubernetes/client-node, @slack/socket-mode or
 * kube-sim in the same process), its HTTP client does not recognise the other realm's FormData and the upload
 * fails with "action is not a function". Encoding the form here, with the Response class of the FormData's own
 * realm, leaves every HTTP client a plain byte body and the multipart content type.
 */
export function createDiscordRequest(base: MakeRequest = createNodeHttpRequest()): MakeRequest {
  return async (url, init) => {
    if (!(init.body instanceof FormData)) return base(url, init);
    const encoded = new Response(init.body);
    const contentType = encoded.headers.get('content-type') ?? 'multipart/form-data';
    const headers = new Headers(init.headers as ConstructorParameters<typeof Headers>[0]);
    headers.set('content-type', contentType);
    return base(url, {
      ...init,
      headers: Object.fromEntries(headers.entries()),
      body: new Uint8Array(await encoded.arrayBuffer()),
    });
  };
}
