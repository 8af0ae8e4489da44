import { LabbotError } from '@labbot/core';
import { freePort } from '@labbot/test-support';
import { describe, expect, it } from 'vitest';
import { createClusterDriver } from './driver.js';
import { loadKubeConfig } from './kubeconfig.js';

describe('a driver pointed at a closed port', () => {
  it('fails every call with a retryable CLUSTER_UNAVAILABLE and a learner-safe sentence', async () => {
    const port = await freePort();
    const driver = createClusterDriver({
      kubeConfig: loadKubeConfig({ mode: 'sim', server: `http://127.0.0.1:${port}` }),
      ceilings: { cpu: '2', memory: '1Gi', pods: 10 },
      // Each call still retries (4 tries), without the production back-off: 5 calls of it outlast the 10 s unit
      // timeout on a loaded machine (failed alone at load 40).
      requestRetryBaseMs: 1,
    });
    const provision = {
      labId: '0123456789ab',
      namespace: 'lab-0123456789ab',
      owner: 'local:me',
      lessonId: 'docker-vs-kubernetes',
      expiresAt: new Date('2026-11-25T15:00:00Z'),
      limits: { cpu: '200m', memory: '64Mi', pods: 3 },
    };
    const calls: [string, () => Promise<unknown>][] = [
      ['checkConnection', () => driver.checkConnection()],
      ['provisionNamespace', () => driver.provisionNamespace(provision)],
      ['listLabNamespaces', () => driver.listLabNamespaces()],
      ['namespaceProvisioned', () => driver.namespaceProvisioned(provision)],
      ['readLabNamespace', () => driver.readLabNamespace('lab-0123456789ab')],
      ['deleteNamespace', () => driver.deleteNamespace('lab-0123456789ab')],
      ['kubectl get pods', () => driver.kubectl('lab-0123456789ab', { verb: 'get', resource: 'pods', wide: false })],
    ];
    for (const [name, call] of calls) {
      const error = await call().then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error, name).toBeInstanceOf(LabbotError);
      expect((error as LabbotError).code, name).toBe('CLUSTER_UNAVAILABLE');
      expect((error as LabbotError).retryable, name).toBe(true);
      expect((error as LabbotError).userMessage, name).toMatch(/not reachable/);
      expect((error as LabbotError).cause, name).toBeDefined();
    }
  });

  it('refuses a lesson Deployment with unknown fields before sending anything', async () => {
    const port = await freePort();
    const driver = createClusterDriver({
      kubeConfig: loadKubeConfig({ mode: 'sim', server: `http://127.0.0.1:${port}` }),
      ceilings: { cpu: '2', memory: '1Gi', pods: 10 },
    });
    const manifest = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'hello' } },
        template: {
          metadata: { labels: { app: 'hello' } },
          spec: { containers: [{ name: 'hello', comand: ['sleep', '3600'] }] },
        },
      },
    };
    const error = await driver
      .applyDeployment({ namespace: 'lab-0123456789ab', labId: '0123456789ab', manifest, image: 'x' })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'APPLY_INVALID' });
    expect((error as LabbotError).userMessage).toContain('spec.template.spec.containers[0].comand');
  });
});
