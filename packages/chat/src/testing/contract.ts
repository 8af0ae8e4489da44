import { waitForValue } from '@labbot/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ChatMessage, encodeButtonId } from '../message.js';
import type { ChatAdapter, ChatHandlers, IncomingAction, IncomingCommand } from '../port.js';
import { decodeThreadId } from '../thread-id.js';

/** What the contract suite needs from one adapter's test setup: the adapter and a user's side of the chat. */
export interface ChatContractHarness {
  adapter: ChatAdapter;
  /** Types `/lab <text>` as a user in a channel; resolves once the platform has sent it to the adapter. */
  sendCommand(input: { text: string; userId: string }): Promise<void>;
  /** Presses a button (by its custom id) on a message the bot posted in a thread. */
  pressButton(input: { threadId: string; messageId: string; customId: string; userId: string }): Promise<void>;
  /** The texts a user sees in a thread now, one per message, oldest first (edited messages show their last text). */
  threadTexts(threadId: string): Promise<string[]>;
  /** The texts a user sees in the channel where commands are typed, outside threads (including ephemerals to them). */
  channelTexts(userId: string): Promise<string[]>;
  /** Texts only this user saw (ephemeral); an empty list where the platform has no ephemerals. */
  ephemeralTexts(userId: string): Promise<string[]>;
  close(): Promise<void>;
}

export type ChatContractFactory = () => Promise<ChatContractHarness>;

const text = (value: string, title?: string): ChatMessage => ({
  ...(title ? { title } : {}),
  blocks: [{ kind: 'text', text: value }],
});

/** The contract every chat adapter passes: the same tests for Discord, Slack and the terminal. */
export function describeChatAdapterContract(name: string, factory: ChatContractFactory): void {
  describe(`chat adapter contract: ${name}`, () => {
    let harness: ChatContractHarness;
    let commands: IncomingCommand[];
    let actions: IncomingAction[];
    let onCommand: (command: IncomingCommand) => Promise<void>;

    beforeEach(async () => {
      harness = await factory();
      commands = [];
      actions = [];
      onCommand = async () => {};
      const handlers: ChatHandlers = {
        onCommand: async (command) => {
          commands.push(command);
          await onCommand(command);
        },
        onAction: async (action) => {
          actions.push(action);
          await action.respond.reply(text(`pressed ${action.action} on ${action.target}`), { ephemeral: true });
        },
      };
      await harness.adapter.start(handlers);
    });

    afterEach(async () => {
      await harness.adapter.stop();
      await harness.close();
    });

    it('delivers a command with who typed it, the text and where', async () => {
      onCommand = async (command) => command.respond.reply(text(`you said: ${command.text}`));
      await harness.sendCommand({ text: 'status', userId: 'u-ada' });
      await waitForValue(
        'n === 1',
        async () => commands.length,
        (n) => n === 1,
      );
      const [command] = commands;
      expect(command?.text).toBe('status');
      expect(command?.actor).toMatchObject({ platform: harness.adapter.platform, userId: 'u-ada' });
      expect(command?.conversation.platform).toBe(harness.adapter.platform);
      const seen = await waitForValue(
        "texts.some((t) => t.includes('you said: status'))",
        () => harness.channelTexts('u-ada'),
        (texts) => texts.some((t) => t.includes('you said: status')),
      );
      expect(seen.join('\n')).toContain('you said: status');
    });

    it('opens a thread, posts into it with the bot, and edits in place', async () => {
      let threadId = '';
      onCommand = async (command) => {
        await command.respond.defer();
        threadId = await command.respond.openThread({ announcement: text('Starting your lab'), title: 'lab: demo' });
      };
      await harness.sendCommand({ text: 'start demo', userId: 'u-ada' });
      await waitForValue(
        "id !== ''",
        async () => threadId,
        (id) => id !== '',
      );
      expect(decodeThreadId(threadId)?.platform).toBe(harness.adapter.platform);

      const messageId = await harness.adapter.postMessage(threadId, text('namespace ready', 'Status'));
      await harness.adapter.editMessage(threadId, messageId, text('image built', 'Status'));
      const texts = await waitForValue(
        "t.some((x) => x.includes('image built'))",
        () => harness.threadTexts(threadId),
        (t) => t.some((x) => x.includes('image built')),
      );
      expect(texts.filter((t) => t.includes('Status'))).toHaveLength(1);
      expect(texts.join('\n')).not.toContain('namespace ready');
    });

    it('shows an error to the user who typed the command only, where the platform allows', async () => {
      onCommand = async (command) => command.respond.error('That lesson does not exist.');
      await harness.sendCommand({ text: 'start nope', userId: 'u-bob' });
      const seen = await waitForValue(
        "t.some((x) => x.includes('does not exist'))",
        () => harness.channelTexts('u-bob'),
        (t) => t.some((x) => x.includes('does not exist')),
      );
      expect(seen.join('\n')).toContain('That lesson does not exist.');
      if (harness.adapter.capabilities.supportsEphemeral) {
        expect((await harness.ephemeralTexts('u-bob')).join('\n')).toContain('That lesson does not exist.');
        expect((await harness.channelTexts('u-carol')).join('\n')).not.toContain('does not exist');
      }
    });

    it('turns a button press into an action with who pressed it', async (context) => {
      // Shown as skipped in the report (not passed with zero assertions) for an adapter without buttons.
      if (!harness.adapter.capabilities.supportsButtons) context.skip(`${name} has no buttons`);
      let threadId = '';
      onCommand = async (command) => {
        threadId = await command.respond.openThread({ announcement: text('lab'), title: 'lab' });
      };
      await harness.sendCommand({ text: 'start demo', userId: 'u-ada' });
      await waitForValue(
        "id !== ''",
        async () => threadId,
        (id) => id !== '',
      );
      const messageId = await harness.adapter.postMessage(threadId, {
        blocks: [{ kind: 'text', text: 'status' }],
        buttons: [{ action: 'stop', target: 'abc123abc123', label: 'Stop', style: 'danger' }],
      });
      await harness.pressButton({
        threadId,
        messageId,
        customId: encodeButtonId({ action: 'stop', target: 'abc123abc123' }),
        userId: 'u-eve',
      });
      await waitForValue(
        'n === 1',
        async () => actions.length,
        (n) => n === 1,
      );
      expect(actions[0]).toMatchObject({ action: 'stop', target: 'abc123abc123', actor: { userId: 'u-eve' } });
    });

    it('keeps long messages within the platform limit instead of failing', async () => {
      let threadId = '';
      onCommand = async (command) => {
        threadId = await command.respond.openThread({ announcement: text('lab'), title: 'lab' });
      };
      await harness.sendCommand({ text: 'start demo', userId: 'u-ada' });
      await waitForValue(
        "id !== ''",
        async () => threadId,
        (id) => id !== '',
      );
      const long = 'x'.repeat(harness.adapter.capabilities.maxMessageLength * 2);
      await harness.adapter.postMessage(threadId, { blocks: [{ kind: 'code', text: long }] });
      const texts = await waitForValue(
        "t.some((x) => x.includes('xxxx'))",
        () => harness.threadTexts(threadId),
        (t) => t.some((x) => x.includes('xxxx')),
      );
      const shown = texts.find((t) => t.includes('xxxx')) ?? '';
      expect(shown.length).toBeLessThanOrEqual(harness.adapter.capabilities.maxMessageLength + 200);
    });

    it('survives a handler that throws: the user gets one plain sentence, the next command works', async () => {
      onCommand = async (command) => {
        if (command.text === 'boom') throw new Error('internal detail at /srv/secret.ts:12');
        await command.respond.reply(text('still here'));
      };
      await harness.sendCommand({ text: 'boom', userId: 'u-ada' });
      const seen = await waitForValue(
        't.some((x) => /went wrong/i.test(x))',
        () => harness.channelTexts('u-ada'),
        (t) => t.some((x) => /went wrong/i.test(x)),
      );
      expect(seen.join('\n')).toMatch(/went wrong/i);
      expect(seen.join('\n')).not.toContain('/srv/secret.ts');
      await harness.sendCommand({ text: 'again', userId: 'u-ada' });
      const after = await waitForValue(
        "t.some((x) => x.includes('still here'))",
        () => harness.channelTexts('u-ada'),
        (t) => t.some((x) => x.includes('still here')),
      );
      expect(after.join('\n')).toContain('still here');
    });
  });
}
