import { type KubeSimOptions, startKubeSim } from '@labbot/kube-sim';
import type { Command } from 'commander';
import { z } from 'zod';

/** Milliseconds given on the command line: a whole number from 0 up to `max`. */
const millis = (flag: string, max: number) =>
  z.coerce
    .number({ error: `${flag} must be a number of milliseconds` })
    .int(`${flag} must be a whole number of milliseconds`)
    .min(0, `${flag} must not be negative`)
    .max(max, `${flag} must be at most ${max}`);

/** The options of `labbot sim` as commander hands them over (strings), checked and turned into kube-sim's. */
export const SimOptionsSchema = z.object({
  port: z.coerce
    .number({ error: '--port must be a port number' })
    .int('--port must be a port number')
    .min(0, '--port must be a port number (0 to 65535)')
    .max(65_535, '--port must be a port number (0 to 65535)'),
  kubeconfig: z.string().min(1, '--kubeconfig must be a path'),
  kubelet: z.enum(['docker', 'virtual'], { error: '--kubelet must be docker or virtual' }),
  backoffBaseMs: millis('--backoff-base-ms', 600_000).optional(),
  relistDelayMs: millis('--relist-delay-ms', 60_000).optional(),
});

export type SimOptions = z.infer<typeof SimOptionsSchema>;

/** Checks the options of `labbot sim`: the options, or the first problem as one sentence. */
export function parseSimOptions(raw: unknown): { ok: true; options: SimOptions } | { ok: false; error: string } {
  const parsed = SimOptionsSchema.safeParse(raw);
  if (parsed.success) return { ok: true, options: parsed.data };
  return { ok: false, error: parsed.error.issues[0]?.message ?? 'invalid options' };
}

/** kube-sim's options from checked `labbot sim` options. */
export function kubeSimOptionsOf(options: SimOptions, registry?: string): KubeSimOptions {
  return {
    port: options.port,
    kubelet: options.kubelet,
    ...(options.backoffBaseMs !== undefined ? { backoffBaseMs: options.backoffBaseMs } : {}),
    ...(options.relistDelayMs !== undefined ? { relistDelayMs: options.relistDelayMs } : {}),
    ...(registry ? { registry } : {}),
  };
}

/** `labbot sim`: serves the Kubernetes API simulator on 127.0.0.1 until SIGINT/SIGTERM. */
export function registerSimCommand(program: Command): void {
  program
    .command('sim')
    .description('run the bundled Kubernetes API simulator on 127.0.0.1 and write a kubeconfig for kubectl')
    .option('--port <port>', 'port on 127.0.0.1 (0 picks a free one)', '6443')
    .option('--kubeconfig <path>', 'where to write the kubeconfig', './kube-sim.kubeconfig')
    .option('--kubelet <mode>', 'docker (pods are containers) or virtual (pods only pretend to run)', 'docker')
    .option('--backoff-base-ms <ms>', 'first CrashLoopBackOff delay (upstream: 10000)')
    .option(
      '--relist-delay-ms <ms>',
      'docker kubelet: how long a started container must run before its pod is Ready (default 150; upstream relists every 1000)',
    )
    .action(async (raw: Record<string, unknown>, command: Command) => {
      const parsed = parseSimOptions(raw);
      // The sim command's own usage follows the sentence, not the whole program's.
      if (!parsed.ok) return command.error(parsed.error);
      const { options } = parsed;
      const sim = await startKubeSim(kubeSimOptionsOf(options, process.env.LABBOT_REGISTRY));
      await sim.writeKubeconfig(options.kubeconfig);
      process.stdout.write(
        `kube-sim serving ${sim.url} (kubelet: ${options.kubelet})\nkubeconfig written to ${options.kubeconfig}\n` +
          `try: kubectl --kubeconfig ${options.kubeconfig} get ns\n`,
      );
      await new Promise<void>((resolve) => {
        const shutdown = () => resolve();
        process.once('SIGINT', shutdown);
        process.once('SIGTERM', shutdown);
      });
      process.stdout.write('stopping kube-sim (removing its containers)...\n');
      await sim.stop();
    });
}
