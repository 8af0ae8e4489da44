// The floors of bench/ack-latency.ts, as plain JavaScript so they run on bare `node` as the bots do (their built
// entries, no tsx): `node bench/ack-latency-floors.mjs slack` or `node --experimental-websocket
// bench/ack-latency-floors.mjs discord`. Only Node's built-ins.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';

/** The Slack floor: verifies the v0 signature and the timestamp, as Bolt does, and answers 200 at once. */
function floorSlack() {
  const secret = process.env.SLACK_SIGNING_SECRET ?? '';
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const timestamp = Number(request.headers['x-slack-request-timestamp']);
      const expected = Buffer.from(
        `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`,
      );
      const given = Buffer.from(String(request.headers['x-slack-signature'] ?? ''));
      const fresh = Math.abs(Date.now() / 1000 - timestamp) < 300;
      if (!fresh || given.length !== expected.length || !timingSafeEqual(given, expected)) {
        response.writeHead(401).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"response_type":"ephemeral","text":"ok"}');
    });
  });
  // The same keep-alive as the bot's receiver (packages/chat-slack), so neither closes a connection the driver reuses.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
  });
}

/** The Discord floor: a bare gateway client (HELLO, IDENTIFY, heartbeats) that answers each interaction's callback. */
async function floorDiscord() {
  // Node 20's WebSocket client (run with --experimental-websocket).
  const api = process.env.DISCORD_API ?? '';
  const token = process.env.DISCORD_TOKEN ?? '';
  const gateway = await (await fetch(`${api}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } })).json();
  const socket = new WebSocket(`${gateway.url}?v=10&encoding=json`);
  let sequence = null;
  const callbacks = new Agent({ keepAlive: true, maxSockets: 16 });
  socket.addEventListener('message', (message) => {
    const packet = JSON.parse(String(message.data));
    if (packet.s) sequence = packet.s;
    if (packet.op === 10) {
      const interval = Number(packet.d.heartbeat_interval);
      setInterval(() => socket.send(JSON.stringify({ op: 1, d: sequence })), interval).unref();
      socket.send(
        JSON.stringify({ op: 2, d: { token, intents: 1, properties: { os: 'linux', browser: 'b', device: 'b' } } }),
      );
    }
    if (packet.t === 'READY') process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    if (packet.t === 'INTERACTION_CREATE') {
      const { id, token: interactionToken } = packet.d;
      // node:http on kept-alive connections (not fetch, which cost more CPU per callback than the whole bot did).
      const body = JSON.stringify({ type: 4, data: { content: 'ok', flags: 64 } });
      request(`${api}/v10/interactions/${id}/${interactionToken}/callback`, {
        method: 'POST',
        agent: callbacks,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      })
        .on('response', (response) => response.resume())
        .on('error', (error) => process.stderr.write(`floor callback failed: ${error}\n`))
        .end(body);
    }
  });
}

const which = process.argv[2];
if (which === 'slack') floorSlack();
else if (which === 'discord') await floorDiscord();
else throw new Error('usage: ack-latency-floors.mjs slack|discord');
