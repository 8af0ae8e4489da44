// The Discord library floor of bench/ack-latency.ts: discord.js as labbot runs it (the same client options, from
// @labbot/chat-discord's built entry) answering each slash command at once with a fixed ephemeral reply: no store,
// no rendering, no command handling. The bot minus labbot's own work per command.
//   DISCORD_API=… DISCORD_TOKEN=… node bench/ack-latency-discordjs.mjs
import { discordClientOptions } from '@labbot/chat-discord';
import { Client, Events, MessageFlags } from 'discord.js';

const client = new Client(discordClientOptions(process.env.DISCORD_API));
client.on(Events.InteractionCreate, (interaction) => {
  if (!interaction.isChatInputCommand()) return;
  interaction
    .reply({ content: 'ok', flags: MessageFlags.Ephemeral })
    .catch((error) => process.stderr.write(`library floor reply failed: ${error}\n`));
});
client.once(Events.ClientReady, () => process.stdout.write(`${JSON.stringify({ ready: true })}\n`));
await client.login(process.env.DISCORD_TOKEN);
// Exits on SIGTERM (as the bench stops it) through process.exit, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
