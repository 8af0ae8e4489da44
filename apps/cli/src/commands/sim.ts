import { startKubeSim } from '@labbot/kube-sim';
import type { Command } from 'commander';

interface SimCommandOptions {
  port: string;
  kubeconfig: string;
  kubelet: string;
  backoffBaseMs?: string;
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
    .action(async (options: SimCommandOptions) => {
      if (options.kubelet !== 'docker' && options.kubelet !== 'virtual') {
        program.error(`--kubelet must be docker or virtual, not ${options.kubelet}`);
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        program.error(`--port must be a port number, not ${options.port}`);
      const sim = await startKubeSim({
        port,
        kubelet: options.kubelet as 'docker' | 'virtual',
        ...(options.backoffBaseMs ? { backoffBaseMs: Number(options.backoffBaseMs) } : {}),
        ...(process.env.LABBOT_REGISTRY ? { registry: process.env.LABBOT_REGISTRY } : {}),
      });
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
