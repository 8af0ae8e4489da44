// Acknowledgement latency with the load driver in its own process (issue 13).
//   node --conditions labbot-source --import tsx bench/ack-latency.ts [commands=200] [rounds=3] [slack|discord|both]
// This process is the driver and the platforms (slack-sim, discord-sim); the bots run as separate processes, started
// from their real entry points (apps/slack/src/main.ts, apps/discord/src/main.ts) on Redis database 28. Each round
// sends `commands` slash commands (`/lab status` from as many users) (a) spread evenly over one second and (b) all
// at once, and the same to the floor: a bare Node HTTP server that only checks the Slack signature and answers
// (Slack), or a bare gateway client that only answers the interaction callback (Discord), in a process of its own.
// Slack: from sending the signed HTTP request to its answer. Discord: from INTERACTION_CREATE on the gateway to
// the interaction callback reaching discord-sim.
// BENCH_CPU_PROF=<dir> runs the bots under `node --cpu-prof` (profiles written to <dir> when they exit).
// Needs Redis (scripts/services.sh; REDIS_URL). A child started with `floor-slack` / `floor-discord` is a floor.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- floors (child processes)

/** The Slack floor: verifies the v0 signature and the timestamp, as Bolt does, and answers 200 at once. */
async function floorSlack(): Promise<void> {
  const secret = process.env.SLACK_SIGNING_SECRET ?? '';
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
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
    process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
  });
}

/** The Discord floor: a bare gateway client (HELLO, IDENTIFY, heartbeats) that answers each interaction's callback. */
async function floorDiscord(): Promise<void> {
  // Node 20's WebSocket client (the child runs with --experimental-websocket).
  const api = process.env.DISCORD_API ?? '';
  const token = process.env.DISCORD_TOKEN ?? '';
  const gateway = (await (
    await fetch(`${api}/v10/gateway/bot`, { headers: { authorization: `Bot ${token}` } })
  ).json()) as {
    url: string;
  };
  const socket = new WebSocket(`${gateway.url}?v=10&encoding=json`);
  let sequence: number | null = null;
  socket.addEventListener('message', (message: { data: unknown }) => {
    const packet = JSON.parse(String(message.data)) as {
      op: number;
      t?: string;
      s?: number;
      d: Record<string, unknown>;
    };
    if (packet.s) sequence = packet.s;
    if (packet.op === 10) {
      const interval = Number(packet.d['heartbeat_interval']);
      setInterval(() => socket.send(JSON.stringify({ op: 1, d: sequence })), interval).unref();
      socket.send(
        JSON.stringify({ op: 2, d: { token, intents: 1, properties: { os: 'linux', browser: 'b', device: 'b' } } }),
      );
    }
    if (packet.t === 'READY') process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
    if (packet.t === 'INTERACTION_CREATE') {
      const { id, token: interactionToken } = packet.d as { id: string; token: string };
      void fetch(`${api}/v10/interactions/${id}/${interactionToken}/callback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 4, data: { content: 'ok', flags: 64 } }),
      });
    }
  });
}

/** slack-sim in a process of its own, so the bot's answers to response_url do not load the timing driver. */
async function simSlack(responseUrls: number): Promise<void> {
  const { startSlackSim } = await import('@labbot/slack-sim');
  const sim = await startSlackSim();
  const urls = Array.from({ length: responseUrls }, (_, index) =>
    sim.createResponseUrl({ channel: 'C0LABS0001', user: `U0B${String(index).padStart(7, '0')}` }),
  );
  const { apiUrl, botToken, signingSecret, teamId } = sim;
  process.stdout.write(`${JSON.stringify({ apiUrl, botToken, signingSecret, teamId, urls })}\n`);
}

// ---------------------------------------------------------------- the driver

interface Summary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? 0) };
}

const round = (value: number) => Math.round(value * 10) / 10;
const progress = (text: string) => process.stderr.write(`[ack-latency] ${text} (load ${loadavg()[0]?.toFixed(1)})\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `count` commands either evenly over one second or all at once; returns each one's latency. */
async function load(count: number, spread: boolean, send: (index: number) => Promise<number>): Promise<number[]> {
  const started = performance.now();
  const pending: Promise<number>[] = [];
  for (let index = 0; index < count; index++) {
    if (spread) {
      const due = started + (index * 1000) / count;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    pending.push(send(index));
  }
  return Promise.all(pending);
}

/** Starts a child process (tsx, labbot sources) and resolves with its first JSON line on stdout. */
function startChild(
  args: string[],
  env: Record<string, string>,
  waitLine: boolean,
): { child: ChildProcess; line: Promise<Record<string, unknown>> } {
  const profileDir = process.env.BENCH_CPU_PROF;
  const child = spawn(
    process.execPath,
    [
      ...(profileDir && !args[0]?.endsWith('ack-latency.ts') ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ...(args[1] === 'floor-discord' ? ['--experimental-websocket'] : []),
      '--conditions',
      'labbot-source',
      '--import',
      'tsx',
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const line = new Promise<Record<string, unknown>>((resolve, reject) => {
    if (!waitLine) return resolve({});
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        try {
          resolve(JSON.parse(buffered.slice(0, newline)) as Record<string, unknown>);
        } catch {
          buffered = buffered.slice(newline + 1);
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
  child.stdout?.resume();
  return { child, line };
}

/** Every child started, so a failed run still ends them. */
const children = new Set<ChildProcess>();

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
  await exited;
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function drive(count: number, rounds: number, platforms: string): Promise<void> {
  const { createSlackDriver } = await import('@labbot/slack-sim');
  const { startDiscordSim } = await import('@labbot/discord-sim');
  const { Redis } = await import('ioredis');
  const self = fileURLToPath(import.meta.url);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const redisUrl = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '')}/28`;
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  await redis.flushdb();
  const common = { REDIS_URL: redisUrl, LOG_LEVEL: 'warn' };
  const results: Record<string, unknown>[] = [];
  /** Each round goes to stderr as it ends too, so a run cut short still leaves its figures. */
  const pushResult = (result: Record<string, unknown>) => {
    results.push(result);
    progress(JSON.stringify(result));
  };

  // ---- Slack
  if (platforms !== 'discord') {
    const responseUrlsNeeded = 100 + rounds * count * 2;
    const simChild = startChild([self, 'sim-slack', String(responseUrlsNeeded)], {}, true);
    const slack = (await simChild.line) as {
      apiUrl: string;
      botToken: string;
      signingSecret: string;
      teamId: string;
      urls: string[];
    };
    const botPort = await freePort();
    const bot = startChild(
      [`${root}apps/slack/src/main.ts`],
      {
        ...common,
        LABBOT_SLACK_BOT_TOKEN: slack.botToken,
        LABBOT_SLACK_SIGNING_SECRET: slack.signingSecret,
        LABBOT_SLACK_API_URL: slack.apiUrl,
        LABBOT_SLACK_PORT: String(botPort),
        LABBOT_SLACK_HOST: '127.0.0.1',
      },
      false,
    );
    const floor = startChild([self, 'floor-slack'], { SLACK_SIGNING_SECRET: slack.signingSecret }, true);
    const floorPort = Number((await floor.line)['port']);
    const driverFor = (port: number) =>
      createSlackDriver({
        targetUrl: `http://127.0.0.1:${port}/slack/events`,
        signingSecret: slack.signingSecret,
        teamId: slack.teamId,
      });
    const toBot = driverFor(botPort);
    const toFloor = driverFor(floorPort);
    let nextUrl = 0;
    const channelId = 'C0LABS0001';
    await waitUntil(
      'the Slack bot',
      async () =>
        (
          await toBot.slashCommand({
            text: 'help',
            userId: 'U0WARM0000',
            channelId,
            responseUrl: slack.urls[nextUrl++],
          })
        ).status === 200,
    );
    const slackSend = (target: typeof toBot, round: number) => async (index: number) => {
      const userId = `U0B${round}${String(index).padStart(6, '0')}`;
      const answer = await target
        .slashCommand({
          // The bot answers `/lab status` through response_url (hosted by slack-sim in its own process).
          ...(target === toBot ? { responseUrl: slack.urls[nextUrl++ % slack.urls.length] } : {}),
          text: 'status',
          userId,
          channelId,
        })
        .catch((error: unknown) => {
          // Which command went unanswered, to which server, and how (a timeout, or the connection closed under it).
          progress(
            `no answer to ${userId} from the ${target === toBot ? 'bot' : 'floor'}: ${String(error)} ${String((error as Error).cause ?? '')}`,
          );
          throw error;
        });
      if (answer.status !== 200) throw new Error(`Slack answered ${answer.status}`);
      return answer.ackMs;
    };
    progress('Slack bot ready');
    // Warm-up: JIT, connections, Redis.
    await load(50, false, slackSend(toBot, 9));
    await load(50, false, slackSend(toFloor, 9));
    for (let round = 0; round < rounds; round++) {
      const spreadBot = summary(await load(count, true, slackSend(toBot, round)));
      await sleep(500);
      const spreadFloor = summary(await load(count, true, slackSend(toFloor, round)));
      await sleep(500);
      const burstFloor = summary(await load(count, false, slackSend(toFloor, round)));
      await sleep(500);
      const burstBot = summary(await load(count, false, slackSend(toBot, round)));
      await sleep(500);
      progress(`Slack round ${round} done`);
      pushResult({
        platform: 'slack',
        round,
        spreadBot,
        spreadFloor,
        burstBot,
        burstFloor,
        ratio: round2(burstBot.p99Ms / burstFloor.p99Ms),
      });
    }
    await stopChild(bot.child);
    await stopChild(floor.child);
    await stopChild(simChild.child);
  }

  // ---- Discord
  if (platforms !== 'slack') {
    const discord = await startDiscordSim({ botToken: 'bench-ack-token' });
    const guildId = discord.guilds[0]?.id ?? '';
    const discordChannel = discord.guilds[0]?.channelIds[0] ?? '';
    const discordBot = startChild(
      [`${root}apps/discord/src/main.ts`],
      {
        ...common,
        LABBOT_DISCORD_TOKEN: discord.botToken,
        LABBOT_DISCORD_APPLICATION_ID: discord.applicationId,
        LABBOT_DISCORD_GUILD_ID: guildId,
        LABBOT_DISCORD_API_URL: discord.apiUrl,
      },
      false,
    );
    progress('starting the Discord bot');
    await waitUntil('the Discord bot', async () => discord.commands(guildId).length > 0);
    const discordSend = (round: number) => async (index: number) => {
      const handle = discord.sendSlashCommand({
        guildId,
        channelId: discordChannel,
        userId: String(340000000000000000n + BigInt(round * 100_000 + index)),
        name: 'lab',
        subcommand: 'status',
      });
      return (await handle.acknowledged(30_000)).latencyMs;
    };
    await load(50, false, discordSend(9));
    const discordRounds: Record<string, Summary>[] = [];
    for (let round = 0; round < rounds; round++) {
      const spreadBot = summary(await load(count, true, discordSend(round)));
      await sleep(500);
      const burstBot = summary(await load(count, false, discordSend(round + 10)));
      await sleep(500);
      discordRounds.push({ spreadBot, burstBot });
    }
    await stopChild(discordBot.child);
    // The floor takes the bot's place on the gateway (one client at a time, as the sim dispatches to every client).
    const discordFloor = startChild(
      [self, 'floor-discord'],
      { DISCORD_API: discord.apiUrl, DISCORD_TOKEN: discord.botToken },
      true,
    );
    await discordFloor.line;
    progress('Discord floor ready');
    await load(50, false, discordSend(19));
    for (let round = 0; round < rounds; round++) {
      const spreadFloor = summary(await load(count, true, discordSend(round + 20)));
      await sleep(500);
      const burstFloor = summary(await load(count, false, discordSend(round + 30)));
      await sleep(500);
      const bot = discordRounds[round] ?? {};
      pushResult({
        platform: 'discord',
        round,
        ...bot,
        spreadFloor,
        burstFloor,
        ratio: round2((bot['burstBot']?.p99Ms ?? 0) / burstFloor.p99Ms),
      });
    }
    await stopChild(discordFloor.child);
    await discord.stop();
  }
  await redis.flushdb();
  redis.disconnect();
  console.log(JSON.stringify({ commands: count, loadAverage: loadavg().map(round2), results }, null, 2));
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

const mode = process.argv[2] ?? '';
if (mode === 'floor-slack') await floorSlack();
else if (mode === 'sim-slack') await simSlack(Number(process.argv[3] ?? 1000));
else if (mode === 'floor-discord') await floorDiscord();
else {
  try {
    await drive(Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 3), process.argv[4] ?? 'both');
  } finally {
    await Promise.all([...children].map(stopChild));
  }
}
