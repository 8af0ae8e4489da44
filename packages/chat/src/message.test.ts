import { describe, expect, it } from 'vitest';
import { decodeButtonId, encodeButtonId, formatTable, messageToPlainText, truncate } from './message.js';
import { decodeThreadId, encodeThreadId, platformOfThread } from './thread-id.js';

describe('thread ids', () => {
  it('round-trips a thread address as a plain string', () => {
    const id = encodeThreadId({
      platform: 'slack',
      workspaceId: 'T01',
      channelId: 'C02',
      threadId: '1732540000.000100',
    });
    expect(id).toBe('slack:T01:C02:1732540000.000100');
    expect(decodeThreadId(id)).toEqual({
      platform: 'slack',
      workspaceId: 'T01',
      channelId: 'C02',
      threadId: '1732540000.000100',
    });
    expect(platformOfThread('discord:1:2:3')).toBe('discord');
  });

  it('refuses what is not a thread id', () => {
    expect(decodeThreadId('teams:1:2:3')).toBeUndefined();
    expect(decodeThreadId('discord:1:2')).toBeUndefined();
    expect(decodeThreadId('discord:1:2:3:4')).toBeUndefined();
    expect(() => encodeThreadId({ platform: 'local', workspaceId: 'a:b', channelId: 'c', threadId: 'd' })).toThrow(
      /workspaceId/,
    );
  });
});

describe('buttons', () => {
  it('encode to a short custom id and decode back', () => {
    const id = encodeButtonId({ action: 'stop', target: '0123456789ab' });
    expect(id).toBe('lab:stop:0123456789ab');
    expect(decodeButtonId(id)).toEqual({ action: 'stop', target: '0123456789ab' });
  });

  it.each(['lab:explode:0123', 'lab:stop:', 'other:stop:1', 'lab:stop:../x', 42, `lab:stop:${'a'.repeat(120)}`])(
    'ignores a forged or foreign payload %s',
    (value) => {
      expect(decodeButtonId(value)).toBeUndefined();
    },
  );
});

describe('plain text', () => {
  it('renders a pod table like kubectl', () => {
    expect(
      formatTable(
        ['NAME', 'READY'],
        [
          ['web-1', '1/1'],
          ['web-22', '0/1'],
        ],
      ),
    ).toBe('NAME     READY\nweb-1    1/1\nweb-22   0/1');
  });

  it('renders every block kind and the buttons', () => {
    const text = messageToPlainText({
      title: 'Lab',
      blocks: [
        { kind: 'text', text: 'hello' },
        { kind: 'fields', fields: [{ name: 'Phase', value: 'ready' }] },
        { kind: 'code', text: 'out', title: 'Output' },
      ],
      buttons: [{ action: 'check', target: 'abc', label: 'Check' }],
    });
    expect(text).toBe('Lab\nhello\nPhase: ready\nOutput\nout\n[Check]');
  });

  it('cuts long text and says so', () => {
    expect(truncate('abcdefghijkl', 10)).toBe('abc… (cut)');
    expect(truncate('short', 10)).toBe('short');
  });
});
