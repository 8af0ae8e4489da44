import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDiscordRequest, createNodeHttpRequest } from './rest-request.js';

type Init = Parameters<ReturnType<typeof createDiscordRequest>>[1];

function recorder() {
  const seen: { url: string; init: Init }[] = [];
  const base = async (url: string, init: Init) => {
    seen.push({ url, init });
    return new Response('{}', { headers: { 'content-type': 'application/json' } });
  };
  return { seen, base: base as unknown as Parameters<typeof createDiscordRequest>[0] };
}

describe('discord.js requests with file uploads', () => {
  it('sends an upload as multipart bytes with its boundary, so any undici on the dispatcher can send it', async () => {
    const { seen, base } = recorder();
    const form = new FormData();
    form.append('files[0]', new Blob(['learner,lab\nann,lab-1\n'], { type: 'text/csv' }), 'class-0123456789.csv');
    form.append('payload_json', JSON.stringify({ content: 'Results' }));
    await createDiscordRequest(base)('http://127.0.0.1:1/api/v10/x', {
      method: 'PATCH',
      headers: { Authorization: 'Bot t' },
      body: form,
    } as Init);
    const init = seen[0]?.init as { body: unknown; headers: Record<string, string> };
    expect(init.body).toBeInstanceOf(Uint8Array);
    const contentType = init.headers['content-type'] ?? '';
    expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
    expect(init.headers.authorization).toBe('Bot t');
    // The bytes parse back into the same form: the file and the JSON part.
    const parsed = await new Response(init.body as Uint8Array, { headers: { 'content-type': contentType } }).formData();
    const file = parsed.get('files[0]') as File;
    expect(file.name).toBe('class-0123456789.csv');
    expect(await file.text()).toBe('learner,lab\nann,lab-1\n');
    expect(parsed.get('payload_json')).toBe('{"content":"Results"}');
  });

  it('leaves every other request as discord.js made it', async () => {
    const { seen, base } = recorder();
    const init = { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"a":1}' } as Init;
    await createDiscordRequest(base)('http://127.0.0.1:1/api/v10/y', init);
    expect(seen[0]?.init).toBe(init);
  });
});

describe("discord.js requests over Node's HTTP client", () => {
  it('gives @discordjs/rest the status, headers and body, and keeps one connection for requests one after another', async () => {
    const connections: number[] = [];
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const sent = Buffer.concat(chunks).toString('utf8');
        const missing = request.url?.endsWith('/missing');
        response
          .writeHead(missing ? 404 : 200, {
            'content-type': 'application/json',
            'x-ratelimit-remaining': '4',
          })
          .end(
            JSON.stringify(
              missing ? { code: 10062, message: 'Unknown interaction' } : { method: request.method, sent },
            ),
          );
      });
    });
    server.on('connection', () => connections.push(connections.length));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v10`;
    try {
      const makeRequest = createNodeHttpRequest();
      const ok = await makeRequest(`${base}/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      } as Init);
      expect(ok).toMatchObject({ status: 200, ok: true, statusText: 'OK' });
      expect(ok.headers.get('X-RateLimit-Remaining')).toBe('4');
      expect(await ok.json()).toEqual({ method: 'POST', sent: '{"a":1}' });
      const refused = await makeRequest(`${base}/missing`, { method: 'POST', body: '{}' } as Init);
      expect(refused).toMatchObject({ status: 404, ok: false, statusText: 'Not Found' });
      expect(await refused.json()).toEqual({ code: 10062, message: 'Unknown interaction' });
      expect(connections).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
