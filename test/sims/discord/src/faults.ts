import type { SimState } from './state.js';
import type { FailureRule, RateLimitRule } from './types.js';

/** What a route handler answers: status, JSON body and headers. */
export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Faults injected into REST calls: 429 rate limits (kept per path until retry_after ends) and JSON errors. */
export class Faults {
  readonly #rateLimits: (RateLimitRule & { left: number })[] = [];
  readonly #failures: (FailureRule & { left: number })[] = [];
  readonly #limitedUntil = new Map<string, number>();
  /** Until when a global 429 holds every bot-token request (interaction callbacks are exempt, as on Discord). */
  #globalUntil = 0;

  constructor(private readonly state: SimState) {}

  rateLimit(rule: RateLimitRule): void {
    this.#rateLimits.push({ ...rule, left: rule.count });
  }

  failRequests(rule: FailureRule): void {
    this.#failures.push({ ...rule, left: rule.count ?? 1 });
  }

  /** The injected reply for this call, if a fault applies to it (a 429 first, then a failure). */
  replyFor(method: string, route: string, path: string, botToken = true): RestReply | undefined {
    return this.#rateLimitReply(method, route, path, botToken) ?? this.#failureReply(method, route, path);
  }

  #rateLimitReply(method: string, route: string, path: string, botToken: boolean): RestReply | undefined {
    const key = `${method} ${path}`;
    const now = Date.now();
    if (botToken && now < this.#globalUntil) {
      this.state.violation(
        'rate-limit-ignored',
        `${key} sent ${this.#globalUntil - now} ms before a global retry_after ended`,
        {
          method,
          route,
        },
      );
      return rateLimitResponse(this.#globalUntil - now, true, route);
    }
    const until = this.#limitedUntil.get(key);
    if (until !== undefined && now < until) {
      this.state.violation('rate-limit-ignored', `${key} retried ${until - now} ms before retry_after ended`, {
        method,
        route,
      });
      return rateLimitResponse(until - now, false, route);
    }
    const rule = this.#rateLimits.find(
      (candidate) =>
        candidate.left > 0 &&
        (candidate.method === undefined || candidate.method.toUpperCase() === method) &&
        (candidate.route === undefined || candidate.route === route || candidate.route === path),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    if (rule.global) this.#globalUntil = now + rule.retryAfterMs;
    else this.#limitedUntil.set(key, now + rule.retryAfterMs);
    return rateLimitResponse(rule.retryAfterMs, rule.global ?? false, route);
  }

  #failureReply(method: string, route: string, path: string): RestReply | undefined {
    const rule = this.#failures.find(
      (candidate) =>
        candidate.left > 0 &&
        (candidate.method === undefined || candidate.method.toUpperCase() === method) &&
        (candidate.route === route || candidate.route === path),
    );
    if (!rule) return undefined;
    rule.left -= 1;
    return {
      status: rule.status ?? 403,
      body: { message: rule.message ?? 'Missing Permissions', code: rule.code ?? 50013 },
    };
  }
}

/** A 429 with Discord's headers and JSON body. */
function rateLimitResponse(retryAfterMs: number, global: boolean, route: string): RestReply {
  const seconds = retryAfterMs / 1000;
  const headers: Record<string, string> = {
    'retry-after': String(Math.ceil(seconds)),
    'x-ratelimit-limit': '5',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': ((Date.now() + retryAfterMs) / 1000).toFixed(3),
    'x-ratelimit-reset-after': seconds.toFixed(3),
    'x-ratelimit-bucket': Buffer.from(route).toString('hex').slice(0, 32),
    'x-ratelimit-scope': global ? 'global' : 'user',
  };
  if (global) headers['x-ratelimit-global'] = 'true';
  return {
    status: 429,
    headers,
    body: { message: 'You are being rate limited.', retry_after: seconds, global, ...(global ? { code: 0 } : {}) },
  };
}
