import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { KubeApi, PatchType, RequestContext, WriteResult } from './api.js';
import { ApiError, badRequest, gone, notFound } from './api-error.js';
import { type Authenticator, impersonate } from './authn.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, serverVersion } from './discovery.js';
import type { ExecGateway } from './exec.js';
import {
  countRequest,
  errorCodeOf,
  type FaultOptions,
  latencyOf,
  type RequestStats,
  shouldConflict,
  shouldFail,
} from './faults.js';
import { openApiV3Document, openApiV3Index, unknownFields } from './openapi.js';
import { decodeProtobufObject } from './protobuf.js';
import type { Attributes, UserInfo } from './rbac.js';
import { findResource, groupVersionOf, type ResourceType } from './resources.js';
import { answerReview } from './reviews.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import { listKeyOf, type StoreEvent } from './store.js';
import { toTable } from './tables.js';
import type { KubeObject } from './types.js';

/** The API server's answer to a continue token whose resource version is no longer kept (410, reason Expired). */
const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without ' +
  'the continue parameter, or use the continue token in this response to retrieve the remainder of the results. ' +
  'Continuing with the provided token results in an inconsistent list - objects that were created, modified, or ' +
  'deleted between the time the first chunk was returned and now may show up in the list.';

/** A continue token as the API server makes one: base64url of `{"v":"meta.k8s.io/v1","rv":<version>,"start":<key>}`. */
function encodeContinue(resourceVersion: number, startKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: resourceVersion, start: startKey })).toString(
    'base64url',
  );
}

function decodeContinue(token: string): { resourceVersion: number; startKey: string } {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid continue token: continue key is not valid: not a base64url-encoded JSON object');
  }
  const { v, rv, start } = (typeof decoded === 'object' && decoded !== null ? decoded : {}) as Record<string, unknown>;
  if (v !== 'meta.k8s.io/v1')
    throw badRequest(
      `invalid continue token: continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)`,
    );
  if (typeof rv !== 'number' || !Number.isInteger(rv) || rv <= 0 || typeof start !== 'string' || start === '') {
    throw badRequest('invalid continue token: continue key is not valid: incorrect encoded start resourceVersion');
  }
  return { resourceVersion: rv, startKey: start };
}

export interface PodLogOptions {
  container?: string;
  follow: boolean;
  tailLines?: number;
  previous: boolean;
  timestamps: boolean;
}

/** Where pod logs come from (the Docker kubelet; the virtual one has none). */
export interface LogSource {
  streamLogs(pod: KubeObject, options: PodLogOptions, res: ServerResponse, closed: AbortSignal): Promise<void>;
}

export interface HttpServerOptions {
  api: KubeApi;
  /** Serves `pods/<name>/exec` over the remote-command WebSocket protocol. */
  exec: ExecGateway;
  authenticator: Authenticator;
  /** The serving certificate and key (PEM): kube-sim speaks HTTPS only, as clients send tokens over TLS only. */
  tls: { cert: string; key: string };
  faults: FaultOptions;
  stats: RequestStats;
  logs: LogSource;
  /** How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK (the current resourceVersion). */
  watchBookmarkMs: number;
}

interface ResourceRoute {
  resource: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const maxBody = 3 * 1024 * 1024;

// Store snapshots are never mutated, so one serialization serves every watcher of the same event.
const serializedCache = new WeakMap<KubeObject, Map<string, string>>();

function serializedEvent(type: string, object: KubeObject): string {
  let byType = serializedCache.get(object);
  if (!byType) {
    byType = new Map();
    serializedCache.set(object, byType);
  }
  let line = byType.get(type);
  if (!line) {
    line = `${JSON.stringify({ type, object })}\n`;
    byType.set(type, line);
  }
  return line;
}

function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  const text = JSON.stringify(body);
  if (warnings.length > 0)
    res.setHeader(
      'Warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

function sendError(res: ServerResponse, error: ApiError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  sendJson(res, error.code, error.toStatus());
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBody) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads a create/update body: JSON, or the protobuf that kubectl's typed clients send. */
async function readObjectBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]?.trim() ?? '';
  if (type === 'application/vnd.kubernetes.protobuf') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > maxBody) throw new ApiError(413, 'RequestEntityTooLarge', 'the request body is too large');
      chunks.push(chunk as Buffer);
    }
    return decodeProtobufObject(Buffer.concat(chunks));
  }
  if (type !== 'application/json' && type !== '' && type !== '*/*') {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'the body of the request was in an unknown format - accepted media types include: application/json, application/vnd.kubernetes.protobuf',
    );
  }
  return parseJsonBody(await readBody(req));
}

function parseJsonBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded as JSON: ${String(error)}`);
  }
}

function routeOf(segments: string[]): ResourceRoute | undefined {
  let group = '';
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments[1]) {
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments[1] && segments[2]) {
    group = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else return undefined;
  if (rest.length === 0) return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest[1]) {
    const resource = findResource(group, version, rest[2] ?? '');
    if (resource?.namespaced) return { resource, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const resource = findResource(group, version, rest[0] ?? '');
  if (!resource) return undefined;
  return { resource, name: rest[1], subresource: rest[2] };
}

function verbOf(method: string, route: ResourceRoute | undefined, watch: boolean): string {
  if (!route) return method === 'GET' ? 'get' : method.toLowerCase();
  if (method === 'GET') return route.name ? 'get' : watch ? 'watch' : 'list';
  if (method === 'POST') return 'create';
  if (method === 'PUT') return 'update';
  if (method === 'PATCH') return 'patch';
  if (method === 'DELETE') return route.name ? 'delete' : 'deletecollection';
  return method.toLowerCase();
}

function wantsTable(req: IncomingMessage): boolean {
  return /as=Table/.test(req.headers.accept ?? '');
}

function patchTypeOf(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]?.trim();
  switch (type) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/json-patch+json':
      return 'json';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
  }
}

/** The HTTP face of the simulator: discovery, OpenAPI, CRUD, PATCH, watch, logs, Status errors. */
export class HttpApiServer {
  readonly server: Server;
  private readonly watches = new Set<ServerResponse>();

  constructor(private readonly options: HttpServerOptions) {
    this.server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        const apiError =
          error instanceof ApiError
            ? error
            : new ApiError(
                500,
                'InternalError',
                `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`,
              );
        sendError(res, apiError);
      });
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.upgrade(req, socket, head);
      } catch (error) {
        const apiError = error instanceof ApiError ? error : new ApiError(500, 'InternalError', String(error));
        const body = JSON.stringify(apiError.toStatus());
        socket.end(
          `HTTP/1.1 ${apiError.code} ${apiError.reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      }
    });
  }

  /** `kubectl exec`: a WebSocket upgrade of `pods/<name>/exec`; anything else cannot be upgraded. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = routeOf(url.pathname.split('/').filter(Boolean).map(decodeURIComponent));
    countRequest(
      this.options.stats,
      'create',
      route ? `${route.resource.plural}/${route.subresource ?? ''}` : 'nonresource',
    );
    const user = this.userOf(req);
    if (route) this.authorize(user, url, route, 'create');
    if (route?.resource.plural !== 'pods' || route.subresource !== 'exec' || !route.name) {
      throw new ApiError(400, 'BadRequest', 'only pods/exec can be upgraded');
    }
    if (!/websocket/i.test(req.headers.upgrade ?? '')) {
      throw new ApiError(400, 'BadRequest', 'kube-sim serves exec over WebSocket only (v5.channel.k8s.io)');
    }
    const pod = this.options.api.store.mustGet(route.resource, route.namespace, route.name);
    const command = url.searchParams.getAll('command');
    if (command.length === 0) throw new ApiError(400, 'BadRequest', 'you must specify at least 1 command');
    const container = url.searchParams.get('container');
    this.options.exec.handle(req, socket, head, pod, {
      ...(container ? { container } : {}),
      command,
      stdin: url.searchParams.get('stdin') === 'true',
      tty: url.searchParams.get('tty') === 'true',
    });
  }

  /**
   * Ends every open watch. By default the server closes each stream cleanly (as on its watch timeout);
   * `abrupt` cuts the connection instead, as a network failure would.
   */
  dropWatches(abrupt = false): number {
    const count = this.watches.size;
    for (const res of this.watches) {
      if (abrupt) res.destroy();
      else res.end();
    }
    this.watches.clear();
    return count;
  }

  get openWatches(): number {
    return this.watches.size;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const route = routeOf(segments);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const verb = verbOf(method, route, watch);
    const resourceName = route
      ? `${route.resource.plural}${route.subresource ? `/${route.subresource}` : ''}`
      : 'nonresource';
    countRequest(this.options.stats, verb, resourceName);

    const faults = this.options.faults;
    const delay = latencyOf(faults);
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (route && shouldConflict(faults, verb)) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resourceName} "${route.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again (fault injected by kube-sim)`,
      );
    }
    if (route && shouldFail(faults, verb, resourceName)) {
      const code = errorCodeOf(faults);
      throw new ApiError(
        code,
        code === 429 ? 'TooManyRequests' : code === 503 ? 'ServiceUnavailable' : 'InternalError',
        `fault injected by kube-sim for ${verb} ${resourceName}`,
        code === 429 ? { retryAfterSeconds: 1 } : undefined,
      );
    }

    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (['/healthz', '/livez', '/readyz'].includes(path)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    // Authentication, impersonation, then authorization, in the API server's filter order.
    const user = this.userOf(req);
    if (!route) {
      this.options.api.rbac.check({ user, verb: method.toLowerCase(), resourceRequest: false, path });
      if (path === '/version') return sendJson(res, 200, serverVersion);
      return this.handleNonResource(path, segments, res);
    }
    this.authorize(user, url, route, verb);
    return this.handleResource(req, res, url, route, verb, user);
  }

  /** The caller (401 without a valid token), or whom it impersonates when allowed to. */
  private userOf(req: IncomingMessage): UserInfo {
    const caller = this.options.authenticator.authenticate(req);
    return impersonate(req, caller, this.options.api.rbac);
  }

  /** RBAC for a resource request; a list or watch narrowed to one name (fieldSelector) is authorized for that name. */
  private authorize(user: UserInfo, url: URL, route: ResourceRoute, verb: string): void {
    let name = route.name;
    if (!name && (verb === 'list' || verb === 'watch')) {
      const single = /(?:^|,)metadata\.name==?([^,]+)/.exec(url.searchParams.get('fieldSelector') ?? '');
      if (single?.[1]) name = single[1];
    }
    const attributes: Attributes = {
      user,
      verb,
      resourceRequest: true,
      apiGroup: route.resource.group,
      resource: route.resource.plural,
      ...(route.subresource ? { subresource: route.subresource } : {}),
      ...(route.namespace ? { namespace: route.namespace } : {}),
      ...(name ? { name } : {}),
    };
    this.options.api.rbac.check(attributes);
  }

  private handleNonResource(path: string, segments: string[], res: ServerResponse) {
    if (path === '/api') return sendJson(res, 200, apiVersions());
    if (path === '/apis') return sendJson(res, 200, apiGroupList());
    if (segments[0] === 'api' && segments.length === 2) {
      const list = apiResourceList('', segments[1] ?? '');
      if (list) return sendJson(res, 200, list);
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      const group = apiGroup(segments[1] ?? '');
      if (group) return sendJson(res, 200, group);
    }
    if (segments[0] === 'apis' && segments.length === 3) {
      const list = apiResourceList(segments[1] ?? '', segments[2] ?? '');
      if (list) return sendJson(res, 200, list);
    }
    if (path === '/openapi/v3') return sendJson(res, 200, openApiV3Index());
    if (segments[0] === 'openapi' && segments[1] === 'v3') {
      const document = openApiV3Document(segments.slice(2).join('/'));
      if (document) return sendJson(res, 200, document);
    }
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
  }

  private contextOf(req: IncomingMessage, url: URL): RequestContext {
    const userAgent = req.headers['user-agent'] ?? 'unknown';
    return {
      manager: url.searchParams.get('fieldManager') ?? userAgent.split('/')[0] ?? 'unknown',
      force: url.searchParams.get('force') === 'true',
      dryRun: url.searchParams.get('dryRun') === 'All',
    };
  }

  private strictFields(url: URL, resource: ResourceType, body: unknown): string[] {
    const mode = url.searchParams.get('fieldValidation') ?? 'Warn';
    if (mode === 'Ignore') return [];
    const unknown = unknownFields(resource, body);
    if (unknown.length === 0) return [];
    if (mode === 'Strict') {
      const detail = unknown.map((f) => `unknown field "${f}"`).join(', ');
      throw badRequest(
        `${resource.kind} in version "${resource.version}" cannot be handled as a ${resource.kind}: strict decoding error: ${detail}`,
      );
    }
    return unknown.map((f) => `unknown field "${f}"`);
  }

  private async handleResource(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    route: ResourceRoute,
    verb: string,
    user: UserInfo,
  ): Promise<void> {
    const { api } = this.options;
    const { resource, namespace, name, subresource } = route;
    if (subresource && !resource.subresources.includes(subresource)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    if (resource.review) {
      if (verb !== 'create' || name)
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
      const body = await readObjectBody(req);
      return sendJson(res, 201, answerReview(resource, body, user, api.rbac));
    }
    if (subresource === 'token' && verb === 'create') {
      const body = await readObjectBody(req);
      const spec =
        typeof body === 'object' && body !== null && 'spec' in body ? (body.spec as Record<string, unknown>) : {};
      const expiration = typeof spec?.expirationSeconds === 'number' ? spec.expirationSeconds : undefined;
      const audiences = Array.isArray(spec?.audiences) ? spec.audiences.map(String) : undefined;
      const issued = this.options.authenticator.issue(namespace ?? '', name ?? '', expiration, audiences);
      return sendJson(res, 201, {
        kind: 'TokenRequest',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { name, namespace, creationTimestamp: null },
        spec: {
          audiences: audiences?.length ? audiences : ['https://kubernetes.default.svc.cluster.local'],
          expirationSeconds: expiration ?? 3600,
          boundObjectRef: null,
        },
        status: issued,
      });
    }
    const context: RequestContext = {
      ...this.contextOf(req, url),
      user,
      authorizeCreate: () =>
        api.rbac.check({
          user,
          verb: 'create',
          resourceRequest: true,
          apiGroup: resource.group,
          resource: resource.plural,
          ...(namespace ? { namespace } : {}),
          ...(name ? { name } : {}),
        }),
    };
    const reply = (result: WriteResult, extraWarnings: string[] = []) =>
      sendJson(res, result.created ? 201 : 200, result.object, [...extraWarnings, ...result.warnings]);
    switch (verb) {
      case 'list':
        return this.list(req, res, url, route);
      case 'watch':
        return this.watch(req, res, url, route);
      case 'get': {
        if (!name) throw notFound(resource, '');
        if (subresource === 'log') return this.logs(req, res, url, resource, namespace, name);
        if (subresource === 'exec') throw new ApiError(400, 'BadRequest', 'Upgrade request required');
        if (subresource === 'scale') return sendJson(res, 200, api.getScale(resource, namespace, name));
        const object = api.store.mustGet(resource, namespace, name);
        if (wantsTable(req))
          return sendJson(
            res,
            200,
            toTable(resource, [object], object.metadata.resourceVersion ?? '', url.searchParams.get('includeObject')),
          );
        return sendJson(res, 200, object);
      }
      case 'create': {
        const body = await readObjectBody(req);
        const warnings = this.strictFields(url, resource, body);
        return reply(api.create(resource, namespace, body, context), warnings);
      }
      case 'update': {
        const body = await readObjectBody(req);
        const warnings = subresource ? [] : this.strictFields(url, resource, body);
        return reply(api.update(resource, namespace, name ?? '', body, context, subresource), warnings);
      }
      case 'patch': {
        const patchType = patchTypeOf(req.headers['content-type']);
        const text = await readBody(req);
        if (patchType === 'apply' && url.searchParams.get('fieldManager') === null) {
          throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
        }
        return reply(api.patch(resource, namespace, name ?? '', patchType, text, context, subresource));
      }
      case 'delete': {
        const text = await readBody(req);
        let propagation = url.searchParams.get('propagationPolicy') ?? 'Background';
        if (text.trim()) {
          const body = parseJsonBody(text);
          if (typeof body === 'object' && body !== null && 'propagationPolicy' in body)
            propagation = String(body.propagationPolicy);
        }
        return sendJson(res, 200, api.delete(resource, namespace, name ?? '', propagation));
      }
      case 'deletecollection': {
        const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
        const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
        const matching = api.store.list(resource, namespace).filter((o) => labels(o.metadata.labels) && fields(o));
        const deleted = matching.map((o) => api.delete(resource, o.metadata.namespace, o.metadata.name ?? ''));
        return sendJson(res, 200, {
          kind: `${resource.kind}List`,
          apiVersion: groupVersionOf(resource),
          metadata: { resourceVersion: api.store.resourceVersion },
          items: deleted,
        });
      }
      default:
        throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    }
  }

  private list(req: IncomingMessage, res: ServerResponse, url: URL, route: ResourceRoute) {
    const { store } = this.options.api;
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    const limit = Number(url.searchParams.get('limit') ?? 0);
    const token = url.searchParams.get('continue');
    // Paged as the API server pages: every page is read at the first page's resource version (the continue token
    // carries it and the key to start from), so an object deleted or made between pages neither drops out of nor
    // enters the list; a version no longer kept is 410 Expired.
    let listed: { resourceVersion: number; objects: KubeObject[] };
    let start = '';
    if (token) {
      const next = decodeContinue(token);
      const objects = store.listViewAt(route.resource, route.namespace, next.resourceVersion);
      if (!objects) throw gone(EXPIRED_CONTINUE);
      listed = { resourceVersion: next.resourceVersion, objects };
      start = next.startKey;
    } else listed = store.listInKeyOrder(route.resource, route.namespace);
    const resourceVersion = String(listed.resourceVersion);
    let items = listed.objects.filter(
      (o) => (start === '' || listKeyOf(o) >= start) && labels(o.metadata.labels) && fields(o),
    );
    let continueToken: string | undefined;
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      const last = items[items.length - 1];
      continueToken = encodeContinue(listed.resourceVersion, `${last ? listKeyOf(last) : ''}\u0000`);
      if (!token) store.keepListView(route.resource, route.namespace, listed.resourceVersion, listed.objects);
    }
    if (wantsTable(req)) {
      const table = toTable(route.resource, items, resourceVersion, url.searchParams.get('includeObject'));
      return sendJson(res, 200, {
        ...table,
        metadata: { ...table.metadata, ...(continueToken ? { continue: continueToken } : {}) },
      });
    }
    return sendJson(res, 200, {
      kind: `${route.resource.kind}List`,
      apiVersion: groupVersionOf(route.resource),
      metadata: { resourceVersion, ...(continueToken ? { continue: continueToken } : {}) },
      items,
    });
  }

  private watch(req: IncomingMessage, res: ServerResponse, url: URL, route: ResourceRoute): void {
    const { store } = this.options.api;
    const labels = parseLabelSelector(url.searchParams.get('labelSelector'));
    const fields = parseFieldSelector(url.searchParams.get('fieldSelector'));
    const table = wantsTable(req);
    const includeObject = url.searchParams.get('includeObject');
    const requested = url.searchParams.get('resourceVersion');
    const selected = (object: KubeObject) => labels(object.metadata.labels) && fields(object);
    // As the API server's watch cache (cacheWatcher.convertToWatchEvent): a change that makes an object match the
    // selectors comes as ADDED, one that makes it stop matching as DELETED (its last matching content, at the
    // event's resourceVersion), so a watch by `status.phase!=Succeeded` sees a pod that finished leave.
    const asSeen = (event: StoreEvent): { type: string; object: KubeObject } | undefined => {
      if (event.resource !== route.resource) return undefined;
      if (route.namespace && event.object.metadata.namespace !== route.namespace) return undefined;
      const matchesNow = event.type !== 'DELETED' && selected(event.object);
      const matchedBefore =
        event.type === 'DELETED' ? selected(event.object) : event.previous !== undefined && selected(event.previous);
      if (matchesNow) return { type: matchedBefore ? 'MODIFIED' : 'ADDED', object: event.object };
      if (!matchedBefore) return undefined;
      if (event.type === 'DELETED' || !event.previous) return { type: 'DELETED', object: event.object };
      const resourceVersion = String(event.resourceVersion);
      return {
        type: 'DELETED',
        object: { ...event.previous, metadata: { ...event.previous.metadata, resourceVersion } },
      };
    };
    // Replay first: this throws 410 Gone (with a Status) before any header is sent when the version is too old.
    const replay: { type: string; object: KubeObject }[] = [];
    if (!requested || requested === '0') {
      for (const object of store.listRaw(route.resource, route.namespace)) {
        if (selected(object)) replay.push({ type: 'ADDED', object });
      }
    } else {
      const since = Number(requested);
      if (!Number.isFinite(since)) throw badRequest(`invalid resource version: ${requested}`);
      for (const event of store.eventsSince(since)) {
        const seen = asSeen(event);
        if (seen) replay.push(seen);
      }
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache, private',
    });
    res.flushHeaders();
    const write = (type: string, object: KubeObject) => {
      // The watch may have been ended (timeout, dropped) while its 'close' is still pending: write nothing then.
      if (res.writableEnded || res.destroyed) return;
      if (!table) {
        res.write(serializedEvent(type, object));
        return;
      }
      const payload = toTable(
        route.resource,
        [object],
        object.metadata.resourceVersion ?? '',
        includeObject ?? 'Object',
      );
      res.write(`${JSON.stringify({ type, object: payload })}\n`);
    };
    for (const event of replay) write(event.type, event.object);
    const unsubscribe = store.subscribe((event) => {
      const seen = asSeen(event);
      if (seen) write(seen.type, seen.object);
    });
    this.watches.add(res);
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? 1800);
    const timers: NodeJS.Timeout[] = [setTimeout(() => res.end(), Math.max(1, timeoutSeconds) * 1000)];
    // Bookmarks, as the API server sends them to a watch that asked (client-go's reflectors do): an object of the
    // watched kind with only the current resourceVersion, so a quiet watch resumes from a version still kept.
    if (!table && url.searchParams.get('allowWatchBookmarks') === 'true') {
      const bookmark = setInterval(() => {
        write('BOOKMARK', {
          apiVersion: groupVersionOf(route.resource),
          kind: route.resource.kind,
          metadata: { resourceVersion: store.resourceVersion },
        });
      }, this.options.watchBookmarkMs);
      timers.push(bookmark);
    }
    const dropAfter = this.options.faults.dropWatchesAfterMs;
    if (dropAfter !== undefined)
      timers.push(setTimeout(() => (this.options.faults.dropWatchesAbruptly ? res.destroy() : res.end()), dropAfter));
    res.on('close', () => {
      unsubscribe();
      this.watches.delete(res);
      for (const timer of timers) clearTimeout(timer);
    });
  }

  private async logs(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    resource: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<void> {
    const pod = this.options.api.store.mustGet(resource, namespace, name);
    const tail = url.searchParams.get('tailLines');
    const controller = new AbortController();
    res.on('close', () => controller.abort());
    req.on('close', () => controller.abort());
    const container = url.searchParams.get('container') ?? undefined;
    await this.options.logs.streamLogs(
      pod,
      {
        ...(container ? { container } : {}),
        follow: url.searchParams.get('follow') === 'true',
        ...(tail ? { tailLines: Number(tail) } : {}),
        previous: url.searchParams.get('previous') === 'true',
        timestamps: url.searchParams.get('timestamps') === 'true',
      },
      res,
      controller.signal,
    );
  }
}
