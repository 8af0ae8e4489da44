import { Writable } from 'node:stream';
import type { ChatHandlers, IncomingAction, IncomingCommand } from '@labbot/chat';
import { describeChatAdapterContract } from '@labbot/chat/testing';
import { createLogger } from '@labbot/config';
import { applicationCommandSchema, startDiscordSim } from '@labbot/discord-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { renderDiscordMessage } from './cards.js';
import { DIRECT_MESSAGE_NOTICE, memberRoles, THREAD_FALLBACK_NOTICE } from './discord-adapter.js';
import { LAB_COMMAND } from './lab-command.js';
import { createDiscordSimHarness, type DiscordSimHarness, messageText } from './testing/sim-harness.js';

describeChatAdapterContract('discord (discord.js against discord-sim)', () => createDiscordSimHarness());

describe('discord adapter on discord-sim', () => {
  let harness: DiscordSimHarness | undefined;
  afterEach(async () => {
    await harness?.adapter.stop();
    await harness?.close();
    harness = undefined;
  });

  async function started(handlers: Partial<ChatHandlers>, options = {}): Promise<DiscordSimHarness> {
    harness = await createDiscordSimHarness(options);
    await harness.adapter.start({ onCommand: async () => {}, onAction: async () => {}, ...handlers });
    return harness;
  }

  it('registers /lab in the configured guild with its subcommands, and the sim saw no rule broken', async () => {
    const { sim, guildId } = await started({});
    const [command] = sim.commands(guildId);
    expect(command?.['name']).toBe('lab');
    const names = ((command?.['options'] ?? []) as { name: string }[]).map((option) => option.name);
    expect(names).toEqual(expect.arrayContaining(['start', 'status', 'stop', 'reset', 'check', 'kubectl', 'class']));
    expect(sim.commands()).toEqual([]);
    expect(sim.violations).toEqual([]);
  });

  it('registers globally when no guild is configured', async () => {
    const { sim } = await started({}, { guildId: undefined });
    expect(sim.commands().map((command) => command['name'])).toEqual(['lab']);
  });

  it('turns options back into the text grammar, in declared order', async () => {
    const seen: string[] = [];
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        seen.push(command.text);
        await command.respond.reply({ blocks: [{ kind: 'text', text: 'ok' }] }, { ephemeral: true });
      },
    });
    await sim
      .sendSlashCommand({
        guildId,
        userId: '1001',
        name: 'lab',
        subcommand: 'start',
        options: { variant: 'exits', lesson: 'docker-vs-kubernetes' },
      })
      .acknowledged();
    await sim
      .sendSlashCommand({
        guildId,
        userId: '1001',
        name: 'lab',
        subcommandGroup: 'class',
        subcommand: 'start',
        options: { lesson: 'x' },
      })
      .acknowledged();
    await sim.waitFor(() => seen.length === 2);
    expect(seen).toEqual(['start docker-vs-kubernetes exits', 'class start x']);
  });

  it('answers lesson autocomplete from suggestLessons', async () => {
    const { sim, guildId } = await started({
      suggestLessons: async (prefix) => [{ name: `docker-vs-kubernetes (${prefix})`, value: 'docker-vs-kubernetes' }],
    });
    const handle = sim.sendAutocomplete({
      guildId,
      userId: '1001',
      name: 'lab',
      subcommand: 'start',
      options: { lesson: 'dock' },
      focused: 'lesson',
    });
    const callback = await handle.acknowledged();
    expect(callback.type).toBe(8);
    expect(callback.data?.['choices']).toEqual([
      { name: 'docker-vs-kubernetes (dock)', value: 'docker-vs-kubernetes' },
    ]);
  });

  it('defers a slow handler within the deadline and still answers', async () => {
    const { sim, guildId } = await started(
      {
        onCommand: async (command) => {
          await new Promise((resolve) => setTimeout(resolve, 700));
          await command.respond.error('That took a while.');
        },
      },
      { autoDeferMs: 200 },
    );
    const handle = sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'status' });
    const ack = await handle.acknowledged();
    // Deferred (type 5) within Discord's real 3 s deadline, before the handler had its answer.
    expect(ack.type).toBe(5);
    expect(ack.latencyMs).toBeLessThan(3000);
    expect(messageText(handle.original() ?? ({ data: {} } as never))).not.toContain('took a while');
    const original = await handle.waitForOriginal((message) => messageText(message).includes('took a while'));
    expect(original.ephemeral).toBe(true);
    expect(sim.violations).toEqual([]);
  });

  it("defers by Discord's clock: an interaction that reached the bot 2 s late is deferred at once, then answered", async () => {
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        await new Promise((resolve) => setTimeout(resolve, 1200));
        await command.respond.reply({ blocks: [{ kind: 'text', text: 'here is your status' }] }, { ephemeral: true });
      },
    });
    // Counted from its arrival, the 1.5 s automatic defer would reach Discord 3.5 s after it created the interaction.
    const handle = sim.sendSlashCommand({
      guildId,
      userId: '1001',
      name: 'lab',
      subcommand: 'status',
      deliveredLateByMs: 2000,
    });
    const ack = await handle.acknowledged();
    expect(ack.type).toBe(5);
    expect(ack.latencyMs).toBeLessThan(3000);
    const original = await handle.waitForOriginal((message) => messageText(message).includes('here is your status'));
    expect(original.ephemeral).toBe(true);
    expect(sim.violations).toEqual([]);
  });

  it('stops at the first "unknown interaction" (too late for Discord): no second try, and the next command is answered', async () => {
    const failures: string[] = [];
    let handled!: () => void;
    const done = new Promise<void>((resolve) => {
      handled = resolve;
    });
    const logged: { level: number; msg: string }[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged.push(JSON.parse(chunk.toString('utf8')));
        callback();
      },
    });
    const logger = createLogger({ name: 'labbot-discord', level: 'warn', destination });
    const { sim, guildId } = await started(
      {
        onCommand: async (command) => {
          if (command.text !== 'status') {
            await command.respond.reply({ blocks: [{ kind: 'text', text: 'on time' }] }, { ephemeral: true });
            return;
          }
          try {
            for (const text of ['first', 'second']) {
              await command.respond
                .reply({ blocks: [{ kind: 'text', text }] }, { ephemeral: true })
                .catch((error: unknown) => failures.push(`${text}: ${(error as Error).message}`));
            }
            await new Promise((resolve) => setTimeout(resolve, 1700));
          } finally {
            handled();
          }
        },
      },
      { logger },
    );
    const late = sim.sendSlashCommand({
      guildId,
      userId: '1001',
      name: 'lab',
      subcommand: 'status',
      deliveredLateByMs: 3500,
    });
    await done;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(failures).toEqual(['first: Unknown interaction', 'second: Unknown interaction']);
    // One callback reached Discord for it: no automatic defer and no second answer tried the API again.
    const callbacks = sim.calls.filter((call) => call.path.startsWith(`/interactions/${late.id}/`));
    expect(callbacks).toHaveLength(1);
    expect(late.record.callback).toBeUndefined();
    // The late callback is the one rule broken, as this test meant it: the harness checks for no others.
    expect(sim.violations.splice(0).map((violation) => violation.kind)).toEqual(['late-ack']);
    // The operator sees the refused answer once, as a warning; nothing failed in the adapter itself.
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
    expect(logged.filter((line) => line.msg === 'could not defer')).toEqual([]);
    const next = sim.sendSlashCommand({ guildId, userId: '1002', name: 'lab', subcommand: 'list' });
    expect((await next.acknowledged()).type).toBe(4);
    expect(messageText(next.original() ?? ({ data: {} } as never))).toContain('on time');
  });

  it('answers a burst of 60 commands over kept-alive connections, at most 16, each privately with its own text', async () => {
    const { sim, guildId } = await started(
      {
        onCommand: async (command) => {
          await command.respond.reply(
            { blocks: [{ kind: 'text', text: `for ${command.actor.userId}` }] },
            {
              ephemeral: true,
            },
          );
        },
      },
      // Kept as Discord's API keeps them (the sim's default 1 s hint would close idle ones mid-test).
      { sim: await startDiscordSim({ botToken: 'labbot-test-token', keepAliveTimeoutMs: 65_000 }) },
    );
    const before = sim.connectionsAccepted();
    const handles = Array.from({ length: 60 }, (_, index) =>
      sim.sendSlashCommand({ guildId, userId: String(2000 + index), name: 'lab', subcommand: 'status' }),
    );
    const acks = await Promise.all(handles.map((handle) => handle.acknowledged()));
    expect(acks.map((ack) => ack.type)).toEqual(handles.map(() => 4));
    handles.forEach((handle, index) => {
      const original = handle.original();
      expect(original?.ephemeral).toBe(true);
      expect(messageText(original ?? ({ data: {} } as never))).toContain(`for ${2000 + index}`);
    });
    // undici (discord.js's default) opened a connection per answer in flight: up to 60 here.
    expect(sim.connectionsAccepted() - before).toBeLessThanOrEqual(16);
    await harness?.adapter.stop();
    await sim.stop();
  });

  it('a slow start still gets its thread: deferred privately, then the announcement as a public follow-up', async () => {
    let threadId = '';
    const { sim, guildId, channelId } = await started(
      {
        onCommand: async (command) => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          threadId = await command.respond.openThread({
            announcement: { blocks: [{ kind: 'text', text: 'Starting your lab' }] },
            title: 'lab: slow',
          });
        },
      },
      { autoDeferMs: 100 },
    );
    const handle = sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' });
    expect((await handle.acknowledged()).type).toBe(5);
    await sim.waitFor(() => threadId !== '');
    const [thread] = sim.threads(channelId);
    expect(threadId).toBe(`discord:${guildId}:${channelId}:${thread?.id}`);
    const announcement = handle.followUps()[0];
    expect(announcement?.ephemeral).toBe(false);
    expect(messageText(announcement!)).toContain('Starting your lab');
    expect(sim.violations).toEqual([]);
  });

  it('leaves no "thinking…" behind when a deferred reply was answered by an ephemeral follow-up', async () => {
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        await command.respond.defer();
        await command.respond.error('Your lab is already running: see its thread.');
      },
    });
    const handle = sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' });
    await sim.waitFor(() => handle.original()?.deletedAt !== undefined);
    const [followUp] = handle.followUps();
    expect(followUp?.ephemeral).toBe(true);
    expect(messageText(followUp!)).toContain('already running');
    expect(sim.channelMessages(harness!.channelId)).toEqual([]);
  });

  it('falls back to the channel, saying so, when the bot may not create threads', async () => {
    let threadId = '';
    const { sim, guildId, channelId } = await started({
      onCommand: async (command) => {
        threadId = await command.respond.openThread({
          announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
          title: 'lab',
        });
      },
    });
    sim.failRequests({ route: '/channels/:channelId/messages/:messageId/threads', status: 403, code: 50013 });
    const handle = sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' });
    await handle.acknowledged();
    await sim.waitFor(() => threadId !== '' && handle.followUps().length > 0);
    expect(threadId).toBe(`discord:${guildId}:${channelId}:${channelId}`);
    expect(sim.threads()).toEqual([]);
    const notice = handle.followUps()[0];
    expect(notice?.ephemeral).toBe(true);
    expect(messageText(notice!)).toContain(THREAD_FALLBACK_NOTICE);
    const id = await harness!.adapter.postMessage(threadId, { blocks: [{ kind: 'text', text: 'status here' }] });
    expect(sim.messages.get(id)?.channelId).toBe(channelId);
  });

  it('in a DM, explains what is not available there instead of running lab commands', async () => {
    const commands: IncomingCommand[] = [];
    const { sim } = await started({
      onCommand: async (command) => {
        commands.push(command);
        await command.respond.reply({ blocks: [{ kind: 'text', text: 'help text' }] }, { ephemeral: true });
      },
    });
    const status = sim.sendSlashCommand({ userId: '1001', name: 'lab', subcommand: 'status' });
    const original = await status.waitForOriginal(() => true);
    expect(messageText(original)).toContain(DIRECT_MESSAGE_NOTICE);
    expect(original.ephemeral).toBe(true);
    const help = sim.sendSlashCommand({ userId: '1001', name: 'lab', subcommand: 'help' });
    await help.waitForOriginal((message) => messageText(message).includes('help text'));
    expect(commands.map((command) => [command.text, command.conversation.isDirect])).toEqual([['help', true]]);
  });

  it('a command typed in a lab thread names that thread; buttons act with the presser', async () => {
    const actions: IncomingAction[] = [];
    const commands: IncomingCommand[] = [];
    let threadId = '';
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        commands.push(command);
        if (command.text.startsWith('start')) {
          threadId = await command.respond.openThread({
            announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
            title: 'lab: demo',
          });
        } else await command.respond.reply({ blocks: [{ kind: 'text', text: 'ok' }] }, { ephemeral: true });
      },
      onAction: async (action) => {
        actions.push(action);
        await action.respond.error('Only the owner of this lab may press its buttons.');
      },
    });
    await sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' }).acknowledged();
    await sim.waitFor(() => threadId !== '');
    const thread = threadId.split(':')[3]!;
    await sim.sendSlashCommand({ guildId, channelId: thread, userId: '1001', name: 'lab', subcommand: 'status' });
    await sim.waitFor(() => commands.length === 2);
    expect(commands[1]?.conversation.threadId).toBe(threadId);

    const messageId = await harness!.adapter.postMessage(threadId, {
      blocks: [{ kind: 'text', text: 'status' }],
      buttons: [{ action: 'stop', target: 'lab123', label: 'Stop', style: 'danger' }],
    });
    expect(sim.messages.get(messageId)?.via).toBe('bot');
    const press = sim.clickButton({ messageId, customId: 'lab:stop:lab123', userId: '2002' });
    const answer = await press.waitForOriginal((message) => messageText(message).includes('Only the owner'));
    expect(answer.ephemeral).toBe(true);
    expect(actions[0]).toMatchObject({ action: 'stop', target: 'lab123', actor: { userId: '2002' } });
    expect(actions[0]?.conversation.threadId).toBe(threadId);
  });

  it('edits status messages with the bot token even after interaction tokens expired', async () => {
    let threadId = '';
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        threadId = await command.respond.openThread({
          announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
          title: 'lab',
        });
      },
    });
    await sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' }).acknowledged();
    await sim.waitFor(() => threadId !== '');
    const id = await harness!.adapter.postMessage(threadId, { blocks: [{ kind: 'text', text: 'building' }] });
    sim.expireInteractionTokens();
    await harness!.adapter.editMessage(threadId, id, { blocks: [{ kind: 'text', text: 'ready 3/3' }] });
    expect(messageText(sim.messages.get(id)!)).toContain('ready 3/3');
    expect(sim.messages.get(id)?.edits.map((edit) => edit.via)).toEqual(['bot']);
    expect(sim.violations).toEqual([]);
  });

  it('turns a 429 on a status post into RateLimitedError with the wait Discord asked for', async () => {
    let threadId = '';
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        threadId = await command.respond.openThread({
          announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
          title: 'lab',
        });
      },
    });
    await sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' }).acknowledged();
    await sim.waitFor(() => threadId !== '');
    sim.rateLimit({ route: '/channels/:channelId/messages', method: 'POST', count: 1, retryAfterMs: 1500 });
    const error = await harness!.adapter.postMessage(threadId, { blocks: [{ kind: 'text', text: 'x' }] }).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ name: 'RateLimitedError' });
    // The wait Discord asked for: 1.5 s, which its Retry-After header rounds up to 2 s (discord.js adds a 50 ms
    // offset); whatever the machine's speed, never less than asked, never a guess beyond the header.
    const retryAfterMs = (error as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThanOrEqual(1500);
    expect(retryAfterMs).toBeLessThanOrEqual(2100);
    expect(
      sim.calls.filter(
        (call) => call.route === '/channels/:channelId/messages' && call.method === 'POST' && call.status === 429,
      ),
    ).toHaveLength(1);
  });

  it('sends status posts and edits exactly as the renderer made them (the golden JSON)', async () => {
    let threadId = '';
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        threadId = await command.respond.openThread({
          announcement: { blocks: [{ kind: 'text', text: 'Go' }] },
          title: 'lab',
        });
      },
    });
    await sim.sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'start' }).acknowledged();
    await sim.waitFor(() => threadId !== '');
    const building = {
      title: 'Lab · building',
      tone: 'progress' as const,
      blocks: [{ kind: 'text' as const, text: 'building' }],
    };
    const ready = { title: 'Lab · ready', tone: 'success' as const, blocks: [{ kind: 'text' as const, text: '3/3' }] };
    const id = await harness!.adapter.postMessage(threadId, building);
    await harness!.adapter.editMessage(threadId, id, ready);
    const sent = sim.calls.filter(
      (call) =>
        ['/channels/:channelId/messages', '/channels/:channelId/messages/:messageId'].includes(call.route) &&
        call.method !== 'GET',
    );
    expect(sent.map((call) => call.body)).toEqual([renderDiscordMessage(building), renderDiscordMessage(ready)]);
  });

  it("puts the member's role ids and names into the actor, never @everyone", () => {
    const names: Record<string, string> = { '501': 'Instructor' };
    expect(memberRoles(['900', '501', '502'], '900', (id) => names[id])).toEqual(['501', 'Instructor', '502']);
    expect(memberRoles([], null, () => undefined)).toEqual([]);
  });

  it('keeps working after the gateway connection drops (discord.js resumes)', async () => {
    const seen: string[] = [];
    const { sim, guildId } = await started({
      onCommand: async (command) => {
        seen.push(command.text);
        await command.respond.reply({ blocks: [{ kind: 'text', text: 'ok' }] }, { ephemeral: true });
      },
    });
    sim.disconnectGateway();
    await sim.waitFor(
      () => sim.gatewayConnections().filter((connection) => connection.open && connection.ready).length === 1,
      10_000,
    );
    await sim
      .sendSlashCommand({ guildId, userId: '1001', name: 'lab', subcommand: 'help', options: { command: 'start' } })
      .acknowledged();
    await sim.waitFor(() => seen.length === 1);
    expect(seen).toEqual(['help start']);
  });

  it('sends a direct message through a DM channel with the bot token', async () => {
    const { sim } = await started({});
    await harness!.adapter.sendDirect('3003', { blocks: [{ kind: 'text', text: 'Your lab expires in 5 min' }] });
    const dm = [...sim.channels.values()].find((channel) => channel.guildId === undefined);
    expect(dm).toBeDefined();
    expect(sim.channelMessages(dm!.id).map(messageText)).toEqual(['Your lab expires in 5 min']);
  });

  it('says when a 429 is global, so the outbox holds every thread', async () => {
    const { sim, channelId } = await started({});
    sim.rateLimit({
      route: '/channels/:channelId/messages',
      method: 'POST',
      count: 1,
      retryAfterMs: 2000,
      global: true,
    });
    const error = await harness!.adapter
      .postMessage(`discord:${harness!.guildId}:${channelId}:${channelId}`, { blocks: [{ kind: 'text', text: 'x' }] })
      .then(
        () => undefined,
        (caught: unknown) => caught,
      );
    expect(error).toMatchObject({ name: 'RateLimitedError', global: true });
  });

  it('declares options the way Discord validates them', () => {
    // The schema discord-sim checks registrations with: names, lengths, option kinds and counts, required first,
    // and the 4000 characters of names, descriptions and choices a command may have in all.
    const parsed = applicationCommandSchema.safeParse(LAB_COMMAND);
    expect(parsed.error?.issues ?? []).toEqual([]);
    const oversized = applicationCommandSchema.safeParse({
      ...LAB_COMMAND,
      options: [
        ...(LAB_COMMAND.options ?? []).slice(0, 24),
        {
          type: 3,
          name: 'padding',
          description: 'x'.repeat(100),
          choices: Array.from({ length: 25 }, (_, i) => ({
            name: `choice ${i} ${'y'.repeat(80)}`,
            value: `v${i}${'z'.repeat(80)}`,
          })),
        },
      ],
    });
    expect(oversized.error?.issues.map((issue) => issue.message)).toContainEqual(
      expect.stringMatching(
        /^Command names, descriptions and choice values add up to \d+ characters \(at most 4000\)\.$/,
      ),
    );
  });
});
