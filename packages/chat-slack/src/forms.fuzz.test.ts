// Hostile input (issue #13), property-based with fast-check: Slack modal payloads (view_submission of the /lab build
// files form and the /lab apply document form) and button payloads (block_actions), sent signed to the real Bolt app
// by slack-sim's driver. 1,000+ cases each: the adapter answers every request, hands the bot only files with safe
// paths and only our buttons, and every error it shows in a form is one short line.
import type { IncomingAction, IncomingCommand } from '@labbot/chat';
import type { JsonObject, SlackDriver } from '@labbot/slack-sim';
import { refusalProblem } from '@labbot/test-support';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FormContextSchema, readFilesForm } from './files-form.js';
import { type AdapterOnSim, startAdapterOnSim } from './testing/adapter-on-sim.js';

const RUNS = Number(process.env.LABBOT_FUZZ_RUNS ?? 1000);
// A thousand signed HTTP requests take a while on a loaded machine.
const FUZZ_TIMEOUT_MS = 300_000;
const CHANNEL = 'C0LABS0001';

let driver: SlackDriver;
let running: AdapterOnSim | undefined;
const commands: IncomingCommand[] = [];
const actions: IncomingAction[] = [];

beforeAll(async () => {
  running = await startAdapterOnSim({
    onCommand: async (command) => {
      commands.push(command);
    },
    onAction: async (action) => {
      actions.push(action);
    },
  });
  ({ driver } = running);
});

afterAll(async () => {
  await running?.stop();
});

const FIELDS = [
  'file_main',
  'file_1_name',
  'file_1_content',
  'file_2_name',
  'file_2_content',
  'file_3_name',
  'file_3_content',
  'document',
  '__proto__',
  'constructor',
];
const NAMES = [
  'hello.sh',
  'app/www/index.html',
  '../x',
  '/etc/passwd',
  'a/../../b',
  './x',
  'Dockerfile',
  'dockerfile',
  'C:\\x',
  'a\\b',
  '.',
  '..',
  '',
  ' ',
  'x'.repeat(150),
  'a b',
  '~/.ssh/id_rsa',
  '\u0000',
  '🙂',
];
const fieldValue = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.string({ maxLength: 200 }),
  fc.string({ minLength: 2990, maxLength: 3100 }),
);
const values = fc.dictionary(fc.constantFrom(...FIELDS), fieldValue, { maxKeys: 8 });
const context = fc.record({
  command: fc.constantFrom('build', 'apply', 'class end', 'stop', ''),
  team: fc.constantFrom('T0LABBOT01', 'T0OTHER001', ''),
  channel: fc.constantFrom(CHANNEL, 'C0OTHER001', ''),
  responseUrl: fc.constantFrom(
    'https://hooks.slack.com/x',
    'file:///etc/passwd',
    'javascript:alert(1)',
    'http://127.0.0.1:9/x',
    'not a url',
  ),
  mainPath: fc.constantFrom('Dockerfile', '../Dockerfile', undefined),
  extraFiles: fc.constantFrom(0, 3, 5, 6, -1, 1000, undefined),
});

/** A file path the bot may receive: relative, inside the build folder. */
function safePath(path: string): boolean {
  return (
    !path.startsWith('/') &&
    !path.includes('\\') &&
    !path.split('/').some((part) => part === '..' || part === '.' || part === '')
  );
}

describe('Slack form payloads, fuzzed', () => {
  it(
    'reading a files form never throws: safe files, or one short sentence per bad field',
    () => {
      fc.assert(
        fc.property(values, context, (fields, raw) => {
          const parsed = FormContextSchema.safeParse(raw);
          if (!parsed.success) return;
          const shaped = Object.fromEntries(
            Object.entries(fields).map(([block, value]) => [block, { [block]: { value } }]),
          );
          const read = readFilesForm(shaped, parsed.data);
          if (read.ok) {
            for (const file of read.files) expect(safePath(file.path), file.path).toBe(true);
          } else {
            for (const message of Object.values(read.errors)) expect(refusalProblem(message), message).toBeUndefined();
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'signed view submissions with any callback, context and fields: answered, and only safe files reach the bot',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          // Only our two forms: Bolt leaves a view nobody listens to unanswered until its own timeout.
          fc.constantFrom('labbot_files', 'labbot_document'),
          fc.oneof(
            // Over HTTP only loopback answer URLs: a form the adapter accepts is answered there.
            context.map((c) =>
              JSON.stringify({
                ...c,
                responseUrl: c.responseUrl.replace('https://hooks.slack.com/x', 'http://127.0.0.1:9/x'),
              }),
            ),
            fc.string({ maxLength: 100 }),
            fc.constant('{"__proto__":{"x":1}}'),
          ),
          values,
          async (callbackId, metadata, fields) => {
            const before = commands.length;
            const answer = await driver.viewSubmission({
              view: {
                id: 'V0FUZZ',
                type: 'modal',
                callback_id: callbackId,
                private_metadata: metadata,
                blocks: [],
              } as JsonObject,
              userId: 'U0FUZZ0001',
              values: Object.fromEntries(Object.entries(fields).map(([block, value]) => [block, { [block]: value }])),
            });
            expect(answer.status).toBe(200);
            const body = answer.body as { response_action?: string; errors?: Record<string, string> } | undefined;
            if (body?.response_action === 'errors') {
              for (const message of Object.values(body.errors ?? {}))
                expect(refusalProblem(message), message).toBeUndefined();
            }
            for (const command of commands.slice(before)) {
              for (const file of command.attachments ?? []) expect(safePath(file.path), file.path).toBe(true);
              expect(command.text.length).toBeLessThanOrEqual(500);
            }
          },
        ),
        { numRuns: RUNS },
      );
      // The adapter still works after all of it.
      const alive = await driver.slashCommand({ text: 'status', userId: 'U0FUZZ0001', channelId: CHANNEL });
      expect(alive.status).toBe(200);
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'signed button presses with any action id and value: answered, and only our buttons reach the bot',
    async () => {
      const actionId = fc.oneof(
        fc.string({ maxLength: 120 }),
        fc
          .tuple(fc.constantFrom('status', 'stop', 'reset', 'check', 'join', 'exec', ''), fc.string({ maxLength: 70 }))
          .map(([a, t]) => `lab:${a}:${t}`),
      );
      await fc.assert(
        fc.asyncProperty(actionId, fc.string({ maxLength: 100 }), async (id, value) => {
          const before = actions.length;
          const answer = await driver.blockAction({
            actionId: id,
            value,
            userId: 'U0FUZZ0001',
            channelId: CHANNEL,
            messageTs: '1.000001',
          });
          expect(answer.status).toBe(200);
          for (const action of actions.slice(before)) {
            expect(['status', 'stop', 'reset', 'check', 'join']).toContain(action.action);
            expect(action.target).toMatch(/^[a-z0-9-]{1,64}$/);
          }
        }),
        { numRuns: RUNS },
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
