// The chat processes read the store on a Redis client of their own (auto-pipelined), apart from BullMQ's: it answers
// what the shared one did, and it is closed with the bot.
import { STORE_READS_CONNECTION_NAME } from '@labbot/commands';
import { createLogger, loadConfig } from '@labbot/config';
import { type DiscordBot, startDiscordBot } from '@labbot/discord';
import { type DiscordSim, startDiscordSim } from '@labbot/discord-sim';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discordEnv, discordText } from './discord-bot.js';
import { REDIS_BASE } from './harness.js';

const redisUrl = `${REDIS_BASE}/10`;

/** The Redis clients connected now (CLIENT LIST): each named one's name and last command. */
async function namedClients(redis: Redis): Promise<{ name: string; lastCommand: string }[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => ({
      name: /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '',
      lastCommand: /(?:^| )cmd=(\S*)/.exec(line)?.[1] ?? '',
    }))
    .filter((client) => client.name !== '');
}

async function clientNames(redis: Redis): Promise<string[]> {
  return (await namedClients(redis)).map((client) => client.name);
}

describe('the Discord bot reads the store on a client of its own', () => {
  let sim: DiscordSim;
  let bot: DiscordBot | undefined;
  const redis = new Redis(redisUrl);

  beforeAll(async () => {
    await redis.flushdb();
    sim = await startDiscordSim({ botToken: 'store-reads-token' });
    const config = loadConfig({ REDIS_URL: redisUrl, ...discordEnv(sim) }, { require: ['discord'] });
    bot = await startDiscordBot(config, {
      logger: createLogger({ name: 'chat-store-reads', level: process.env.LABBOT_TEST_LOG ?? 'silent' }),
    });
  }, 60_000);

  afterAll(async () => {
    await bot?.close();
    await sim?.stop();
    await redis.flushdb();
    redis.disconnect();
  });

  it('answers a burst of /lab status from learners with no lab, and a missing lesson, as before', async () => {
    const guildId = sim.guilds[0]?.id ?? '';
    const channelId = sim.guilds[0]?.channelIds[0] ?? '';
    const handles = Array.from({ length: 30 }, (_, index) =>
      sim.sendSlashCommand({ guildId, channelId, userId: String(4000 + index), name: 'lab', subcommand: 'status' }),
    );
    const missing = sim.sendSlashCommand({
      guildId,
      channelId,
      userId: '4100',
      name: 'lab',
      subcommand: 'status',
      options: { lesson: 'docker-vs-kubernetes' },
    });
    await Promise.all([...handles, missing].map((handle) => handle.acknowledged()));
    for (const handle of handles) {
      expect(handle.original()?.ephemeral).toBe(true);
      expect(discordText(handle.original())).toContain('You have no lab yet. Start one with /lab start');
    }
    expect(missing.original()?.ephemeral).toBe(true);
    expect(discordText(missing.original())).toContain('You have no lab of "docker-vs-kubernetes"');
    // The lookups went through it (its last command is one of the store's reads), not through BullMQ's client.
    const reads = (await namedClients(redis)).find((client) => client.name === STORE_READS_CONNECTION_NAME);
    expect(['smembers', 'get', 'mget']).toContain(reads?.lastCommand);
  });

  it('closes that client when the bot stops', async () => {
    await bot?.close();
    bot = undefined;
    // ioredis' disconnect closes the socket at once; Redis drops the client when it sees the close.
    for (let attempt = 0; attempt < 50; attempt++) {
      if (!(await clientNames(redis)).includes(STORE_READS_CONNECTION_NAME)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await clientNames(redis)).not.toContain(STORE_READS_CONNECTION_NAME);
  });
});
