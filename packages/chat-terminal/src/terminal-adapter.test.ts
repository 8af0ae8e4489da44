import { PassThrough } from 'node:stream';
import { describeChatAdapterContract } from '@labbot/chat/testing';
import { waitFor } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';
import { TerminalChatAdapter } from './terminal-adapter.js';

describeChatAdapterContract('terminal', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  const adapter = new TerminalChatAdapter({ input, output, userId: 'local-user' });
  return {
    adapter,
    sendCommand: ({ text, userId }) => adapter.handleLine(`/lab ${text}`, userId),
    pressButton: async () => {},
    threadTexts: async (threadId) => adapter.threadTexts(threadId),
    channelTexts: async () => adapter.channelTexts(),
    ephemeralTexts: async () => [],
    close: async () => {
      input.end();
    },
  };
});

describe('terminal chat from a pipe', () => {
  it('reads commands line by line, prints thread messages as plain text, and reports the end of input', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let printed = '';
    output.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    let ended = false;
    const adapter = new TerminalChatAdapter({ input, output, userId: 'me', onInputEnd: () => (ended = true) });
    const seen: string[] = [];
    await adapter.start({
      onCommand: async (command) => {
        seen.push(`${command.actor.userId}:${command.text}`);
        // A handler that takes a moment, as a real one does: the end of input must still wait for it.
        await new Promise((resolve) => setTimeout(resolve, 50));
        const thread = await command.respond.openThread({
          announcement: { blocks: [{ kind: 'text', text: 'Starting' }] },
          title: 'lab: demo',
        });
        const id = await adapter.postMessage(thread, { title: 'Status', blocks: [{ kind: 'text', text: 'building' }] });
        await adapter.editMessage(thread, id, { title: 'Status', blocks: [{ kind: 'text', text: 'ready 3/3' }] });
      },
      onAction: async () => {},
    });
    input.end('/lab start demo\nhello\n');
    // The end of input is reported after every line before it was handled.
    await waitFor('the end of input', () => ended);
    expect(seen).toEqual(['me:start demo']);
    expect(printed).toContain('Starting\n→ thread "lab: demo" opened');
    expect(printed).toContain('── lab: demo · message 1 ──\nStatus\nbuilding');
    expect(printed).toContain('── lab: demo · message 1 (updated) ──\nStatus\nready 3/3');
    expect(printed).toContain('Commands start with /lab');
    expect(printed).not.toContain('\x1b[');
    expect(ended).toBe(true);
    await adapter.stop();
  });
});
