import type { ChatHandlers } from '@labbot/chat';
import { createSlackDriver, type SlackDriver, type SlackSim, startSlackSim } from '@labbot/slack-sim';
import { createSlackAdapter, type SlackChatAdapter } from '../slack-adapter.js';

/** The Slack adapter (the real Bolt app) on its own slack-sim, and a driver that sends it signed requests. */
export interface AdapterOnSim {
  sim: SlackSim;
  adapter: SlackChatAdapter;
  driver: SlackDriver;
  /** Stops the adapter, then the sim; returns the protocol violations the sim recorded. */
  stop(): Promise<SlackSim['violations']>;
}

/** Starts slack-sim and the adapter with `handlers` behind it: the set-up of the form and payload tests. */
export async function startAdapterOnSim(handlers: ChatHandlers): Promise<AdapterOnSim> {
  const sim = await startSlackSim();
  const adapter = createSlackAdapter({
    botToken: sim.botToken,
    signingSecret: sim.signingSecret,
    apiUrl: sim.apiUrl,
    port: 0,
    // Known identity: Bolt skips its auth.test call, which could still be running when a test stops the sim.
    botId: 'B0LABBOT01',
    botUserId: 'U0LABBOT01',
  });
  await adapter.start(handlers);
  const driver = createSlackDriver({
    targetUrl: `http://127.0.0.1:${adapter.port()}/slack/events`,
    signingSecret: sim.signingSecret,
    sim,
  });
  return {
    sim,
    adapter,
    driver,
    stop: async () => {
      await adapter.stop();
      const violations = [...sim.violations];
      await sim.stop();
      return violations;
    },
  };
}
