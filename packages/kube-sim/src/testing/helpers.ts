import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WaitForOptions } from '@labbot/test-support';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const kubectlPath = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** Runs the real kubectl against a kubeconfig file, with a bounded timeout; never throws on exit codes. */
export function runKubectl(
  kubeconfig: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      kubectlPath,
      ['--kubeconfig', kubeconfig, ...args],
      {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 8 * 1024 * 1024,
        env: { ...process.env, KUBECONFIG: kubeconfig, HOME: path.dirname(kubeconfig) },
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** How tests wait on pods and the API: up to a minute (real containers on a loaded engine), errors are "not yet". */
export const podWait: WaitForOptions = { timeoutMs: 60_000, intervalMs: 250, retryErrors: true };

export async function makeTempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kube-sim-test-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

/** Rows of `kubectl get` table output, split on runs of spaces, header dropped. */
export function tableRows(stdout: string): string[][] {
  return stdout
    .trim()
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.trim().split(/\s{2,}|\s+/));
}
