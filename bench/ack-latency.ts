// Acknowledgement latency with the load driver in its own process (issue 13).
//   node --conditions labbot-source --import tsx bench/ack-latency.ts [commands=200] [rounds=3] [slack|discord|both]
// This process is the driver and discord-sim; slack-sim runs in a child of its own. The bots run as separate processes,
// started as production starts them: `node apps/slack/dist/main.js`, `node apps/discord/dist/main.js` (the built
// entries, no tsx; the bench runs turbo's build of the two apps first), on Redis database 28. Each round
// sends `commands` slash commands (`/lab status` from as many users) (a) spread evenly over one second and (b) all
// at once, and the same to the floor: a bare Node HTTP server that only checks the Slack signature and answers
// (Slack), or a bare gateway client that only answers the interaction callback (Discord), in a process of its own.
// Slack: from sending the signed HTTP request to its answer. Discord: from INTERACTION_CREATE on the gateway to
// the interaction callback reaching discord-sim.
// BENCH_CPU_PROF=<dir> runs the bots and the library floor under `node --cpu-prof` (profiles written to <dir> when
// they exit).
// Each platform also has a library floor: bench/ack-latency-discordjs.mjs (discord.js as labbot configures it,
// answering at once) and bench/ack-latency-slack-adapter.mjs (labbot's Slack adapter on Bolt, acking and dropping each
// command); `ratioVsLibrary` is the bot against it (labbot's own share), `libraryRatio` it against the bare floor.
// Needs Redis (scripts/services.sh; REDIS_URL). The floors are bench/ack-latency-floors.mjs, on bare node too.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------- slack-sim (child process)

/** slack-sim in a process of its own, so the bot's answers to response_url do not load the timing driver. */
async function simSlack(responseUrls: number): Promise<void> {
  const { startSlackSim } = await import('@labbot/slack-sim');
  // Connections kept as Slack keeps them (see discord-sim's below).
  const sim = await startSlackSim({ keepAliveTimeoutMs: 65_000 });
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

interface Phase extends Summary {
  /**
   * CPU time (user + system, all threads) the measured process (bot or floor) spent per command, over the phase and
   * the 500 ms after it (so a bot's command work after its ack counts too). Unlike latency, it hardly moves with the
   * load of the machine: the figure to compare before and after a change on a shared machine.
   */
  cpuMsPerCommand: number | undefined;
  /** The same for this process: the driver and the platform simulator it hosts (discord-sim). */
  driverCpuMsPerCommand: number;
  /** Discord: commands acknowledged after Discord's 3 s (refused with 10062: the user saw "did not respond"). */
  lateAcks?: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times. */
const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU ms (user + system) a process has used so far, from /proc (undefined where there is no /proc). */
function cpuMsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/** One phase: `count` commands sent by `load`, then 500 ms for the target's remaining work; latency and CPU. */
async function phase(
  target: ChildProcess,
  count: number,
  spread: boolean,
  send: (index: number) => Promise<number>,
): Promise<Phase> {
  const cpuBefore = cpuMsOf(target.pid);
  const driverBefore = process.cpuUsage();
  const latencies = await load(count, spread, send);
  await sleep(500);
  const cpuAfter = cpuMsOf(target.pid);
  const driver = process.cpuUsage(driverBefore);
  return {
    ...summary(latencies),
    cpuMsPerCommand:
      cpuBefore === undefined || cpuAfter === undefined ? undefined : round2((cpuAfter - cpuBefore) / count),
    driverCpuMsPerCommand: round2((driver.user + driver.system) / 1000 / count),
  };
}

function summary(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
  return { p50Ms: round(at(50)), p99Ms: round(at(99)), maxMs: round(sorted.at(-1) ?? 0) };
}

const round = (value: number) => Math.round(value * 10) / 10;
const progress = (text: string) => process.stderr.write(`[ack-latency] ${text} (load ${loadavg()[0]?.toFixed(1)})\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One spread and one burst, not measured. */
async function warmUp(count: number, send: (index: number) => Promise<number>): Promise<void> {
  await load(count, true, send);
  await load(count, false, (index) => send(count + index));
  await sleep(500);
}

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

/**
 * Starts a child process and resolves with its first JSON line on stdout. `how`: 'source' runs a TypeScript file of
 * this repository under tsx (slack-sim); 'built' runs plain JavaScript on bare node, as production runs the bots
 * (`node apps/<bot>/dist/main.js`); 'bot' is 'built' under `--cpu-prof` when BENCH_CPU_PROF is set.
 */
function startChild(
  how: 'source' | 'built' | 'bot',
  args: string[],
  env: Record<string, string>,
  waitLine: boolean,
): { child: ChildProcess; line: Promise<Record<string, unknown>> } {
  const profileDir = process.env.BENCH_CPU_PROF;
  const nodeArgs =
    how === 'source'
      ? ['--conditions', 'labbot-source', '--import', 'tsx']
      : how === 'bot' && profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]
        : [];
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
  // BENCH_CHILD_LOG_DIR=<dir> keeps each child's stdout (the bots' pino logs, see BENCH_BOT_LOG_LEVEL) in a file there.
  const logDir = process.env.BENCH_CHILD_LOG_DIR;
  if (logDir && child.stdout) child.stdout.pipe(createWriteStream(`${logDir}/${how}-${child.pid}.log`));
  else child.stdout?.resume();
  return { child, line };
}

/**
 * Builds the bots' entries and the labbot packages they run (turbo: a no-op when its cache is current), so the bench
 * always measures the code as it is. An mtime check refused builds that turbo had restored from its cache after a rebase.
 */
function buildBots(root: string): void {
  execFileSync(
    'npx',
    ['turbo', 'run', 'build', '--filter=@labbot/slack', '--filter=@labbot/discord', '--output-logs=errors-only'],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
}

/** The built entry of a bot. */
function builtEntry(root: string, app: 'slack' | 'discord'): string {
  const entry = `${root}apps/${app}/dist/main.js`;
  if (!existsSync(entry)) throw new Error(`${entry} is missing after the build`);
  return entry;
}

/** Every child started, so a failed run still ends them. */
const children = new Set<ChildProcess>();

async function stopChild(child: ChildProcess): Promise<void> {
  // Ended already, by itself or by a signal (a SIGTERMed child has a signalCode and no exitCode).
  if (child.exitCode !== null || child.signalCode !== null) return;
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
  const floors = fileURLToPath(new URL('./ack-latency-floors.mjs', import.meta.url));
  progress('building the bots (turbo)');
  buildBots(root);
  const redisUrl = `${(process.env.REDIS_URL ?? 'redis://127.0.0.1:6390').replace(/\/\d+$/, '')}/28`;
  const redis = new Redis(redisUrl);
  redis.on('error', () => {});
  await redis.flushdb();
  const common = { REDIS_URL: redisUrl, LOG_LEVEL: process.env.BENCH_BOT_LOG_LEVEL ?? 'warn' };
  const results: Record<string, unknown>[] = [];
  /** Each round goes to stderr as it ends too, so a run cut short still leaves its figures. */
  const pushResult = (result: Record<string, unknown>) => {
    results.push(result);
    progress(JSON.stringify(result));
  };

  // ---- Slack
  if (platforms !== 'discord') {
    const responseUrlsNeeded = 100 + (rounds + 1) * count * 4; // the bot's and the library floor's commands
    const simChild = startChild('source', [self, 'sim-slack', String(responseUrlsNeeded)], {}, true);
    const slack = (await simChild.line) as {
      apiUrl: string;
      botToken: string;
      signingSecret: string;
      teamId: string;
      urls: string[];
    };
    const botPort = await freePort();
    const bot = startChild(
      'bot',
      [builtEntry(root, 'slack')],
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
    const floor = startChild('built', [floors, 'slack'], { SLACK_SIGNING_SECRET: slack.signingSecret }, true);
    const floorPort = Number((await floor.line)['port']);
    // The library floor: labbot's Slack adapter on Bolt, acking and dropping every command.
    const library = startChild(
      'bot', // profiled with the bots (BENCH_CPU_PROF)
      [fileURLToPath(new URL('./ack-latency-slack-adapter.mjs', import.meta.url))],
      { SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: slack.signingSecret, SLACK_API_URL: slack.apiUrl },
      true,
    );
    const libraryPort = Number((await library.line)['port']);
    const driverFor = (port: number) =>
      createSlackDriver({
        targetUrl: `http://127.0.0.1:${port}/slack/events`,
        signingSecret: slack.signingSecret,
        teamId: slack.teamId,
      });
    const toBot = driverFor(botPort);
    const toFloor = driverFor(floorPort);
    const toLibrary = driverFor(libraryPort);
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
          // The bot answers `/lab status` through response_url (hosted by slack-sim in its own process); the library
          // floor gets one as well (the same payload) and leaves it unused.
          ...(target !== toFloor ? { responseUrl: slack.urls[nextUrl++ % slack.urls.length] } : {}),
          text: 'status',
          userId,
          channelId,
        })
        .catch((error: unknown) => {
          // Which command went unanswered, to which server, and how (a timeout, or the connection closed under it).
          progress(
            `no answer to ${userId} from the ${target === toBot ? 'bot' : target === toLibrary ? 'library floor' : 'floor'}: ${String(error)} ${String((error as Error).cause ?? '')}`,
          );
          throw error;
        });
      if (answer.status !== 200) throw new Error(`Slack answered ${answer.status}`);
      return answer.ackMs;
    };
    progress('Slack bot ready');
    // Warm-up, as a bot that has been running: both modes once (JIT, connection pools, Redis). With 50 commands at once
    // only, the first measured spread was 3-5x the later ones.
    await warmUp(count, slackSend(toBot, 9));
    await warmUp(count, slackSend(toFloor, 8));
    await warmUp(count, slackSend(toLibrary, 7));
    for (let round = 0; round < rounds; round++) {
      const spreadBot = await phase(bot.child, count, true, slackSend(toBot, round));
      const spreadFloor = await phase(floor.child, count, true, slackSend(toFloor, round));
      const spreadLibrary = await phase(library.child, count, true, slackSend(toLibrary, round));
      const burstFloor = await phase(floor.child, count, false, slackSend(toFloor, round));
      const burstLibrary = await phase(library.child, count, false, slackSend(toLibrary, round));
      const burstBot = await phase(bot.child, count, false, slackSend(toBot, round));
      progress(`Slack round ${round} done`);
      pushResult({
        platform: 'slack',
        round,
        spreadBot,
        spreadFloor,
        spreadLibrary,
        burstBot,
        burstFloor,
        burstLibrary,
        ...burstRatios(burstBot, burstFloor, burstLibrary),
      });
    }
    await stopChild(bot.child);
    await stopChild(floor.child);
    await stopChild(library.child);
    await stopChild(simChild.child);
  }

  // ---- Discord
  if (platforms !== 'slack') {
    // Connections kept as Discord's API keeps them: with the sim's default 1 s hint, undici opened and destroyed a TCP
    // connection per interaction callback (a third of the bot's CPU in the burst, profiled).
    const discord = await startDiscordSim({ botToken: 'bench-ack-token', keepAliveTimeoutMs: 65_000 });
    const guildId = discord.guilds[0]?.id ?? '';
    const discordChannel = discord.guilds[0]?.channelIds[0] ?? '';
    const discordBot = startChild(
      'bot',
      [builtEntry(root, 'discord')],
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
    let lateAcks = 0;
    /** A phase with the count of its commands acknowledged too late for Discord, when there were any. */
    const discordPhase = async (target: ChildProcess, spread: boolean, send: (index: number) => Promise<number>) => {
      lateAcks = 0;
      const measured = await phase(target, count, spread, send);
      return lateAcks > 0 ? { ...measured, lateAcks } : measured;
    };
    const discordSend = (round: number) => async (index: number) => {
      const handle = discord.sendSlashCommand({
        guildId,
        channelId: discordChannel,
        userId: String(340000000000000000n + BigInt(round * 100_000 + index)),
        name: 'lab',
        subcommand: 'status',
      });
      try {
        return (await handle.acknowledged(10_000)).latencyMs;
      } catch (error) {
        // Acknowledged after Discord's 3 s: discord-sim refused the callback (10062), as Discord does. It counts
        // with the time it came, and the phase says how many there were; an interaction never answered stops the run.
        const late = discord.violations.find(
          (violation) => violation.kind === 'late-ack' && violation.message.includes(handle.id),
        );
        if (!late) throw error;
        lateAcks += 1;
        return late.at - handle.record.sentAt;
      }
    };
    /** Warms a Discord client up, measures each round's spread and burst, and stops it (one client at a time). */
    const measureClient = async (client: ChildProcess, firstRound: number) => {
      await warmUp(count, discordSend(firstRound + 9));
      const measured: { spread: Phase; burst: Phase }[] = [];
      for (let round = 0; round < rounds; round++) {
        const spread = await discordPhase(client, true, discordSend(firstRound + round));
        const burst = await discordPhase(client, false, discordSend(firstRound + round + 10));
        measured.push({ spread, burst });
      }
      await stopChild(client);
      return measured;
    };
    const botRounds = await measureClient(discordBot.child, 0);
    // The floor takes the bot's place on the gateway (one client at a time, as the sim dispatches to every client).
    const discordFloor = startChild(
      'built',
      ['--experimental-websocket', floors, 'discord'],
      { DISCORD_API: discord.apiUrl, DISCORD_TOKEN: discord.botToken },
      true,
    );
    await discordFloor.line;
    progress('Discord floor ready');
    const floorRounds = await measureClient(discordFloor.child, 20);
    // The library floor: discord.js as labbot runs it, answering at once (what the bot costs without labbot's work).
    const library = startChild(
      'bot', // profiled with the bots (BENCH_CPU_PROF)
      [fileURLToPath(new URL('./ack-latency-discordjs.mjs', import.meta.url))],
      { DISCORD_API: discord.apiUrl, DISCORD_TOKEN: discord.botToken },
      true,
    );
    await library.line;
    progress('Discord library floor (discord.js) ready');
    const libraryRounds = await measureClient(library.child, 40);
    for (let round = 0; round < rounds; round++) {
      const bot = botRounds[round];
      const floor = floorRounds[round];
      const alone = libraryRounds[round];
      if (!bot || !floor || !alone) continue;
      pushResult({
        platform: 'discord',
        round,
        spreadBot: bot.spread,
        burstBot: bot.burst,
        spreadFloor: floor.spread,
        burstFloor: floor.burst,
        spreadLibrary: alone.spread,
        burstLibrary: alone.burst,
        ...burstRatios(bot.burst, floor.burst, alone.burst),
      });
    }
    await discord.stop();
  }
  await redis.flushdb();
  redis.disconnect();
  console.log(JSON.stringify({ commands: count, loadAverage: loadavg().map(round2), results }, null, 2));
}

/**
 * A round's burst ratios: the bot against the bare floor (the target's), the bot against the library floor (labbot's
 * own share) and the library floor against the bare one (the library's).
 */
function burstRatios(bot: Phase, floor: Phase, library: Phase) {
  return {
    ratio: round2(bot.p99Ms / floor.p99Ms),
    ratioVsLibrary: round2(bot.p99Ms / library.p99Ms),
    libraryRatio: round2(library.p99Ms / floor.p99Ms),
  };
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

const mode = process.argv[2] ?? '';
if (mode === 'sim-slack') await simSlack(Number(process.argv[3] ?? 1000));
else {
  try {
    await drive(Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 3), process.argv[4] ?? 'both');
  } finally {
    await Promise.all([...children].map(stopChild));
  }
}
