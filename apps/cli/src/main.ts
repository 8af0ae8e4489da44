import { Command } from 'commander';
import { registerDoctorCommand } from './commands/doctor.js';

/** Builds the `labbot` command line; every subcommand lives in its own file under commands/. */
export function createProgram(): Command {
  const program = new Command('labbot').description('labbot: Docker and Kubernetes labs in chat').showHelpAfterError();
  registerDoctorCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await createProgram().parseAsync(argv);
}
