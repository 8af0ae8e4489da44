import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { LabbotError } from '@labbot/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createResponseUrlPoster, type ResponseUrlPoster } from './response-url.js';

interface Hook {
  url: string;
  /** The JSON bodies received, in order. */
  received: unknown[];
  /** Connections the hook accepted. */
  connections: () => number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A response_url host on loopback; `answer` decides each request's fate (its body already read). */
async function startHook(
  answer: (request: IncomingMessage, response: ServerResponse, requestOnSocket: number) => void = (_, response) =>
    response.writeHead(200).end('ok'),
): Promise<Hook> {
  const received: unknown[] = [];
  let connections = 0;
  const requestsOn = new WeakMap<Socket, number>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const count = (requestsOn.get(request.socket) ?? 0) + 1;
      requestsOn.set(request.socket, count);
      answer(request, response, count);
      // A request on a connection the server closed never reached the app behind it.
      if (!request.socket.destroyed) received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/response/T1/abc`, received, connections: () => connections };
}

function poster(options: Parameters<typeof createResponseUrlPoster>[0] = {}): ResponseUrlPoster {
  const created = createResponseUrlPoster(options);
  cleanups.push(() => created.close());
  return created;
}

describe('response_url poster', () => {
  it('delivers a burst of answers over a few kept-alive connections, not one connection each', async () => {
    const hook = await startHook();
    const answers = poster({ maxSockets: 4 });
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        answers.post(hook.url, { text: `answer ${index}`, replace_original: false }),
      ),
    );
    expect(hook.received).toHaveLength(40);
    expect(hook.received).toContainEqual({ text: 'answer 39', replace_original: false });
    expect(hook.connections()).toBeLessThanOrEqual(4);
    // A later answer reuses a kept connection.
    await answers.post(hook.url, { text: 'later' });
    expect(hook.connections()).toBeLessThanOrEqual(4);
  });

  it('rejects with a stable code when Slack refuses the answer (an expired response_url)', async () => {
    const hook = await startHook((_, response) => response.writeHead(404).end('expired_url'));
    const error = await poster()
      .post(hook.url, { text: 'too late' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LabbotError);
    expect(error).toMatchObject({ code: 'SLACK_RESPONSE_URL_FAILED', retryable: false, context: { status: 404 } });
  });

  it('delivers an answer whose kept-alive connection the server closed as it was reused, once', async () => {
    // The second request on a connection finds it closed by the server (as an idle timeout would close it).
    const hook = await startHook((request, response, requestOnSocket) => {
      if (requestOnSocket === 2) request.socket.destroy();
      else response.writeHead(200).end('ok');
    });
    const answers = poster({ maxSockets: 1 });
    await answers.post(hook.url, { text: 'first' });
    await answers.post(hook.url, { text: 'second' });
    // 'second' was dropped with the closed connection and sent again on a new one, which answered it.
    expect(hook.received).toEqual([{ text: 'first' }, { text: 'second' }]);
    expect(hook.connections()).toBe(2);
  });

  it('refuses a response_url that is not a URL, without sending anything', async () => {
    await expect(poster().post('not a url', { text: 'x' })).rejects.toMatchObject({
      code: 'SLACK_RESPONSE_URL_FAILED',
      retryable: false,
    });
  });
});
