import { join } from 'node:path';
import { parseLabCommand } from '@labbot/core';
import { bulkCommandsSchema, interactionCallbackSchema } from '@labbot/discord-sim';
import { expectGolden } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';
import { renderDocumentModal } from './cards.js';
import { commandText, LAB_COMMAND } from './lab-command.js';

const GOLDEN_DIR = join(import.meta.dirname, '__golden__');

/** Compares with src/__golden__/<name>.golden.json (UPDATE_GOLDEN=1 rewrites it; review the diff). */
const expectGoldenPayload = (name: string, value: unknown) =>
  expectGolden(join(GOLDEN_DIR, `${name}.golden.json`), value);

describe('/lab apply on Discord', () => {
  it('registers an apply subcommand whose manifest is an optional attachment, and Discord accepts the command', () => {
    const apply = LAB_COMMAND.options?.find((option) => option.name === 'apply');
    expect(apply).toMatchObject({ type: 1, options: [{ type: 11, name: 'manifest', required: false }] });
    expect(bulkCommandsSchema.safeParse([LAB_COMMAND]).success).toBe(true);
  });

  it('turns an interaction with an attachment into the plain command (the file travels as a document)', () => {
    const text = commandText([
      { name: 'apply', type: 1, options: [{ name: 'manifest', type: 11, value: '1234567890123456789' }] },
    ]);
    expect(text).toBe('apply');
    expect(parseLabCommand(text)).toEqual({ ok: true, command: { kind: 'apply' } });
  });

  it('asks for the manifest in a modal with a paragraph field, as in the golden file', () => {
    const modal = renderDocumentModal({
      title: 'Apply a manifest',
      label: 'Your Deployment, Service or ConfigMap (YAML)',
      placeholder: 'apiVersion: apps/v1\nkind: Deployment\n...',
      commandText: 'apply',
    });
    expectGoldenPayload('apply-modal', { type: 9, data: modal });
    expect(interactionCallbackSchema.safeParse({ type: 9, data: modal }).success).toBe(true);
  });
});
