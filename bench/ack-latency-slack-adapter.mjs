// The Slack library floor of bench/ack-latency.ts: labbot's Slack adapter (Bolt's App and HTTPReceiver as labbot
// configures them, from @labbot/chat-slack's built entry) with handlers that do nothing: each slash command is
// acknowledged by the adapter and then dropped (no store, no rendering, no response_url answer). The bot minus
// labbot's command work.
//   SLACK_BOT_TOKEN=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… node bench/ack-latency-slack-adapter.mjs
import { createSlackAdapter } from '@labbot/chat-slack';

const adapter = createSlackAdapter({
  botToken: process.env.SLACK_BOT_TOKEN ?? '',
  signingSecret: process.env.SLACK_SIGNING_SECRET ?? '',
  apiUrl: process.env.SLACK_API_URL,
  port: 0,
  host: '127.0.0.1',
});
await adapter.start({ onCommand: async () => {}, onAction: async () => {} });
process.stdout.write(`${JSON.stringify({ port: adapter.port() })}\n`);
// Exits on SIGTERM (as the bench stops it) through process.exit, so `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => process.exit(0));
