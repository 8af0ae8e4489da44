import { describe, expect, it } from 'vitest';
import { kubeSimOptionsOf, parseSimOptions } from './sim.js';

// commander hands the options over as strings, with its defaults filled in.
const defaults = { port: '6443', kubeconfig: './kube-sim.kubeconfig', kubelet: 'docker' };

describe('labbot sim options', () => {
  it("passes the relist delay and the back-off to kube-sim as numbers, and leaves them to kube-sim's defaults when absent", () => {
    const given = parseSimOptions({ ...defaults, relistDelayMs: '1000', backoffBaseMs: '10000' });
    expect(given.ok && kubeSimOptionsOf(given.options, '127.0.0.1:5000')).toEqual({
      port: 6443,
      kubelet: 'docker',
      relistDelayMs: 1000,
      backoffBaseMs: 10_000,
      registry: '127.0.0.1:5000',
    });
    const none = parseSimOptions(defaults);
    expect(none.ok && kubeSimOptionsOf(none.options)).toEqual({ port: 6443, kubelet: 'docker' });
  });

  it.each([
    [{ relistDelayMs: 'soon' }, '--relist-delay-ms must be a number of milliseconds'],
    [{ relistDelayMs: '-5' }, '--relist-delay-ms must not be negative'],
    [{ relistDelayMs: '1.5' }, '--relist-delay-ms must be a whole number of milliseconds'],
    [{ relistDelayMs: '90000' }, '--relist-delay-ms must be at most 60000'],
    [{ backoffBaseMs: 'x' }, '--backoff-base-ms must be a number of milliseconds'],
    [{ port: '70000' }, '--port must be a port number (0 to 65535)'],
    [{ port: 'http' }, '--port must be a port number'],
    [{ kubelet: 'kind' }, '--kubelet must be docker or virtual'],
  ])('refuses %o with one clear sentence', (bad, message) => {
    expect(parseSimOptions({ ...defaults, ...bad })).toEqual({ ok: false, error: message });
  });
});
