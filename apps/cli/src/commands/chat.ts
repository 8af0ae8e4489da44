import { loadConfigOrExit } from '@labbot/config';
import type { Command } from 'commander';
import { runLocalChat } from '../local-chat.js';

const seconds = (value: string) => {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error('--timeout takes a number of seconds');
  return parsed;
};

export function registerChatCommands(program: Command): void {
  program
    .command('chat')
    .description('the local chat: type /lab commands; each lab thread is shown as it changes')
    .option('--timeout <seconds>', 'when reading a pipe: give up (exit 1) after this many seconds', seconds)
    .option('--no-runner', 'do not start the lab runner in this process (one runs elsewhere)')
    .option(
      '--no-instructor',
      'type as a learner (by default you are the instructor; `as ann: /lab ...` plays learners)',
    )
    .action(async (options: { timeout?: number; runner: boolean; instructor: boolean }) => {
      process.exitCode = await runLocalChat({
        instructor: options.instructor,
        config: loadConfigOrExit(),
        input: process.stdin,
        output: process.stdout,
        interactive: Boolean(process.stdin.isTTY),
        embeddedRunner: options.runner,
        ...(options.timeout ? { timeoutSeconds: options.timeout } : {}),
      });
    });

  program
    .command('demo')
    .description('the first lesson end to end on this machine: start the lab, watch it, stop it')
    .option('--lesson <id>', 'the lesson to run', 'docker-vs-kubernetes')
    .option('--timeout <seconds>', 'give up (exit 1) after this many seconds', seconds, 300)
    .option('--keep', 'leave the lab running at the end')
    .option('--class [learners]', 'a class instead: you start it, N learners (default 5) join, status, end', (value) =>
      Number(value),
    )
    .action(async (options: { lesson: string; timeout: number; keep?: boolean; class?: number | boolean }) => {
      const learners = options.class === undefined ? 0 : options.class === true ? 5 : Number(options.class);
      if (options.class !== undefined && !(Number.isInteger(learners) && learners >= 1 && learners <= 50)) {
        throw new Error('--class takes a number of learners from 1 to 50');
      }
      const names = ['ann', 'ben', 'cleo', 'dev', 'eli', 'fay', 'gus', 'hana', 'ivo', 'jo'];
      const script =
        learners > 0
          ? [
              `/lab class start ${options.lesson}`,
              // The learners press Join together, as in a classroom.
              Array.from(
                { length: learners },
                (_, i) => `as ${names[i % names.length]}${i >= names.length ? i + 1 : ''}: /lab class join`,
              ),
              '/lab class status',
              '/lab class export',
              ...(options.keep ? [] : ['/lab class end']),
            ]
          : [`/lab start ${options.lesson}`, ...(options.keep ? [] : ['/lab stop'])];
      process.exitCode = await runLocalChat({
        config: loadConfigOrExit(),
        input: process.stdin,
        output: process.stdout,
        interactive: false,
        embeddedRunner: true,
        timeoutSeconds: options.timeout,
        script,
      });
    });
}
