// /lab build on Slack: the files form (a modal with the Dockerfile and up to 3 small files), opened with views.open,
// checked with zod when submitted (a bad field is shown in the still-open form), and handed on as the command's files.
import { join } from 'node:path';
import type { IncomingCommand } from '@labbot/chat';
import { BUILD_FILES_REQUEST } from '@labbot/commands';
import { checkView, type JsonObject, type SlackDriver, type SlackSim } from '@labbot/slack-sim';
import { expectGolden, waitForValue } from '@labbot/test-support';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderFilesModal } from './cards.js';
import { type AdapterOnSim, startAdapterOnSim } from './testing/adapter-on-sim.js';

const CHANNEL = 'C0LABS0001';
const ADA = 'U0LEARNER1';
const golden = join(import.meta.dirname, '__golden__', 'build-modal.golden.json');

let sim: SlackSim;
let driver: SlackDriver;
let running: AdapterOnSim;
const commands: IncomingCommand[] = [];
const decode = (content: Uint8Array) => Buffer.from(content).toString('utf8');

beforeEach(async () => {
  commands.length = 0;
  running = await startAdapterOnSim({
    onCommand: async (command) => {
      commands.push(command);
      // What the bot does for a /lab build without files, where the chat has forms.
      if (command.text === 'build' && !command.attachments) await command.respond.requestFiles?.(BUILD_FILES_REQUEST);
      else
        await command.respond.reply({ blocks: [{ kind: 'text', text: `got ${command.attachments?.length} files` }] });
    },
    onAction: async () => {},
  });
  ({ sim, driver } = running);
});

afterEach(async () => {
  expect(await running.stop()).toEqual([]);
});

/** Waits for the answer to the status command, so no handler is still at work when the sim stops. */
async function statusAnswered(): Promise<void> {
  await waitForValue(
    'the answer to status',
    () => sim.responsePosts.map((post) => JSON.stringify(post.body)),
    (posts) => posts.some((post) => post.includes('got undefined files')),
  );
}

/** Types /lab build and returns the modal the adapter opened. */
async function openBuildForm(): Promise<JsonObject> {
  const before = sim.views.length;
  const answer = await driver.slashCommand({ text: 'build', userId: ADA, channelId: CHANNEL });
  expect(answer.status).toBe(200);
  const [view] = await waitForValue(
    'the build form',
    () => sim.views.slice(before),
    (views) => views.length === 1,
  );
  return view as JsonObject;
}

const submit = (view: JsonObject, fields: Record<string, string>) =>
  driver.viewSubmission({
    view,
    userId: ADA,
    values: Object.fromEntries(Object.entries(fields).map(([block, value]) => [block, { [block]: value }])),
  });

describe('the /lab build form on Slack', () => {
  it('is a modal with the Dockerfile and three optional files, as in the golden file, and Slack accepts it', () => {
    const view = renderFilesModal(
      BUILD_FILES_REQUEST,
      '{"command":"build","team":"T0LABBOT01","channel":"C0LABS0001","responseUrl":"https://hooks.slack.com/x","mainPath":"Dockerfile","extraFiles":3}',
    );
    expectGolden(golden, view);
    expect(checkView(view)).toEqual([]);
  });

  it("opens on /lab build and hands the submitted files to the bot as the command's files", async () => {
    const view = await openBuildForm();
    expect(view['callback_id']).toBe('labbot_files');
    const dockerfile = 'FROM labbot/busybox:1\nCOPY hello.sh /app/hello.sh\nCMD ["/bin/sh", "/app/hello.sh"]\n';
    const answer = await submit(view, {
      file_main: dockerfile,
      file_1_name: 'hello.sh',
      file_1_content: 'echo hello\n',
      file_2_name: ' app/www/index.html ',
      file_2_content: '<h1>hi</h1>',
    });
    // Acknowledged with an empty body: the form closes.
    expect(answer).toMatchObject({ status: 200, body: undefined });
    const built = await waitForValue(
      'the build command',
      () => commands.find((command) => command.attachments),
      (command) => command !== undefined,
    );
    expect(built?.text).toBe('build');
    expect(built?.actor).toEqual({ platform: 'slack', workspaceId: sim.teamId, userId: ADA, roles: [] });
    expect(built?.conversation).toMatchObject({ platform: 'slack', workspaceId: sim.teamId, channelId: CHANNEL });
    expect(built?.attachments?.map((file) => [file.path, decode(file.content)])).toEqual([
      ['Dockerfile', dockerfile],
      ['hello.sh', 'echo hello\n'],
      ['app/www/index.html', '<h1>hi</h1>'],
    ]);
    // The answer goes to the slash command's response_url (a form has none of its own).
    const posted = await waitForValue(
      'the answer',
      () => sim.responsePosts.map((post) => JSON.stringify(post.body)),
      (posts) => posts.some((post) => post.includes('got 3 files')),
    );
    expect(posted.filter((post) => post.includes('got 3 files'))).toHaveLength(1);
  });

  it('keeps the form open with a sentence at each bad field, and the bot gets nothing', async () => {
    const view = await openBuildForm();
    const answer = await submit(view, {
      file_main: '   ',
      file_1_name: '../../etc/passwd',
      file_1_content: 'root::0:0',
      file_2_name: '',
      file_2_content: 'a file with no name',
      file_3_name: 'Dockerfile',
      file_3_content: 'FROM scratch',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      response_action: 'errors',
      errors: {
        file_main: 'Write your Dockerfile here.',
        file_1_name: 'A file name cannot contain "." or ".." as a folder: it must stay inside the build folder.',
        file_2_name: 'Give this file a name (the path your COPY uses), or empty its content.',
        file_3_name: '"Dockerfile" is already one of the files.',
      },
    });
    for (const error of Object.values((answer.body as { errors: Record<string, string> }).errors)) {
      expect(error.length).toBeLessThan(200);
    }
    // A valid command afterwards arrives alone: the refused form never reached the bot.
    await driver.slashCommand({ text: 'status', userId: ADA, channelId: CHANNEL });
    await waitForValue(
      'the status command',
      () => commands.map((command) => command.text),
      (texts) => texts.includes('status'),
    );
    expect(commands.map((command) => command.text)).toEqual(['build', 'status']);
    await statusAnswered();
  });

  it('ignores a form whose context was tampered with (a response_url that is not http)', async () => {
    const view = await openBuildForm();
    const forged = {
      ...view,
      private_metadata: JSON.stringify({
        command: 'build',
        team: 'T1',
        channel: 'C1',
        responseUrl: 'file:///etc/passwd',
      }),
    };
    const answer = await submit(forged, { file_main: 'FROM labbot/busybox:1\n' });
    expect(answer.status).toBe(200);
    await driver.slashCommand({ text: 'status', userId: ADA, channelId: CHANNEL });
    await waitForValue(
      'the status command',
      () => commands.map((command) => command.text),
      (texts) => texts.includes('status'),
    );
    expect(commands.map((command) => command.text)).toEqual(['build', 'status']);
    await statusAnswered();
  });
});
