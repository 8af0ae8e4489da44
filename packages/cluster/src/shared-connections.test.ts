import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { impersonating } from './driver.js';
import { shareConnections } from './shared-connections.js';

// Any PEM text will do: client-node only hands it to the Agent it builds, no connection is opened here.
const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString('base64');

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'lab-cluster', server: 'https://127.0.0.1:6443', caData: ca }],
    users: [{ name: 'runner', token: 'secret-token' }],
    contexts: [{ name: 'lab', cluster: 'lab-cluster', user: 'runner' }],
    currentContext: 'lab',
  });
  return config;
}

async function dispatcherOf(config: KubeConfig, url = 'https://127.0.0.1:6443/api/v1/pods') {
  const context = new RequestContext(url, HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  return { dispatcher: context.getDispatcher(), headers: context.getHeaders() };
}

describe('shareConnections', () => {
  it('gives every request of a kubeconfig the same keep-alive Agent, where client-node makes one per request', async () => {
    const plain = kubeConfig();
    const [first, second] = [await dispatcherOf(plain), await dispatcherOf(plain)];
    expect(first.dispatcher).toBeDefined();
    expect(second.dispatcher).not.toBe(first.dispatcher);

    const shared = shareConnections(kubeConfig());
    const requests = [await dispatcherOf(shared), await dispatcherOf(shared), await dispatcherOf(shared)];
    expect(new Set(requests.map((request) => request.dispatcher)).size).toBe(1);
    expect(requests[0]?.headers['Authorization']).toBe('Bearer secret-token');
  });

  it('gives watches an Agent of their own, shared by the watches, so no request waits behind a long-lived watch', async () => {
    const shared = shareConnections(kubeConfig());
    const request = await dispatcherOf(shared);
    const watches = [
      await dispatcherOf(shared, 'https://127.0.0.1:6443/api/v1/pods?watch=true&labelSelector=a'),
      await dispatcherOf(shared, 'https://127.0.0.1:6443/api/v1/namespaces?watch=true'),
    ];
    expect(watches[0]?.dispatcher).toBe(watches[1]?.dispatcher);
    expect(watches[0]?.dispatcher).not.toBe(request.dispatcher);
    expect((await dispatcherOf(shared)).dispatcher).toBe(request.dispatcher);
  });

  it("shares the runner's connections with a learner's impersonating copy, which keeps its own header", async () => {
    const runner = shareConnections(kubeConfig());
    const learner = impersonating(runner, 'system:serviceaccount:lab-1:learner');
    const [own, asLearner] = [await dispatcherOf(runner), await dispatcherOf(learner)];
    expect(asLearner.dispatcher).toBe(own.dispatcher);
    expect(asLearner.headers['Impersonate-User']).toBe('system:serviceaccount:lab-1:learner');
    expect(own.headers['Impersonate-User']).toBeUndefined();
  });
});
