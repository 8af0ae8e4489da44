import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkView } from '@labbot/slack-sim';
import { describe, expect, it } from 'vitest';
import { renderDocumentModal } from './cards.js';

// The exact view JSON views.open sends for `/lab apply` (UPDATE_GOLDEN=1 rewrites it after a deliberate change).
const file = join(import.meta.dirname, '__golden__', 'apply-modal.golden.json');

describe('the document form of /lab apply', () => {
  it('is a modal with one multi-line input, as in the golden file, and Slack accepts it', () => {
    const view = renderDocumentModal(
      {
        title: 'Apply a manifest',
        label: 'Your Deployment, Service or ConfigMap (YAML)',
        placeholder: 'apiVersion: apps/v1\nkind: Deployment\n...',
      },
      '{"command":"apply","team":"T0LABBOT01","channel":"C0LABS0001","responseUrl":"https://hooks.slack.com/x"}',
    );
    const json = `${JSON.stringify(view, null, 2)}\n`;
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
      if (process.env.CI)
        throw new Error('golden file apply-modal is missing (run with UPDATE_GOLDEN=1 and commit it)');
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, json);
    }
    expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    expect(checkView(view)).toEqual([]);
  });
});
