import { Command } from 'commander';
import { registerChatCommands } from './commands/chat.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerLessonCommand } from './commands/lesson.js';
import { registerSimCommand } from './commands/sim.js';

/** Builds the `labbot` command line; every subcommand lives in its own file under commands/. */
export function createProgram(): Command {
  const program = new Command('labbot').description('labbot: Docker and Kubernetes labs in chat').showHelpAfterError();
  registerChatCommands(program);
  registerDoctorCommand(program);
  registerLessonCommand(program);
  registerSimCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
