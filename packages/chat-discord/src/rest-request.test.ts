import { describe, expect, it } from 'vitest';
import { createDiscordRequest } from './rest-request.js';

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
