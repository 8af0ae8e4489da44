import { PassThrough, type Readable, type Writable } from 'node:stream';
import { createTerminalChatAdapter } from '@labbot/chat-terminal';
import { type ChatApp, startChatApp } from '@labbot/commands';
import { createLogger, type LabbotConfig } from '@labbot/config';
import { hasLabSettled, type LabRecord } from '@labbot/core';
import { type Runner, type RunnerTuning, startRunner } from '@labbot/runner';

export interface LocalChatOptions {
  config: LabbotConfig;
  input: Readable;
  output: Writable;
  /** A terminal: prompt and redraw. Otherwise lines are read from the input and messages printed as text. */
  interactive: boolean;
  /** Start the lab runner in this process (the embedded defaults); off when a runner runs elsewhere. */
  embeddedRunner: boolean;
  /** Give up after this many seconds (non-interactive), exit code 1. */
  timeoutSeconds?: number;
  /**
   * Lines typed one after another, each once the labs settled (the demo's script); a group of lines is typed at
   * once (e.g. a class's learners pressing Join together). The input is not read.
   */
  script?: (string | string[])[];
  userId?: string;
  /** The local user is an instructor (class commands); default true. Lines `as ann: ...` play learners. */
  instructor?: boolean;
  runnerTuning?: RunnerTuning;
}

/**
 * `labbot chat` and `labbot demo`: the local chat on the terminal adapter, the chat service, and
 * (by default) the runner in the same process. Resolves with the exit code.
 */
export async function runLocalChat(options: LocalChatOptions): Promise<number> {
  const { config } = options;
  // Logs go to stderr so that the chat owns stdout.
  const logger = createLogger({
    name: 'labbot',
    level: options.interactive ? 'warn' : config.logLevel === 'info' ? 'warn' : config.logLevel,
    destination: process.stderr,
  });
  const startedAt = Date.now();
  const userId = options.userId ?? process.env.USER ?? 'you';
  let inputEnded = false;
  const input = options.script ? new PassThrough() : options.input;
  const adapter = createTerminalChatAdapter({
    input,
    output: options.output,
    interactive: options.interactive,
    userId,
    roles: options.instructor === false ? [] : ['instructor'],
    onInputEnd: () => {
      inputEnded = true;
    },
  });

  const app: ChatApp = await startChatApp({
    adapter,
    redisUrl: config.redisUrl,
    lessonsDir: config.lessonsDir,
    instructorRoles: ['instructor', ...config.instructors.roles],
    limits: config.limits,
    classes: { limits: config.classes, adminRoles: config.admins.roles },
    logger,
  });
  const { store, service } = app;
  let runner: Runner | undefined;
  if (options.embeddedRunner) {
    try {
      runner = await startRunner(config, {
        logger,
        lessons: app.lessons,
        ...(options.runnerTuning ? { tuning: options.runnerTuning } : {}),
      });
      await runner.ready;
    } catch (error) {
      // Nothing may keep the process alive after a failed start (a bad kubeconfig, Redis down...).
      await app.close();
      throw error;
    }
  }

  /** The labs this session touched: local ones (this user's, or learners played with `as <name>:`) changed since it started. */
  const touched = async () =>
    (await store.listAll()).filter(
      (lab) =>
        lab.owner.platform === 'local' &&
        lab.owner.workspaceId === 'local' &&
        Date.parse(lab.updatedAt) >= startedAt &&
        (lab.owner.userId === userId || lab.classId !== undefined),
    );
  /**
   * Settled, and the thread shows it (the outbox has delivered the final status): its title and its step lines, which
   * carry no ages. The title alone is not enough: a lab is ready before its container's output is in, and the status
   * that adds the output has the same title.
   */
  const shown = (lab: LabRecord) => {
    if (!lab.threadId) return true;
    const status = service.bot.renderStatus(lab);
    const steps = status.blocks?.[0]?.kind === 'text' ? status.blocks[0].text : '';
    const text = adapter.threadTexts(lab.threadId)[0] ?? '';
    return text.startsWith(status.title ?? '') && text.includes(steps);
  };
  const allSettled = async () => (await touched()).every((lab) => hasLabSettled(lab) && shown(lab));

  const deadline = options.timeoutSeconds ? startedAt + options.timeoutSeconds * 1000 : Number.POSITIVE_INFINITY;
  const waitUntil = async (done: () => Promise<boolean>): Promise<boolean> => {
    while (Date.now() < deadline) {
      if (await done()) return true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    return false;
  };

  let code = 0;
  try {
    if (options.script) {
      for (const step of options.script) {
        const lines = typeof step === 'string' ? [step] : step;
        for (const line of lines) options.output.write(`lab> ${line}\n`);
        await Promise.all(lines.map((line) => adapter.handleLine(line)));
        // Let the command's first effects arrive before waiting for the labs to settle.
        await new Promise((resolve) => setTimeout(resolve, 500));
        if (!(await waitUntil(allSettled))) {
          code = 1;
          break;
        }
      }
    } else if (options.interactive) {
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (inputEnded) {
            clearInterval(timer);
            resolve();
          }
        }, 200);
      });
    } else {
      if (!(await waitUntil(async () => inputEnded && (await allSettled())))) code = 1;
    }
    if (code !== 0) {
      const pending = (await touched())
        .filter((lab) => !hasLabSettled(lab))
        .map((lab) => `${lab.lessonId} (${lab.observed.phase})`);
      options.output.write(
        `Timed out after ${options.timeoutSeconds} s; still in progress: ${pending.join(', ') || 'the last status update'}\n`,
      );
    }
  } finally {
    await app.close();
    await runner?.stop();
  }
  return code;
}
