import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..', '..');

/**
 * How infra/k8s/runner.yaml starts the runner: the runner container's `args` (Node flags, then the entry), as the
 * image's entrypoint passes them to node. Benchmarks and the image test start the runner with exactly these.
 */
export function runnerArgs(): string[] {
  const manifest = readFileSync(join(repo, 'infra', 'k8s', 'runner.yaml'), 'utf8');
  const line = manifest.match(/^\s*args: (\[.*"apps\/runner\/dist\/main\.js"\])$/m)?.[1];
  if (!line) throw new Error('infra/k8s/runner.yaml: no runner container args ending in apps/runner/dist/main.js');
  return JSON.parse(line) as string[];
}

/** The Node flags of runnerArgs(), without the entry. */
export const runnerNodeFlags = (): string[] => runnerArgs().slice(0, -1);
