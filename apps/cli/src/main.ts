import { LabbotError } from '@labbot/core';
import { Command } from 'commander';
import { registerChatCommands } from './commands/chat.js';
import { registerClassCommand } from './commands/class.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerLabsCommand } from './commands/labs.js';
import { registerLessonCommand } from './commands/lesson.js';
import { registerSimCommand } from './commands/sim.js';

/** Builds the `labbot` command line; every subcommand lives in its own file under commands/. */
export function createProgram(): Command {
  const program = new Command('labbot').description('labbot: Docker and Kubernetes labs in chat').showHelpAfterError();
  registerChatCommands(program);
  registerClassCommand(program);
  registerDoctorCommand(program);
  registerLabsCommand(program);
  registerLessonCommand(program);
  registerSimCommand(program);
  return program;
}

/**
 * Runs the CLI; a failure prints one line (LABBOT_DEBUG=1 adds the stack) and sets exit code 1.
 * @public bin/labbot.js calls it (through dist, which knip does not follow).
 */
export async function main(argv: string[]): Promise<void> {
  try {
    await createProgram().parseAsync(argv);
  } catch (error) {
    const message =
      error instanceof LabbotError
        ? (error.userMessage ?? error.message)
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`labbot: ${message}\n`);
    if (process.env.LABBOT_DEBUG) console.error(error);
    process.exitCode = 1;
  }
}
