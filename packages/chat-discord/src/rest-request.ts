import { DefaultRestOptions, type RESTOptions } from 'discord.js';

type MakeRequest = RESTOptions['makeRequest'];

/**
 * discord.js's request strategy with file uploads sent as bytes. discord.js builds uploads as a global
 * `FormData` and hands it to its own undici (6) `request()`, which dispatches through the process's global
 * dispatcher. undici 6 and 7 share that dispatcher (`Symbol.for('undici.globalDispatcher.1')`), and whichever
 * loads first installs it: when undici 7 came first (loaded by @kubernetes/client-node, @slack/socket-mode or
 * kube-sim in the same process), its HTTP client does not recognise the other realm's FormData and the upload
 * fails with "action is not a function". Encoding the form here, with the Response class of the FormData's own
 * realm, leaves every undici a plain byte body and the multipart content type.
 */
export function createDiscordRequest(base: MakeRequest = DefaultRestOptions.makeRequest): MakeRequest {
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
