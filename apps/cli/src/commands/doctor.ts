import { loadConfigOrExit } from '@labbot/config';
import type { Command } from 'commander';
import { formatFindings, runDoctor } from '../doctor.js';

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check Node, Redis, Docker, the registry, the cluster and chat credentials')
    .action(async () => {
      const findings = await runDoctor(loadConfigOrExit());
      console.log(formatFindings(findings));
      process.exitCode = findings.some((f) => f.status === 'fail') ? 1 : 0;
    });
}
