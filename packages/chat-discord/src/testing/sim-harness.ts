import type { ChatContractHarness } from '@labbot/chat/testing';
import { type DiscordSim, type SimMessage, startDiscordSim } from '@labbot/discord-sim';
import { expect } from 'vitest';
import { discordMessageText } from '../cards.js';
import { type DiscordAdapterOptions, DiscordChatAdapter } from '../discord-adapter.js';

/** A discord-sim, the adapter pointed at it, and a user's view of the chat (for the contract suite and e2e tests). */
export interface DiscordSimHarness extends ChatContractHarness {
  sim: DiscordSim;
  adapter: DiscordChatAdapter;
  guildId: string;
  channelId: string;
}

export function messageText(message: SimMessage): string {
  return discordMessageText(message.data);
}

/** Ids of the user an interaction came from. */
export function interactionUserOf(sim: DiscordSim, message: SimMessage): string | undefined {
  const record = message.interactionId ? sim.interactions.get(message.interactionId) : undefined;
  const payload = record?.payload as { member?: { user?: { id?: string } }; user?: { id?: string } } | undefined;
  return payload?.member?.user?.id ?? payload?.user?.id;
}

/** Starts a sim (one guild, one text channel) and an adapter on it; the caller starts the adapter. */
export async function createDiscordSimHarness(
  options: Partial<DiscordAdapterOptions> & { sim?: DiscordSim } = {},
): Promise<DiscordSimHarness> {
  const sim = options.sim ?? (await startDiscordSim({ botToken: 'labbot-test-token' }));
  const guild = sim.guilds[0];
  const channelId = guild?.channelIds[0];
  if (!guild || !channelId) throw new Error('discord-sim started without a guild channel');
  const adapter = new DiscordChatAdapter({
    token: sim.botToken,
    applicationId: sim.applicationId,
    guildId: guild.id,
    apiUrl: sim.apiUrl,
    ...options,
  });
  const visibleTo = (userId: string) =>
    [...sim.messages.values()].filter(
      (message) =>
        message.channelId === channelId &&
        message.deletedAt === undefined &&
        (!message.ephemeral || interactionUserOf(sim, message) === userId),
    );
  return {
    sim,
    adapter,
    guildId: guild.id,
    channelId,
    sendCommand: async ({ text, userId }) => {
      const [subcommand, ...rest] = text.trim().split(/\s+/);
      const handle = sim.sendSlashCommand({
        guildId: guild.id,
        channelId,
        userId,
        name: 'lab',
        ...(subcommand ? { subcommand } : {}),
        options: rest.length > 0 ? { [subcommand === 'kubectl' ? 'args' : 'lesson']: rest.join(' ') } : {},
      });
      await handle.acknowledged();
    },
    pressButton: async ({ messageId, customId, userId }) => {
      await sim.clickButton({ messageId, customId, userId }).acknowledged();
    },
    threadTexts: async (threadId) => {
      const channel = threadId.split(':')[3] ?? '';
      return sim.channelMessages(channel).map(messageText);
    },
    channelTexts: async (userId) => visibleTo(userId).map(messageText),
    ephemeralTexts: async (userId) =>
      visibleTo(userId)
        .filter((message) => message.ephemeral)
        .map(messageText),
    close: async () => {
      // Every rule of Discord's the adapter broke during the test fails it (as the Slack harness does).
      const violations = [...sim.violations];
      if (!options.sim) await sim.stop();
      expect(violations).toEqual([]);
    },
  };
}
