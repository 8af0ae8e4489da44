// The instructor's side of a class e2e test or bench: a local (terminal) chat with class commands on a lab harness.
import { PassThrough } from 'node:stream';
import { TerminalChatAdapter } from '@labbot/chat-terminal';
import { type ChatService, startChatService } from '@labbot/commands';
import { createLogger } from '@labbot/config';
import type { ClassLimits } from '@labbot/core';
import type { LabHarness } from './harness.js';

/** The channel of the local chat, where a class's board lives. */
export const LOCAL_BOARD_THREAD = 'local:local:terminal:terminal';

type TerminalOptions = ConstructorParameters<typeof TerminalChatAdapter>[0];

export interface ClassChatOptions<Adapter extends TerminalChatAdapter = TerminalChatAdapter> {
  /** The chat's logger name (the test file or bench); the level is LABBOT_TEST_LOG (silent by default). */
  name: string;
  /** The class limits of this chat process (default: the harness config's). */
  classes?: ClassLimits;
  /** At most one board edit per this time (default 300 ms, so tests see the board move). */
  boardIntervalMs?: number;
  /** At most one edit per thread per this time (default 100 ms). */
  minEditIntervalMs?: number;
  /** The log level (default LABBOT_TEST_LOG, else silent). */
  logLevel?: string;
  /** Builds the adapter (e.g. a bench's counting subclass); default a plain terminal adapter. */
  adapter?: (options: TerminalOptions) => Adapter;
}

export interface ClassChat<Adapter extends TerminalChatAdapter = TerminalChatAdapter> {
  /** The terminal adapter on pipes; its local user is `teacher` with the `instructor` role. */
  adapter: Adapter;
  service: ChatService;
  /** Types a line as the teacher (`as <user>: ...` types it as a learner) and waits until it is handled. */
  say(line: string): Promise<void>;
  /** The newest text in the channel (command answers). */
  lastChannelText(): string;
  /** The texts of the class board (the channel's thread), oldest first. */
  boardTexts(): string[];
  stop(): Promise<void>;
}

/** Starts the chat service with class commands on a terminal adapter whose user is an instructor. */
export async function startClassChat<Adapter extends TerminalChatAdapter = TerminalChatAdapter>(
  harness: LabHarness,
  options: ClassChatOptions<Adapter>,
): Promise<ClassChat<Adapter>> {
  const output = new PassThrough();
  output.resume();
  const terminal: TerminalOptions = { input: new PassThrough(), output, userId: 'teacher', roles: ['instructor'] };
  const adapter = options.adapter ? options.adapter(terminal) : (new TerminalChatAdapter(terminal) as Adapter);
  const service = await startChatService({
    adapter,
    redis: harness.redis,
    store: harness.store,
    lessons: harness.lessons,
    instructorRoles: ['instructor'],
    limits: harness.config.limits,
    classes: {
      limits: options.classes ?? harness.config.classes,
      boardIntervalMs: options.boardIntervalMs ?? 300,
    },
    logger: createLogger({ name: options.name, level: options.logLevel ?? process.env.LABBOT_TEST_LOG ?? 'silent' }),
    minEditIntervalMs: options.minEditIntervalMs ?? 100,
  });
  return {
    adapter,
    service,
    say: (line) => adapter.handleLine(line),
    lastChannelText: () => adapter.channelTexts().at(-1) ?? '',
    boardTexts: () => adapter.threadTexts(LOCAL_BOARD_THREAD),
    stop: () => service.stop(),
  };
}
