import { parseLabCommand } from '@labbot/core';
import { ApplicationCommandOptionType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { commandText } from './lab-command.js';

const group = (subcommand: string, options: { name: string; type: number; value: string | number }[]) => [
  {
    name: 'class',
    type: ApplicationCommandOptionType.SubcommandGroup,
    options: [{ name: subcommand, type: ApplicationCommandOptionType.Subcommand, options }],
  },
];

describe('the /lab class options as command text', () => {
  it('a class with a warm pool and self-extension', () => {
    const text = commandText(
      group('start', [
        { name: 'warm', type: ApplicationCommandOptionType.Integer, value: 5 },
        { name: 'self-extend', type: ApplicationCommandOptionType.Integer, value: 15 },
        { name: 'lesson', type: ApplicationCommandOptionType.String, value: 'intro' },
      ]),
    );
    expect(text).toBe('class start intro self-extend=15 warm=5');
    expect(parseLabCommand(text)).toEqual({
      ok: true,
      command: { kind: 'class-start', lessonId: 'intro', selfExtendMinutes: 15, warmLabs: 5 },
    });
  });

  it('a class that sets up 3 labs at a time', () => {
    const text = commandText(
      group('start', [
        { name: 'at-once', type: ApplicationCommandOptionType.Integer, value: 3 },
        { name: 'lesson', type: ApplicationCommandOptionType.String, value: 'intro' },
      ]),
    );
    expect(text).toBe('class start intro at-once=3');
    expect(parseLabCommand(text)).toEqual({
      ok: true,
      command: { kind: 'class-start', lessonId: 'intro', maxConcurrentProvisions: 3 },
    });
  });

  it('a raised hand with a note', () => {
    const text = commandText([
      {
        name: 'help-me',
        type: ApplicationCommandOptionType.Subcommand,
        options: [{ name: 'note', type: ApplicationCommandOptionType.String, value: 'pods pending' }],
      },
    ]);
    expect(parseLabCommand(text)).toEqual({ ok: true, command: { kind: 'help-me', text: 'pods pending' } });
  });

  it('more time for one learner', () => {
    const text = commandText(
      group('extend', [
        { name: 'minutes', type: ApplicationCommandOptionType.Integer, value: 15 },
        { name: 'learner', type: ApplicationCommandOptionType.User, value: '310000000000000101' },
      ]),
    );
    expect(parseLabCommand(text)).toEqual({
      ok: true,
      command: { kind: 'class-extend', learner: '310000000000000101', minutes: 15 },
    });
  });

  it('a broadcast keeps its words', () => {
    const text = commandText(
      group('say', [{ name: 'text', type: ApplicationCommandOptionType.String, value: 'step 2 now: open the README' }]),
    );
    expect(parseLabCommand(text)).toEqual({
      ok: true,
      command: { kind: 'class-say', text: 'step 2 now: open the README' },
    });
  });
});
