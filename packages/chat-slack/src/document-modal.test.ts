import { join } from 'node:path';
import { checkView } from '@labbot/slack-sim';
import { expectGolden } from '@labbot/test-support';
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
    expectGolden(file, view);
    expect(checkView(view)).toEqual([]);
  });
});
