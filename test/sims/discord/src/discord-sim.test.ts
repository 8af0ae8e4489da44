import {
  ActionRowBuilder,
  type AutocompleteInteraction,
  ButtonBuilder,
  type ButtonInteraction,
  ButtonStyle,
  type ChatInputCommandInteraction,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  type Interaction,
  MessageFlags,
  PermissionFlagsBits,
  RateLimitError,
  SlashCommandBuilder,
  type TextChannel,
} from 'discord.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DiscordSim, discordMessageText, startDiscordSim } from './index.js';

const learner = '111111111111111111';
const otherLearner = '222222222222222222';

let sim: DiscordSim;
let client: Client;
let guildId: string;
let channelId: string;
// Each test installs the bot behaviour it needs; errors surface through `handlerErrors`.
let onInteraction: (interaction: Interaction) => Promise<void> = async () => undefined;
const handlerErrors: unknown[] = [];

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  ]);
}

function nextInteraction<T extends Interaction>(guard: (interaction: Interaction) => interaction is T): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => {
      const listener = (interaction: Interaction) => {
        if (!guard(interaction)) return;
        client.off(Events.InteractionCreate, listener);
        resolve(interaction);
      };
      client.on(Events.InteractionCreate, listener);
    }),
    3_000,
    'interaction delivery',
  );
}

/** A lab thread of its own for a test: a channel message, its thread, and a status message with a Stop button. */
async function labThread(): Promise<{ threadId: string; statusId: string }> {
  const channel = client.channels.cache.get(channelId) as TextChannel;
  const root = await channel.send('Starting docker-vs-kubernetes');
  const thread = await root.startThread({ name: 'lab docker-vs-kubernetes' });
  const status = await thread.send({
    content: 'namespace ready',
    components: [
      new ActionRowBuilder<ButtonBuilder>().addComponents(
        new ButtonBuilder().setCustomId('lab:stop:1').setLabel('Stop').setStyle(ButtonStyle.Danger),
      ),
    ],
  });
  return { threadId: thread.id, statusId: status.id };
}

beforeAll(async () => {
  sim = await startDiscordSim({
    botToken: 'sim-bot-token',
    guilds: [{ name: 'labbot-test', channels: [{ name: 'labs' }, { name: 'general' }] }],
  });
  guildId = sim.guilds[0]!.id;
  channelId = sim.guilds[0]!.channelIds[0]!;
  client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: sim.apiUrl, version: '10' } });
  client.on(Events.InteractionCreate, (interaction) => {
    onInteraction(interaction).catch((error: unknown) => handlerErrors.push(error));
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await withTimeout(client.login(sim.botToken), 5_000, 'login');
  await withTimeout(ready, 5_000, 'clientReady');
});

afterAll(async () => {
  await client?.destroy();
  await sim?.stop();
});

describe('discord-sim with the real discord.js client', () => {
  it('logs in: gateway/bot, IDENTIFY, READY with application, GUILD_CREATE with channels', () => {
    expect(client.user?.id).toBe(sim.applicationId);
    expect(client.application?.id).toBe(sim.applicationId);
    const guild = client.guilds.cache.get(guildId);
    expect(guild?.available).toBe(true);
    expect(guild?.channels.cache.get(channelId)?.name).toBe('labs');
    expect(sim.calls[0]).toMatchObject({ method: 'GET', route: '/gateway/bot', status: 200 });
    expect(sim.gatewayConnections()).toEqual([expect.objectContaining({ ready: true, open: true, intents: 1 })]);
  });

  it('refuses a wrong bot token like Discord (401 → TokenInvalid)', async () => {
    const intruder = new Client({ intents: [], rest: { api: sim.apiUrl, version: '10' } });
    await expect(withTimeout(intruder.login('wrong-token'), 5_000, 'bad login')).rejects.toThrow(/invalid/i);
    await intruder.destroy();
    expect(sim.calls.at(-1)).toMatchObject({ route: '/gateway/bot', status: 401 });
    expect(sim.violations).toEqual([expect.objectContaining({ kind: 'invalid-auth', route: '/gateway/bot' })]);
    sim.violations.splice(0);
  });

  it('registers /lab per guild (bulk overwrite) and rejects an invalid command like Discord', async () => {
    const lab = new SlashCommandBuilder()
      .setName('lab')
      .setDescription('Run a lab')
      .addSubcommand((sub) =>
        sub
          .setName('start')
          .setDescription('Start a lab')
          .addStringOption((option) =>
            option.setName('lesson').setDescription('Lesson id').setRequired(true).setAutocomplete(true),
          ),
      )
      .addSubcommand((sub) => sub.setName('status').setDescription('Show the status'));
    const registered = await client.application!.commands.set([lab.toJSON()], guildId);
    expect([...registered.values()].map((command) => command.name)).toEqual(['lab']);
    expect(sim.commands(guildId)).toEqual([expect.objectContaining({ name: 'lab', guild_id: guildId })]);
    expect(sim.commands()).toEqual([]);

    const before = sim.violations.length;
    const bad = { name: 'Lab Start', description: 'uppercase and a space' };
    const error = await client.application!.commands.set([bad], guildId).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect(sim.violations.slice(before)).toEqual([expect.objectContaining({ kind: 'invalid-request' })]);
    sim.violations.splice(before);
  });

  it('delivers /lab start as a ChatInputCommandInteraction; defer, edit, thread, message, edit reach the sim', async () => {
    let threadId = '';
    onInteraction = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply();
      const reply = await interaction.editReply({
        content: `Starting ${interaction.options.getString('lesson', true)}`,
      });
      const thread = await reply.startThread({ name: 'lab docker-vs-kubernetes' });
      threadId = thread.id;
      const status = await thread.send({
        embeds: [new EmbedBuilder().setTitle('Lab status').setDescription('namespace ready')],
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId('lab:stop:1').setLabel('Stop').setStyle(ButtonStyle.Danger),
          ),
        ],
      });
      await status.edit({ embeds: [new EmbedBuilder().setTitle('Lab status').setDescription('3/3 Running')] });
    };
    const delivered = nextInteraction((i): i is ChatInputCommandInteraction => i.isChatInputCommand());
    const callsBefore = sim.calls.length;
    const handle = sim.sendSlashCommand({
      guildId,
      channelId,
      userId: learner,
      username: 'ada',
      name: 'lab',
      subcommand: 'start',
      options: { lesson: 'docker-vs-kubernetes' },
    });
    const interaction = await delivered;
    expect(interaction.commandName).toBe('lab');
    expect(interaction.options.getSubcommand()).toBe('start');
    expect(interaction.user.id).toBe(learner);
    expect(interaction.channel?.id).toBe(channelId);

    const callback = await handle.acknowledged(3_000);
    expect(callback.type).toBe(5);
    expect(callback.latencyMs).toBeLessThan(3_000);
    const original = await handle.waitForOriginal((message) => message.data['content'] !== '', 3_000);
    expect(original.data['content']).toBe('Starting docker-vs-kubernetes');
    expect(original.edits.map((edit) => edit.via)).toEqual(['webhook']);

    const statusMessage = await sim.waitFor(() => {
      const [first] = sim.channelMessages(threadId);
      return first && first.edits.length === 1 ? first : undefined;
    }, 3_000);
    expect(sim.threads(channelId).map((thread) => thread.id)).toEqual([original.id]);
    expect(sim.channels.get(threadId)?.data['name']).toBe('lab docker-vs-kubernetes');
    expect(statusMessage.via).toBe('bot');
    expect(discordMessageText(statusMessage)).toBe('Lab status\n3/3 Running');
    expect(statusMessage.data['embeds']).toEqual([
      expect.objectContaining({ title: 'Lab status', description: '3/3 Running' }),
    ]);
    const routes = sim.calls.slice(callsBefore).map((c) => `${c.method} ${c.route}`);
    expect(routes).toEqual([
      'POST /interactions/:interactionId/:token/callback',
      'PATCH /webhooks/:applicationId/:token/messages/:messageId',
      'POST /channels/:channelId/messages/:messageId/threads',
      'POST /channels/:channelId/messages',
      'PATCH /channels/:channelId/messages/:messageId',
    ]);
    expect(handlerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('delivers a button press on the status message as a ButtonInteraction with its message', async () => {
    const { statusId } = await labThread();
    const statusMessage = sim.messages.get(statusId);
    expect(statusMessage).toBeDefined();
    onInteraction = async (interaction) => {
      if (!interaction.isButton()) return;
      if (interaction.user.id !== learner) {
        await interaction.reply({ content: 'Only the lab owner can do that.', flags: MessageFlags.Ephemeral });
        return;
      }
      await interaction.update({ content: 'Stopping…', components: [] });
    };
    const refusedDelivery = nextInteraction((i): i is ButtonInteraction => i.isButton());
    const refused = sim.clickButton({ messageId: statusMessage!.id, customId: 'lab:stop:1', userId: otherLearner });
    const received = await refusedDelivery;
    expect(received.customId).toBe('lab:stop:1');
    expect(received.message.id).toBe(statusMessage!.id);
    expect(received.channelId).toBe(statusMessage!.channelId);
    const refusal = await refused.acknowledged();
    expect(refusal.type).toBe(4);
    expect(refused.original()).toMatchObject({ ephemeral: true, data: { content: 'Only the lab owner can do that.' } });
    expect(sim.ephemeralsFor(otherLearner).map(discordMessageText)).toEqual(['Only the lab owner can do that.']);
    expect(sim.ephemeralsFor(learner).map(discordMessageText)).not.toContain('Only the lab owner can do that.');
    expect(sim.channelMessages(statusMessage!.channelId).map((m) => m.id)).toEqual([statusMessage!.id]);

    const owner = sim.clickButton({ messageId: statusMessage!.id, customId: 'lab:stop:1', userId: learner });
    expect((await owner.acknowledged()).type).toBe(7);
    expect(statusMessage!.data).toMatchObject({ content: 'Stopping…', components: [] });
    expect(() => sim.clickButton({ messageId: statusMessage!.id, customId: 'lab:stop:1', userId: learner })).toThrow(
      /no button/,
    );
    expect(handlerErrors).toEqual([]);
  });

  it('answers autocomplete with the focused option and records the choices', async () => {
    onInteraction = async (interaction) => {
      if (!interaction.isAutocomplete()) return;
      const typed = interaction.options.getFocused();
      await interaction.respond([{ name: `docker-vs-kubernetes (${typed})`, value: 'docker-vs-kubernetes' }]);
    };
    const delivered = nextInteraction((i): i is AutocompleteInteraction => i.isAutocomplete());
    const handle = sim.sendAutocomplete({
      guildId,
      channelId,
      userId: learner,
      name: 'lab',
      subcommand: 'start',
      options: { lesson: 'dock' },
      focused: 'lesson',
    });
    expect((await delivered).options.getFocused(true)).toMatchObject({ name: 'lesson', value: 'dock' });
    const callback = await handle.acknowledged();
    expect(callback).toMatchObject({ type: 8, data: { choices: [{ value: 'docker-vs-kubernetes' }] } });
  });

  it('answers 429 with the real headers; discord.js waits retry_after out and then succeeds', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    sim.rateLimit({ method: 'POST', route: '/channels/:channelId/messages', count: 1, retryAfterMs: 400 });
    const callsBefore = sim.calls.length;
    const sent = await withTimeout(channel.send('after the rate limit'), 5_000, 'rate-limited send');
    expect(sent.content).toBe('after the rate limit');
    const attempts = sim.calls.slice(callsBefore).filter((call) => call.route === '/channels/:channelId/messages');
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(400);
    expect(sim.violations).toEqual([]);
  });

  it('checks payload shapes: a 2001-character message is refused with 50035 and noted', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const before = sim.violations.length;
    const error = await channel.send('x'.repeat(2001)).catch((caught: unknown) => caught);
    expect((error as DiscordAPIError).code).toBe(50035);
    expect(sim.violations.slice(before)).toEqual([
      expect.objectContaining({ kind: 'invalid-request', route: '/channels/:channelId/messages' }),
    ]);
    expect(sim.violations[before]!.message).toContain('content');
    sim.violations.splice(before);
  });

  it('expires interaction tokens: @original can no longer be edited, the bot token still edits the thread', async () => {
    let edited: unknown;
    onInteraction = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.reply({ content: 'status', flags: MessageFlags.Ephemeral });
      sim.expireInteractionTokens();
      edited = await interaction.editReply('later').catch((caught: unknown) => caught);
    };
    const handle = sim.sendSlashCommand({ guildId, channelId, userId: learner, name: 'lab', subcommand: 'status' });
    await handle.acknowledged();
    await sim.waitFor(() => edited !== undefined, 3_000);
    expect((edited as DiscordAPIError).code).toBe(50027);
    expect(sim.violations).toEqual([expect.objectContaining({ kind: 'expired-token' })]);
    sim.violations.splice(0);
  });

  it('resumes the gateway session after a disconnect and keeps delivering interactions', async () => {
    onInteraction = async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('pong');
    };
    const resumed = new Promise<void>((resolve) => client.once(Events.ShardResume, () => resolve()));
    sim.disconnectGateway(4000);
    await withTimeout(resumed, 5_000, 'gateway resume');
    const handle = sim.sendSlashCommand({ guildId, channelId, userId: learner, name: 'lab', subcommand: 'status' });
    expect((await handle.acknowledged()).type).toBe(4);
    expect(handlerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('sends follow-ups through the interaction webhook and records them on the handle', async () => {
    onInteraction = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      await interaction.deferReply({ flags: MessageFlags.Ephemeral });
      await interaction.editReply('checking…');
      await interaction.followUp({ content: 'second note', flags: MessageFlags.Ephemeral });
    };
    const handle = sim.sendSlashCommand({ guildId, channelId, userId: learner, name: 'lab', subcommand: 'status' });
    await sim.waitFor(() => handle.followUps().length === 1, 3_000);
    expect(handle.original()).toMatchObject({ ephemeral: true, data: { content: 'checking…' } });
    expect(handle.followUps()[0]).toMatchObject({ ephemeral: true, via: 'webhook', data: { content: 'second note' } });
    expect(sim.channelMessages(channelId).some((message) => message.id === handle.original()?.id)).toBe(false);
    expect(handlerErrors).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('carries the member permissions a test gives (e.g. an instructor with Manage Guild)', async () => {
    onInteraction = async (interaction) => {
      if (!interaction.isChatInputCommand()) return;
      const instructor = interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild) ?? false;
      await interaction.reply({
        content: instructor ? 'class started' : 'instructors only',
        flags: MessageFlags.Ephemeral,
      });
    };
    const manageGuild = String(PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ViewChannel);
    const teacher = sim.sendSlashCommand({ guildId, userId: learner, name: 'lab', memberPermissions: manageGuild });
    const student = sim.sendSlashCommand({ guildId, userId: otherLearner, name: 'lab' });
    expect((await teacher.acknowledged()).data).toMatchObject({ content: 'class started' });
    expect((await student.acknowledged()).data).toMatchObject({ content: 'instructors only' });
  });

  it('delivers a DM slash command without guild or member', async () => {
    onInteraction = async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply('Labs run in servers; here I can only help.');
    };
    const delivered = nextInteraction((i): i is ChatInputCommandInteraction => i.isChatInputCommand());
    const handle = sim.sendSlashCommand({ userId: learner, name: 'lab', subcommand: 'status' });
    const interaction = await delivered;
    expect(interaction.inGuild()).toBe(false);
    expect(interaction.member).toBeNull();
    expect(interaction.user.id).toBe(learner);
    expect((await handle.acknowledged()).type).toBe(4);
    expect(sim.channels.get(interaction.channelId!)?.data['type']).toBe(1);
    expect(sim.violations).toEqual([]);
  });

  it('lets tests refuse thread creation (403 Missing Permissions) so a fallback can be exercised', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const message = await channel.send('lab without thread');
    sim.failRequests({ method: 'POST', route: '/channels/:channelId/messages/:messageId/threads' });
    const error = await message.startThread({ name: 'lab' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect((error as DiscordAPIError).code).toBe(50013);
    expect((await message.startThread({ name: 'lab' })).id).toBe(message.id);
    const again = await message.startThread({ name: 'lab' }).catch((caught: unknown) => caught);
    expect((again as DiscordAPIError).code).toBe(160004);
    sim.violations.splice(0);
  });

  it('notes a late acknowledgement (after the 3 s deadline) and answers 10062 Unknown interaction', async () => {
    const strict = await startDiscordSim({ botToken: 'strict', interactionAckDeadlineMs: 50 });
    const bot = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: strict.apiUrl, version: '10' } });
    try {
      const ready = new Promise<void>((resolve) => bot.once(Events.ClientReady, () => resolve()));
      await withTimeout(bot.login(strict.botToken), 5_000, 'login');
      await withTimeout(ready, 5_000, 'clientReady');
      let failure: unknown;
      bot.on(Events.InteractionCreate, (interaction) => {
        if (!interaction.isChatInputCommand()) return;
        setTimeout(() => {
          interaction.deferReply().catch((caught: unknown) => {
            failure = caught;
          });
        }, 150);
      });
      strict.sendSlashCommand({ guildId: strict.guilds[0]!.id, userId: learner, name: 'lab' });
      await strict.waitFor(() => failure !== undefined, 3_000);
      expect((failure as DiscordAPIError).code).toBe(10062);
      expect(strict.violations.map((violation) => violation.kind)).toEqual(['late-ack']);
    } finally {
      await bot.destroy();
      await strict.stop();
    }
  });

  it('notes a client that retries before retry_after ended', async () => {
    sim.rateLimit({ method: 'GET', route: '/users/@me', count: 1, retryAfterMs: 2_000 });
    const headers = { authorization: `Bot ${sim.botToken}` };
    const first = await fetch(`${sim.apiUrl}/v10/users/@me`, { headers });
    expect(first.status).toBe(429);
    expect(Object.fromEntries(first.headers)).toMatchObject({
      'retry-after': '2',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset-after': '2.000',
      'x-ratelimit-scope': 'user',
    });
    expect(await first.json()).toEqual({ message: 'You are being rate limited.', retry_after: 2, global: false });
    const early = await fetch(`${sim.apiUrl}/v10/users/@me`, { headers });
    expect(early.status).toBe(429);
    expect(sim.violations).toEqual([expect.objectContaining({ kind: 'rate-limit-ignored', route: '/users/@me' })]);
    sim.violations.splice(0);
  });

  it('holds every bot-token route during a global 429 (a request to another route is noted) but not interaction callbacks', async () => {
    sim.rateLimit({ method: 'GET', route: '/applications/@me', count: 1, retryAfterMs: 2_000, global: true });
    const headers = { authorization: `Bot ${sim.botToken}` };
    expect((await fetch(`${sim.apiUrl}/v10/applications/@me`, { headers })).status).toBe(429);
    const other = await fetch(`${sim.apiUrl}/v10/channels/${channelId}`, { headers });
    expect(other.status).toBe(429);
    expect(other.headers.get('x-ratelimit-global')).toBe('true');
    expect(sim.violations).toEqual([
      expect.objectContaining({ kind: 'rate-limit-ignored', route: '/channels/:channelId' }),
    ]);
    sim.violations.splice(0);
    // An interaction callback is not bound by the global limit.
    const callback = await fetch(`${sim.apiUrl}/v10/interactions/1/none/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 1 }),
    });
    expect(callback.status).not.toBe(429);
    sim.violations.splice(0);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  });

  it('deletes a thread as a moderator would: posting or editing there answers 10003 Unknown Channel', async () => {
    const { threadId, statusId } = await labThread();
    sim.deleteThread(threadId);
    const headers = { authorization: `Bot ${sim.botToken}`, 'content-type': 'application/json' };
    const post = await fetch(`${sim.apiUrl}/v10/channels/${threadId}/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ content: 'still there?' }),
    });
    expect(post.status).toBe(404);
    expect(await post.json()).toMatchObject({ code: 10003, message: 'Unknown Channel' });
    const edit = await fetch(`${sim.apiUrl}/v10/channels/${threadId}/messages/${statusId}`, {
      method: 'PATCH',
      headers,
      body: JSON.stringify({ content: 'still there?' }),
    });
    expect(((await edit.json()) as { code: number }).code).toBe(10003);
    expect(sim.threads().some((thread) => thread.id === threadId)).toBe(false);
    sim.violations.splice(0);
  });

  it('after a bot restart, a fresh login sees the active threads in GUILD_CREATE and edits the status with the bot token', async () => {
    const { threadId, statusId } = await labThread();
    const thread = { id: threadId };
    const statusMessage = sim.messages.get(statusId);
    const restarted = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: sim.apiUrl, version: '10' } });
    try {
      const ready = new Promise<void>((resolve) => restarted.once(Events.ClientReady, () => resolve()));
      await withTimeout(restarted.login(sim.botToken), 5_000, 'login');
      await withTimeout(ready, 5_000, 'clientReady');
      const cached = restarted.channels.cache.get(thread.id);
      expect(cached?.isThread()).toBe(true);
      if (!cached?.isThread()) return;
      await cached.messages.edit(statusMessage!.id, { content: 'still updating after restart' });
      expect(statusMessage!.data['content']).toBe('still updating after restart');
      expect(statusMessage!.edits.at(-1)?.via).toBe('bot');
    } finally {
      await restarted.destroy();
    }
    expect(sim.violations).toEqual([]);
  });

  it('delivers /lab typed inside the lab thread with the thread as interaction.channel', async () => {
    const thread = { id: (await labThread()).threadId };
    onInteraction = async (interaction) => {
      if (interaction.isChatInputCommand()) await interaction.reply(`status of ${interaction.channel?.id}`);
    };
    const delivered = nextInteraction((i): i is ChatInputCommandInteraction => i.isChatInputCommand());
    const handle = sim.sendSlashCommand({
      guildId,
      channelId: thread.id,
      userId: learner,
      name: 'lab',
      subcommand: 'status',
    });
    const interaction = await delivered;
    expect(interaction.channel?.isThread()).toBe(true);
    expect(interaction.channelId).toBe(thread.id);
    await handle.acknowledged();
    expect(handle.original()?.channelId).toBe(thread.id);
    expect(sim.violations).toEqual([]);
  });

  it('refuses edits in an archived thread (50083); a new message reopens it unless locked', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const root = await channel.send('archived lab');
    const thread = await root.startThread({ name: 'archived lab' });
    const status = await thread.send('status');
    sim.archiveThread(thread.id);
    const refused = await status.edit('new status').catch((caught: unknown) => caught);
    expect((refused as DiscordAPIError).code).toBe(50083);
    await thread.send('reopened');
    expect(sim.channels.get(thread.id)?.data['thread_metadata']).toMatchObject({ archived: false });
    await status.edit('new status');
    sim.archiveThread(thread.id, { locked: true });
    expect(((await thread.send('x').catch((caught: unknown) => caught)) as DiscordAPIError).code).toBe(50083);
    sim.violations.splice(0);
  });

  it('answers a global 429 with X-RateLimit-Global; discord.js holds every request until it ends', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    sim.rateLimit({ count: 1, retryAfterMs: 300, global: true });
    const callsBefore = sim.calls.length;
    await withTimeout(channel.send('after a global limit'), 5_000, 'globally limited send');
    const attempts = sim.calls.slice(callsBefore);
    expect(attempts.map((call) => call.status)).toEqual([429, 200]);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(300);
    expect(sim.violations).toEqual([]);
  });

  it('with rejectOnRateLimit, discord.js hands the 429 back as RateLimitError (timeToReset exact, retryAfter whole seconds)', async () => {
    const outbox = new Client({
      intents: [],
      rest: { api: sim.apiUrl, version: '10', rejectOnRateLimit: ['/channels'] },
    });
    outbox.token = sim.botToken;
    outbox.rest.setToken(sim.botToken);
    try {
      // Its own channel: the sim (like Discord) keeps limiting that path for 700 ms, whoever asks.
      const otherChannel = sim.guilds[0]!.channelIds[1]!;
      sim.rateLimit({ method: 'POST', route: '/channels/:channelId/messages', count: 1, retryAfterMs: 700 });
      const error = await outbox.rest
        .post(`/channels/${otherChannel}/messages`, { body: { content: 'from the outbox' } })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RateLimitError);
      const limited = error as RateLimitError;
      expect(limited.global).toBe(false);
      // What is left of the 700 ms the sim asked for (less on a slow machine) plus discord.js's own offset, never more.
      expect(limited.timeToReset).toBeGreaterThan(0);
      expect(limited.timeToReset).toBeLessThanOrEqual(800);
      expect(limited.retryAfter).toBeGreaterThanOrEqual(1_000);
    } finally {
      await outbox.destroy();
    }
    expect(sim.violations).toEqual([]);
  });

  it('pages channel history (before/after/around) and archives, renames and deletes threads over REST', async () => {
    const channel = client.channels.cache.get(channelId) as TextChannel;
    const root = await channel.send('history root');
    const thread = await root.startThread({ name: 'paging' });
    const sent = [];
    for (const text of ['one', 'two', 'three', 'four']) sent.push(await thread.send(text));
    const newest = await thread.messages.fetch({ limit: 2, cache: false });
    expect([...newest.values()].map((m) => m.content)).toEqual(['four', 'three']);
    const before = await thread.messages.fetch({ before: sent[2]!.id, cache: false });
    expect([...before.values()].map((m) => m.content)).toEqual(['two', 'one']);
    const after = await thread.messages.fetch({ after: sent[1]!.id, limit: 1, cache: false });
    expect([...after.values()].map((m) => m.content)).toEqual(['three']);
    const around = await thread.messages.fetch({ around: sent[1]!.id, limit: 3, cache: false });
    expect([...around.values()].map((m) => m.content).sort()).toEqual(['one', 'three', 'two']);

    await thread.setName('lab stopped');
    await thread.setArchived(true);
    expect(sim.channels.get(thread.id)?.data).toMatchObject({
      name: 'lab stopped',
      thread_metadata: { archived: true },
    });
    await thread.delete();
    expect(sim.channels.has(thread.id)).toBe(false);
    expect(sim.channelMessages(thread.id)).toEqual([]);
    expect(sim.violations).toEqual([]);
  });
});
