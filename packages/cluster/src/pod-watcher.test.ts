import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { PodSummary } from '@labbot/core';
import { waitFor } from '@labbot/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { loadKubeConfig } from './kubeconfig.js';
import { watchLabPods } from './pod-watcher.js';
import { containerCreatingPod, crashLoopExitZeroPod, runningPod } from './testing/pod-fixtures.js';

/** Whether labels match a label selector of the forms the pod watch sends (`k=v`, `k`, `!k`, comma-separated). */
function matchesSelector(labels: Record<string, string> | undefined, selector: string | null): boolean {
  return (selector ?? '')
    .split(',')
    .filter(Boolean)
    .every((term) => {
      if (term.startsWith('!')) return labels?.[term.slice(1)] === undefined;
      const [key = '', value] = term.split('=');
      return value === undefined ? labels?.[key] !== undefined : labels?.[key] === value;
    });
}

/**
 * A minimal list+watch endpoint for /api/v1/pods (with fault switches and label selectors) and /api/v1/namespaces on
 * loopback, speaking the API's JSON lines.
 */
function fakePodApi() {
  const pods = new Map<string, V1Pod>();
  const namespaces = new Map<string, V1Namespace>();
  const namespaceWatchers = new Set<ServerResponse>();
  let resourceVersion = 100;
  /** Each open pod watch, with its label selector. */
  const watchers = new Map<ServerResponse, string | null>();
  /** Every event sent, so a watch from an older resourceVersion is replayed what it missed (as the API does). */
  const history: { resourceVersion: number; line: string; labels: Record<string, string> | undefined }[] = [];
  const requests: string[] = [];
  let failLists = 0;
  let goneWatches = 0;
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    requests.push(`${url.pathname}?${url.searchParams.toString()}`);
    if (url.pathname === '/api/v1/namespaces') {
      response.writeHead(200, { 'content-type': 'application/json' });
      if (url.searchParams.get('watch') === 'true') {
        response.flushHeaders();
        namespaceWatchers.add(response);
        response.on('close', () => namespaceWatchers.delete(response));
        return;
      }
      response.end(
        JSON.stringify({
          kind: 'NamespaceList',
          apiVersion: 'v1',
          metadata: { resourceVersion: String(resourceVersion) },
          items: [...namespaces.values()],
        }),
      );
      return;
    }
    if (url.pathname !== '/api/v1/pods') {
      response.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
      return;
    }
    // The fault switches hit the watch of labbot's own pods (not the narrow one of pods from before its label).
    const faultable = url.searchParams.get('labelSelector') === 'app.kubernetes.io/managed-by=labbot';
    if (url.searchParams.get('watch') === 'true' && goneWatches > 0 && faultable) {
      goneWatches--;
      response.writeHead(410, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 410, reason: 'Expired' }));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      const selector = url.searchParams.get('labelSelector');
      for (const event of history)
        if (event.resourceVersion > from && matchesSelector(event.labels, selector)) response.write(event.line);
      watchers.set(response, selector);
      response.on('close', () => watchers.delete(response));
      return;
    }
    if (failLists > 0 && faultable) {
      failLists--;
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ kind: 'Status', status: 'Failure', code: 500, message: 'etcd is down' }));
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(
      JSON.stringify({
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(resourceVersion) },
        items: [...pods.values()].filter((pod) =>
          matchesSelector(pod.metadata?.labels, url.searchParams.get('labelSelector')),
        ),
      }),
    );
  });
  const send = (type: string, pod: V1Pod) => {
    resourceVersion++;
    const object = { ...pod, metadata: { ...pod.metadata, resourceVersion: String(resourceVersion) } };
    if (type === 'DELETED') pods.delete(pod.metadata?.name ?? '');
    else pods.set(pod.metadata?.name ?? '', object);
    const line = `${JSON.stringify({ type, object })}\n`;
    const labels = pod.metadata?.labels;
    history.push({ resourceVersion, line, labels });
    for (const [watcher, selector] of watchers) if (matchesSelector(labels, selector)) watcher.write(line);
  };
  /** A lab namespace labelled for `labId` (added, or relabelled when it exists). */
  const labelNamespace = (name: string, labId: string) => {
    resourceVersion++;
    const type = namespaces.has(name) ? 'MODIFIED' : 'ADDED';
    const object: V1Namespace = {
      metadata: { name, labels: { 'labbot.dev/lab': labId }, resourceVersion: String(resourceVersion) },
    };
    namespaces.set(name, object);
    for (const watcher of namespaceWatchers) watcher.write(`${JSON.stringify({ type, object })}\n`);
  };
  /** A lab namespace deleted (its DELETED event on the namespace watch). */
  const deleteNamespace = (name: string) => {
    resourceVersion++;
    const before = namespaces.get(name);
    const object: V1Namespace = { metadata: { ...before?.metadata, resourceVersion: String(resourceVersion) } };
    namespaces.delete(name);
    for (const watcher of namespaceWatchers) watcher.write(`${JSON.stringify({ type: 'DELETED', object })}\n`);
  };
  return {
    server,
    pods,
    requests,
    watchers,
    send,
    labelNamespace,
    deleteNamespace,
    failNextLists(count: number) {
      failLists = count;
    },
    goneOnNextWatch() {
      goneWatches = 1;
    },
    dropWatches() {
      for (const watcher of watchers.keys()) watcher.destroy();
      watchers.clear();
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    async stop() {
      for (const watcher of [...watchers.keys(), ...namespaceWatchers]) watcher.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A pod of a lab's Deployment: labelled as labbot's, naming no lab (its namespace does). */
const labPod = (name: string, labId: string, build = runningPod) => {
  const pod = build(name);
  if (pod.metadata) {
    const { 'labbot.dev/lab': _lab, ...labels } = pod.metadata.labels ?? {};
    pod.metadata.labels = { ...labels, 'app.kubernetes.io/managed-by': 'labbot' };
    pod.metadata.namespace = `lab-${labId}`;
  }
  return pod;
};

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** One lab with one pod, watched until its first snapshot came and both watches are open. */
async function watchOneLab(labId: string, podName: string) {
  const api = fakePodApi();
  const url = await api.start();
  cleanup.push(() => api.stop());
  api.labelNamespace(`lab-${labId}`, labId);
  api.send('ADDED', labPod(podName, labId));
  const snapshots: { labId: string; namespace: string; pods: string[] }[] = [];
  const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
    debounceMs: 100,
    onSnapshot: (lab, namespace, pods) => snapshots.push({ labId: lab, namespace, pods: pods.map((pod) => pod.name) }),
  });
  cleanup.push(() => watch.stop());
  await watch.synced;
  await waitFor('the lab with its pod', () => snapshots.find((s) => s.pods.length === 1));
  await waitFor('a namespace watch to be open', () =>
    api.requests.some((request) => request.startsWith('/api/v1/namespaces') && request.includes('watch=true')),
  );
  await waitFor('a pod watch to be open', () => api.watchers.size > 0);
  return { api, watch, snapshots };
}

describe('watchLabPods', () => {
  it('turns one shared watch into debounced per-lab snapshots, with diagnosis and empty snapshots on deletion', async () => {
    const api = fakePodApi();
    const url = await api.start();
    cleanup.push(() => api.stop());
    for (const labId of ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']) api.labelNamespace(`lab-${labId}`, labId);
    api.send('ADDED', labPod('a-1', 'aaaaaaaaaaaa'));
    const snapshots: { labId: string; namespace: string; pods: PodSummary[]; diagnosis?: string }[] = [];
    const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
      debounceMs: 100,
      onSnapshot: (labId, namespace, pods, diagnosis) =>
        snapshots.push({ labId, namespace, pods, ...(diagnosis ? { diagnosis: diagnosis.reason } : {}) }),
    });
    cleanup.push(() => watch.stop());
    await watch.synced;
    await waitFor('a watch to be open', () => api.watchers.size > 0);
    // The snapshot of a-1 alone, from the first list, comes first (its debounce may end before or after the
    // watch opens); then three quick changes to one lab and one to another: coalesced into one snapshot each.
    await waitFor('lab a with its first pod', () => snapshots.find((s) => s.labId === 'aaaaaaaaaaaa'));
    const beforeBurst = snapshots.length;
    api.send('ADDED', labPod('a-2', 'aaaaaaaaaaaa'));
    api.send('ADDED', labPod('a-3', 'aaaaaaaaaaaa'));
    api.send('ADDED', labPod('b-1', 'bbbbbbbbbbbb', crashLoopExitZeroPod));
    const labA = await waitFor('lab a with 3 pods', () =>
      snapshots.find((s) => s.labId === 'aaaaaaaaaaaa' && s.pods.length === 3),
    );
    expect(labA.namespace).toBe('lab-aaaaaaaaaaaa');
    expect(labA.pods.map((pod) => pod.name)).toEqual(['a-1', 'a-2', 'a-3']);
    expect(labA.pods.every((pod) => pod.ready)).toBe(true);
    expect(snapshots.slice(beforeBurst).filter((s) => s.labId === 'aaaaaaaaaaaa' && s.pods.length < 3)).toHaveLength(0);
    const labB = await waitFor('lab b', () => snapshots.find((s) => s.labId === 'bbbbbbbbbbbb' && s.pods.length === 1));
    expect(labB.diagnosis).toBe('CrashLoopBackOff');
    expect(watch.podsOf('aaaaaaaaaaaa')).toHaveLength(3);

    api.send('DELETED', labPod('b-1', 'bbbbbbbbbbbb'));
    const gone = await waitFor('lab b empty', () =>
      snapshots.find((s) => s.labId === 'bbbbbbbbbbbb' && s.pods.length === 0),
    );
    expect(gone.namespace).toBe('lab-bbbbbbbbbbbb');
    // One list and one watch over every lab's pods (labbot's label), and one of each over pods from before it.
    const podRequests = api.requests.filter((request) => request.startsWith('/api/v1/pods'));
    const managed = podRequests.filter((request) =>
      request.includes('labelSelector=app.kubernetes.io%2Fmanaged-by%3Dlabbot'),
    );
    const legacy = podRequests.filter((request) =>
      request.includes('labelSelector=labbot.dev%2Flab%2C%21app.kubernetes.io%2Fmanaged-by'),
    );
    expect([managed.length, legacy.length, podRequests.length]).toEqual([2, 2, 4]);
  });

  it('tells at once the change that makes every pod of a lab ready, and debounces the others', async () => {
    const api = fakePodApi();
    const url = await api.start();
    cleanup.push(() => api.stop());
    api.labelNamespace('lab-eeeeeeeeeeee', 'eeeeeeeeeeee');
    api.send('ADDED', labPod('e-1', 'eeeeeeeeeeee', containerCreatingPod));
    const snapshots: { at: number; pods: number; ready: number }[] = [];
    const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
      debounceMs: 2000,
      onSnapshot: (_lab, _namespace, pods) =>
        snapshots.push({ at: performance.now(), pods: pods.length, ready: pods.filter((pod) => pod.ready).length }),
    });
    cleanup.push(() => watch.stop());
    await watch.synced;
    await waitFor('the first snapshot', () => snapshots[0], { timeoutMs: 10_000 });
    await waitFor('a pod watch to be open', () => api.watchers.size > 0);

    // One pod ready, a second one coming: not every pod is ready, so the debounce holds the snapshot.
    let sentAt = performance.now();
    api.send('MODIFIED', labPod('e-1', 'eeeeeeeeeeee'));
    api.send('ADDED', labPod('e-2', 'eeeeeeeeeeee', containerCreatingPod));
    const partly = await waitFor('the snapshot with two pods', () => snapshots.find((s) => s.pods === 2), {
      timeoutMs: 10_000,
    });
    expect(partly.ready).toBe(1);
    expect(partly.at - sentAt).toBeGreaterThanOrEqual(1500);

    // The second one ready: the lab is ready, told without waiting for the debounce.
    sentAt = performance.now();
    api.send('MODIFIED', labPod('e-2', 'eeeeeeeeeeee'));
    const ready = await waitFor('the snapshot with both ready', () => snapshots.find((s) => s.ready === 2), {
      timeoutMs: 10_000,
    });
    expect(ready.at - sentAt).toBeLessThan(1000);
    // Told once: a later change while every pod stays ready waits for the debounce again.
    sentAt = performance.now();
    const told = snapshots.length;
    api.send('MODIFIED', labPod('e-2', 'eeeeeeeeeeee'));
    const next = await waitFor('the snapshot after it', () => snapshots[told], { timeoutMs: 10_000 });
    expect(next.at - sentAt).toBeGreaterThanOrEqual(1500);
  });

  it('tells a lab its pods are gone when its namespace is deleted right after its last pod (within the debounce)', async () => {
    const { api, watch, snapshots } = await watchOneLab('cccccccccccc', 'c-1');
    // As a namespace teardown goes: the last pod, then the namespace, both before the pod's snapshot is due.
    api.send('DELETED', labPod('c-1', 'cccccccccccc'));
    api.deleteNamespace('lab-cccccccccccc');
    const gone = await waitFor('the lab told it has no pods', () => snapshots.find((s) => s.pods.length === 0));
    expect(gone).toEqual({ labId: 'cccccccccccc', namespace: 'lab-cccccccccccc', pods: [] });
    expect(watch.podsOf('cccccccccccc')).toEqual([]);
  });

  it('follows a lab whose namespace is deleted and re-created under the same name (a lab repaired or reset)', async () => {
    const { api, watch, snapshots } = await watchOneLab('dddddddddddd', 'd-1');
    // The old namespace goes with its pod and comes back for the same lab before the snapshot is due.
    api.send('DELETED', labPod('d-1', 'dddddddddddd'));
    api.deleteNamespace('lab-dddddddddddd');
    api.labelNamespace('lab-dddddddddddd', 'dddddddddddd');
    await waitFor('the lab told it has no pods', () => snapshots.find((s) => s.pods.length === 0));
    // The re-created namespace's new pods are still this lab's.
    api.send('ADDED', labPod('d-2', 'dddddddddddd'));
    const back = await waitFor('the lab with its new pod', () => snapshots.find((s) => s.pods.includes('d-2')));
    expect(back).toEqual({ labId: 'dddddddddddd', namespace: 'lab-dddddddddddd', pods: ['d-2'] });
    expect(watch.podsOf('dddddddddddd').map((pod) => pod.name)).toEqual(['d-2']);
  });

  it("follows a namespace relabelled for another lab (a warm lab handed over): its pods are that lab's at once", async () => {
    const api = fakePodApi();
    const url = await api.start();
    cleanup.push(() => api.stop());
    api.labelNamespace('lab-warm00000001', 'ffffffffffff');
    for (const name of ['w-1', 'w-2', 'w-3']) {
      const pod = labPod(name, 'ffffffffffff');
      if (pod.metadata) pod.metadata.namespace = 'lab-warm00000001';
      api.send('ADDED', pod);
    }
    const snapshots: { labId: string; namespace: string; pods: string[] }[] = [];
    const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
      debounceMs: 20,
      onSnapshot: (labId, namespace, pods) => snapshots.push({ labId, namespace, pods: pods.map((pod) => pod.name) }),
    });
    cleanup.push(() => watch.stop());
    await watch.synced;
    await waitFor('the warm lab with 3 pods', () => snapshots.find((s) => s.labId === 'ffffffffffff'));
    await waitFor('a namespace watch to be open', () =>
      api.requests.some((request) => request.startsWith('/api/v1/namespaces') && request.includes('watch=true')),
    );
    api.labelNamespace('lab-warm00000001', '123456789abc');
    const learner = await waitFor("the learner's lab", () => snapshots.find((s) => s.labId === '123456789abc'));
    expect(learner).toEqual({ labId: '123456789abc', namespace: 'lab-warm00000001', pods: ['w-1', 'w-2', 'w-3'] });
    expect(watch.podsOf('123456789abc')).toHaveLength(3);
    expect(watch.podsOf('ffffffffffff')).toEqual([]);
  });

  it('follows the pods of labs started before pods carried labbot’s label (a runner upgraded under running labs)', async () => {
    const api = fakePodApi();
    const url = await api.start();
    cleanup.push(() => api.stop());
    /** A pod as labbot made them before: its Deployment's template named the lab, with no managed-by label. */
    const podFromBefore = (name: string, labId: string) => {
      const pod = runningPod(name);
      if (pod.metadata) {
        pod.metadata.labels = { app: 'hello', 'labbot.dev/lab': labId };
        pod.metadata.namespace = `lab-${labId}`;
      }
      return pod;
    };
    api.labelNamespace('lab-0ld000000001', '0ld000000001');
    api.labelNamespace('lab-new000000001', 'new000000001');
    api.send('ADDED', podFromBefore('old-1', '0ld000000001'));
    api.send('ADDED', podFromBefore('old-2', '0ld000000001'));
    api.send('ADDED', labPod('new-1', 'new000000001'));
    // Not a lab's pod: another app's, in a namespace of its own.
    const other = runningPod('other-1');
    if (other.metadata) other.metadata = { ...other.metadata, namespace: 'default', labels: { app: 'other' } };
    api.send('ADDED', other);
    const snapshots: { labId: string; pods: string[] }[] = [];
    const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
      debounceMs: 20,
      onSnapshot: (labId, _namespace, pods) => snapshots.push({ labId, pods: pods.map((pod) => pod.name) }),
    });
    cleanup.push(() => watch.stop());
    await watch.synced;
    await waitFor('the old lab with its 2 pods', () =>
      snapshots.find((s) => s.labId === '0ld000000001' && s.pods.length === 2),
    );
    // The learner deletes a pod: its old ReplicaSet makes the new one from the old template (lab label only).
    await waitFor(
      'both pod watches open',
      () =>
        api.requests.filter((request) => request.startsWith('/api/v1/pods') && request.includes('watch=true')).length >=
        2,
    );
    api.send('DELETED', podFromBefore('old-1', '0ld000000001'));
    api.send('ADDED', podFromBefore('old-3', '0ld000000001'));
    const healed = await waitFor('the old lab healed', () =>
      snapshots.find((s) => s.labId === '0ld000000001' && s.pods.includes('old-3') && !s.pods.includes('old-1')),
    );
    expect(healed.pods).toEqual(['old-2', 'old-3']);
    // A pod of today's labs is seen once (the two watches never both hold it); other apps' pods are not seen.
    expect(watch.podsOf('new000000001').map((pod) => pod.name)).toEqual(['new-1']);
    expect(snapshots.flatMap((s) => s.pods)).not.toContain('other-1');
  });

  it('resumes after a dropped watch and after failing lists, reporting the errors', async () => {
    const api = fakePodApi();
    const url = await api.start();
    cleanup.push(() => api.stop());
    api.labelNamespace('lab-cccccccccccc', 'cccccccccccc');
    const snapshots: PodSummary[][] = [];
    const errors: Error[] = [];
    const watch = watchLabPods(loadKubeConfig({ mode: 'sim', server: url }), {
      debounceMs: 20,
      retryDelayMs: 50,
      onSnapshot: (_labId, _namespace, pods) => snapshots.push(pods),
      onError: (error) => errors.push(error),
    });
    cleanup.push(() => watch.stop());
    await watch.synced;
    await waitFor('a watch to be open', () => api.watchers.size > 0);

    // A dropped watch (socket destroyed) resumes from the last resourceVersion and misses nothing.
    // The event happens in the gap, while no watch is open: only a resumed watch (or a re-list) can show it.
    api.dropWatches();
    expect(api.watchers.size).toBe(0);
    api.send('ADDED', labPod('c-1', 'cccccccccccc'));
    await waitFor('c-1 after the reconnect', () => snapshots.find((pods) => pods.some((pod) => pod.name === 'c-1')));
    const watchRequests = api.requests.filter((request) => request.includes('watch=true'));
    expect(watchRequests.at(-1)).toMatch(/resourceVersion=10[0-9]/);

    // A watch refused with 410 Gone forces a re-list; the next two lists fail first.
    api.goneOnNextWatch();
    api.failNextLists(2);
    api.dropWatches();
    api.pods.set('c-2', labPod('c-2', 'cccccccccccc'));
    await waitFor('c-2 after the re-list', () => snapshots.find((pods) => pods.some((pod) => pod.name === 'c-2')));
    // Both failing lists were reported (a 500 is retryable), and the watch still recovered.
    expect(errors.filter((error) => (error as { code?: string }).code === 'CLUSTER_REQUEST_FAILED')).toHaveLength(2);
    expect(errors.every((error) => (error as { retryable?: boolean }).retryable)).toBe(true);
  });
});
