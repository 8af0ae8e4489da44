import { loadConfigOrExit } from '@labbot/config';
import { createQueues } from '@labbot/queue';
import { createLabStore } from '@labbot/store';
import type { Command } from 'commander';
import { Redis } from 'ioredis';

const minutesLeft = (expiresAt: string) => Math.round((Date.parse(expiresAt) - Date.now()) / 60_000);

/** `labbot labs list|clean`: what operators need to see and tidy every lab. */
export function registerLabsCommand(program: Command): void {
  const labs = program.command('labs').description('operators: every lab of this labbot');

  labs
    .command('list')
    .description('list every lab: owner, lesson, phase, expiry')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const redis = new Redis(loadConfigOrExit().redisUrl, { maxRetriesPerRequest: 1 });
      try {
        const all = await createLabStore({ redis }).listAll();
        if (options.json) {
          console.log(JSON.stringify(all, null, 2));
          return;
        }
        if (all.length === 0) {
          console.log('No labs.');
          return;
        }
        const rows = all
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
          .map((lab) => [
            lab.labId,
            `${lab.owner.platform}:${lab.owner.userId}`,
            lab.lessonId + (lab.variant ? `/${lab.variant}` : ''),
            lab.desired.state,
            lab.observed.phase,
            `${lab.observed.pods.filter((pod) => pod.ready).length}/${lab.observed.desiredReplicas ?? '-'}`,
            lab.desired.state === 'running' ? `${minutesLeft(lab.expiresAt)}m` : '-',
          ]);
        const header = ['LAB', 'OWNER', 'LESSON', 'DESIRED', 'PHASE', 'READY', 'EXPIRES'];
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
        for (const row of [header, ...rows])
          console.log(
            row
              .map((cell, i) => cell.padEnd(widths[i] ?? 0))
              .join('  ')
              .trimEnd(),
          );
      } finally {
        redis.disconnect();
      }
    });

  labs
    .command('clean')
    .description('forget stopped labs; with --all, first stop every running lab (a runner tears them down)')
    .option('--all', 'stop every running lab too')
    .option('--timeout <seconds>', 'how long to wait for the runner to stop them', '120')
    .action(async (options: { all?: boolean; timeout: string }) => {
      const config = loadConfigOrExit();
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
      const store = createLabStore({ redis });
      const queues = createQueues({ connection: redis });
      try {
        if (options.all) {
          const running = (await store.listAll()).filter((lab) => lab.desired.state === 'running');
          for (const lab of running) {
            await store.update(
              lab.labId,
              (current) => ({ ...current, desired: { ...current.desired, state: 'stopped' } }),
              {
                audit: { actor: 'operator', action: 'desired.stopped', detail: { reason: 'labs clean --all' } },
              },
            );
            await queues.enqueueReconcile(lab.labId, 'operator.clean');
          }
          const deadline = Date.now() + Number(options.timeout) * 1000;
          let pending = running.length;
          while (pending > 0 && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 500));
            pending = (await store.listAll()).filter(
              (lab) => lab.desired.state === 'stopped' && lab.observed.phase !== 'stopped',
            ).length;
          }
          if (pending > 0) {
            console.log(
              `${pending} lab(s) are still stopping: is a runner running? (labbot chat starts one, or apps/runner)`,
            );
            process.exitCode = 1;
          }
        }
        let removed = 0;
        for (const lab of await store.listAll()) {
          if (lab.observed.phase === 'stopped' && (await store.delete(lab.labId, { actor: 'operator' }))) removed++;
        }
        console.log(`Removed ${removed} stopped lab record(s).`);
      } finally {
        await queues.close();
        redis.disconnect();
      }
    });
}
