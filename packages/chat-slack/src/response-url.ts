import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { LabbotError } from '@labbot/core';

export interface ResponseUrlPosterOptions {
  /** Give up on one answer after this many ms (default 10 000). */
  timeoutMs?: number;
  /**
   * Connections kept open per response_url host (default 16). In a burst of commands the answers queue on these
   * instead of opening one connection each, which took the CPU the next commands' acknowledgements needed.
   */
  maxSockets?: number;
  /** Close a connection idle for this long (default 4 000 ms: before a server's usual 5 s, so it is not reused as it closes). */
  idleTimeoutMs?: number;
}

/** Posts answers to interactions' response_url (Slack's hooks), over kept-alive connections. */
export interface ResponseUrlPoster {
  /** POSTs the message as JSON; rejects (SLACK_RESPONSE_URL_FAILED) unless Slack answers 2xx. */
  post(url: string, message: object): Promise<void>;
  /** Closes the kept-alive connections. */
  close(): void;
}

/** Errors of a request written on a kept-alive connection the server had closed meanwhile: it never reached it. */
const STALE_CONNECTION_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

/**
 * A response_url poster on node:http(s) with keep-alive agents. Bolt's `respond` uses `fetch`, which opened a new
 * connection per answer in a burst and allocated several times more per call (profiled: issue 13).
 */
export function createResponseUrlPoster(options: ResponseUrlPosterOptions = {}): ResponseUrlPoster {
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? 16,
    timeout: options.idleTimeoutMs ?? 4_000,
  };
  const agents = { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) };
  const timeoutMs = options.timeoutMs ?? 10_000;

  function attempt(url: URL, body: string): Promise<{ status: number; retryable: boolean }> {
    const https = url.protocol === 'https:';
    const send = https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const request = send(url, {
        method: 'POST',
        agent: https ? agents.https : agents.http,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      request.on('response', (response: IncomingMessage) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, retryable: false }));
        response.on('error', reject);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        // Node's documented case for a retry: the kept-alive connection was closed by the server as it was reused.
        if (request.reusedSocket && STALE_CONNECTION_ERRORS.has(error.code ?? '')) {
          resolve({ status: 0, retryable: true });
          return;
        }
        reject(error);
      });
      request.end(body);
    });
  }

  return {
    async post(url, message) {
      let target: URL;
      try {
        target = new URL(url);
      } catch (error) {
        throw new LabbotError('SLACK_RESPONSE_URL_FAILED', 'the response_url is not a URL', {
          cause: error,
          retryable: false,
        });
      }
      const body = JSON.stringify(message);
      try {
        let answer = await attempt(target, body);
        if (answer.retryable) answer = await attempt(target, body);
        if (answer.status < 200 || answer.status >= 300) {
          throw new LabbotError('SLACK_RESPONSE_URL_FAILED', `response_url answered ${answer.status}`, {
            retryable: answer.status >= 500 || answer.status === 429,
            context: { status: answer.status, host: target.host },
          });
        }
      } catch (error) {
        if (error instanceof LabbotError) throw error;
        throw new LabbotError('SLACK_RESPONSE_URL_FAILED', `response_url not reached: ${String(error)}`, {
          cause: error,
          retryable: true,
          context: { host: target.host },
        });
      }
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
