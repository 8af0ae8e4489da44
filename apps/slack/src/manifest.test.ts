import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

interface Manifest {
  features: { slash_commands: { command: string; url?: string; should_escape?: boolean }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url?: string }; socket_mode_enabled: boolean };
}

const read = (name: string) => parse(readFileSync(join(import.meta.dirname, '..', name), 'utf8')) as Manifest;

// The Web API methods the Slack adapter calls, and the bot scope each needs (api.slack.com/methods).
const scopeOfMethod: Record<string, string> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'conversations.replies': 'channels:history',
};

describe('the Slack app manifests', () => {
  for (const [file, socketMode] of [
    ['manifest.yaml', false],
    ['manifest.socket-mode.yaml', true],
  ] as const) {
    it(`${file}: /lab, the scopes the adapter needs, and ${socketMode ? 'Socket Mode' : 'the receiver path'}`, () => {
      const manifest = read(file);
      const [command] = manifest.features.slash_commands;
      expect(command?.command).toBe('/lab');
      // The adapter reads the text as typed (no <@U…> escaping of user names).
      expect(command?.should_escape).toBe(false);
      const scopes = manifest.oauth_config.scopes.bot;
      expect(scopes).toContain('commands');
      for (const [method, scope] of Object.entries(scopeOfMethod)) expect(scopes, method).toContain(scope);
      expect(manifest.settings.interactivity.is_enabled).toBe(true);
      expect(manifest.settings.socket_mode_enabled).toBe(socketMode);
      if (socketMode) {
        expect(command?.url).toBeUndefined();
        expect(manifest.settings.interactivity.request_url).toBeUndefined();
      } else {
        // Slash commands and button presses both go to the Bolt HTTP receiver's one endpoint.
        expect(new URL(command?.url ?? '').pathname).toBe('/slack/events');
        expect(new URL(manifest.settings.interactivity.request_url ?? '').pathname).toBe('/slack/events');
        expect(new URL(command?.url ?? '').protocol).toBe('https:');
      }
    });
  }
});
