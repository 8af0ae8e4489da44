import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  makeInformer,
  PatchStrategy,
  type V1Deployment,
  type V1Pod,
  Watch,
} from '@kubernetes/client-node';
import { waitFor } from '@labbot/test-support';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KubeSim, startKubeSim } from './index.js';
import { podWait } from './testing/helpers.js';

// @kubernetes/client-node 2 against kube-sim with the virtual kubelet (pods Running after 20 ms).
let sim: KubeSim;
let config: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let objects: KubernetesObjectApi;

function deployment(name: string, replicas: number, image = 'labbot/busybox:1'): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } },
    },
  };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; status: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiException);
    const exception = error as ApiException<string>;
    return { code: exception.code, status: JSON.parse(String(exception.body)) as Record<string, unknown> };
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  sim = await startKubeSim({ kubelet: 'virtual', virtualReadyDelayMs: 20, watchHistory: 100, watchBookmarkMs: 200 });
  config = new KubeConfig();
  config.loadFromString(sim.kubeconfig);
  core = config.makeApiClient(CoreV1Api);
  apps = config.makeApiClient(AppsV1Api);
  objects = KubernetesObjectApi.makeApiClient(config);
});

afterAll(async () => {
  await sim?.stop();
});

describe('@kubernetes/client-node against kube-sim', () => {
  it('makes typed calls: namespaces, deployments, pods reaching Running, scale', async () => {
    const created = await core.createNamespace({ body: { metadata: { name: 'typed', labels: { team: 'a' } } } });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.status?.phase).toBe('Active');
    const listed = await core.listNamespace({ labelSelector: 'team in (a,b)' });
    expect(listed.items.map((n) => n.metadata?.name)).toEqual(['typed']);

    const made = await apps.createNamespacedDeployment({ namespace: 'typed', body: deployment('api', 3) });
    expect(made.metadata?.generation).toBe(1);
    const pods = await waitFor(
      '3 running pods',
      async () => {
        const list = await core.listNamespacedPod({ namespace: 'typed', labelSelector: 'app=api' });
        return list.items.length === 3 && list.items.every((p) => p.status?.phase === 'Running')
          ? list.items
          : undefined;
      },
      podWait,
    );
    expect(pods[0]?.metadata?.labels?.['pod-template-hash']).toMatch(/^[a-z0-9]{10}$/);
    expect(pods[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('ReplicaSet');

    await apps.patchNamespacedDeploymentScale({
      namespace: 'typed',
      name: 'api',
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
    });
    const ready = await waitFor(
      'deployment at 1 replica',
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: 'typed', name: 'api' });
        return d.status?.replicas === 1 && d.status.readyReplicas === 1 ? d : undefined;
      },
      podWait,
    );
    expect(ready.metadata?.generation).toBe(2);
    expect(ready.status?.observedGeneration).toBe(2);
    expect(ready.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');

    const rv = Number(ready.metadata?.resourceVersion);
    const updated = await apps.replaceNamespacedDeployment({
      namespace: 'typed',
      name: 'api',
      body: { ...ready, spec: { ...ready.spec!, replicas: 2 } },
    });
    expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(rv);
    const stale = await apiError(apps.replaceNamespacedDeployment({ namespace: 'typed', name: 'api', body: ready }));
    expect(stale.code).toBe(409);
    expect(stale.status).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409 });
    expect(String(stale.status.message)).toContain(
      'Operation cannot be fulfilled on deployments.apps "api": the object has been modified',
    );
  });

  it('parses error bodies as ApiException: 404, 409 AlreadyExists, 422 with causes', async () => {
    const missing = await apiError(core.readNamespacedPod({ namespace: 'default', name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(missing.status).toMatchObject({
      reason: 'NotFound',
      message: 'pods "nope" not found',
      details: { name: 'nope', kind: 'pods' },
    });

    await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'twice' }, data: { a: '1' } },
    });
    const again = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'twice' } } }),
    );
    expect(again.code).toBe(409);
    expect(again.status).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "twice" already exists' });

    const invalid = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'Bad_Name' } } }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.status.reason).toBe('Invalid');
    expect(invalid.status.details).toMatchObject({
      name: 'Bad_Name',
      kind: 'ConfigMap',
      causes: [{ reason: 'FieldValueInvalid', field: 'metadata.name' }],
    });
    expect(String(invalid.status.message)).toContain(
      'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    );

    const noNamespace = await apiError(
      core.createNamespacedConfigMap({ namespace: 'absent', body: { metadata: { name: 'x' } } }),
    );
    expect(noNamespace.status).toMatchObject({ code: 404, message: 'namespaces "absent" not found' });
  });

  it('applies server-side through KubernetesObjectApi with field managers, conflicts and force', async () => {
    await core.createNamespace({ body: { metadata: { name: 'ssa' } } });
    const spec = {
      ...deployment('ssa-web', 2),
      metadata: { name: 'ssa-web', namespace: 'ssa', labels: { app: 'ssa-web' } },
    };
    const created = (await objects.patch(
      spec,
      undefined,
      undefined,
      'labbot',
      true,
      PatchStrategy.ServerSideApply,
    )) as V1Deployment;
    expect(created.apiVersion).toBe('apps/v1');
    expect(created.kind).toBe('Deployment');
    const managers = created.metadata?.managedFields ?? [];
    expect(managers.find((m) => m.manager === 'labbot')).toMatchObject({ operation: 'Apply', fieldsType: 'FieldsV1' });
    const fields = managers.find((m) => m.manager === 'labbot')?.fieldsV1 as Record<string, Record<string, unknown>>;
    expect(fields['f:spec']).toHaveProperty('f:replicas');

    // A repeated apply is a no-op: no new resourceVersion (once the controllers stopped writing its status).
    const before = await waitFor(
      'the Deployment settled (2 ready, generation observed)',
      async () => {
        const live = await apps.readNamespacedDeployment({ name: 'ssa-web', namespace: 'ssa' });
        return live.status?.readyReplicas === 2 && live.status.observedGeneration === 1 ? live : undefined;
      },
      podWait,
    );
    const same = (await objects.patch(
      spec,
      undefined,
      undefined,
      'labbot',
      true,
      PatchStrategy.ServerSideApply,
    )) as V1Deployment;
    expect(same.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(same.metadata?.generation).toBe(1);

    const other = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'ssa-web', namespace: 'ssa' },
      spec: { replicas: 5 },
    };
    const conflict = await apiError(
      objects.patch(other, undefined, undefined, 'someone-else', false, PatchStrategy.ServerSideApply),
    );
    expect(conflict.code).toBe(409);
    expect(conflict.status.reason).toBe('Conflict');
    expect(String(conflict.status.message)).toContain('conflict with "labbot"');

    const forced = (await objects.patch(
      other,
      undefined,
      undefined,
      'someone-else',
      true,
      PatchStrategy.ServerSideApply,
    )) as V1Deployment;
    expect(forced.spec?.replicas).toBe(5);
    expect(forced.spec?.template.spec?.containers[0]?.name).toBe('ssa-web');

    // Dropping a label from the applied config removes it; the other manager's field stays.
    const withExtra = { ...spec, metadata: { ...spec.metadata, labels: { app: 'ssa-web', tier: 'web' } } };
    delete (withExtra.spec as { replicas?: number }).replicas;
    await objects.patch(withExtra, undefined, undefined, 'labbot', true, PatchStrategy.ServerSideApply);
    const reduced = (await objects.patch(
      { ...withExtra, metadata: { ...withExtra.metadata, labels: { app: 'ssa-web' } } },
      undefined,
      undefined,
      'labbot',
      true,
      PatchStrategy.ServerSideApply,
    )) as V1Deployment;
    expect(reduced.metadata?.labels).toEqual({ app: 'ssa-web' });
    expect(reduced.spec?.replicas).toBe(5);

    const merged = (await objects.patch(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ssa-web', namespace: 'ssa', annotations: { note: 'merge' } },
      },
      undefined,
      undefined,
      undefined,
      undefined,
      PatchStrategy.MergePatch,
    )) as V1Deployment;
    expect(merged.metadata?.annotations?.note).toBe('merge');
    const jsonPatched = await apps.patchNamespacedDeployment({
      namespace: 'ssa',
      name: 'ssa-web',
      body: [{ op: 'replace', path: '/spec/replicas', value: 1 }],
    });
    expect(jsonPatched.spec?.replicas).toBe(1);
  });

  it('resumes a watch from a resourceVersion after a dropped connection, and answers 410 Gone when too old', async () => {
    await core.createNamespace({ body: { metadata: { name: 'watched' } } });
    const first = await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'cm-0' } } });
    const seen: string[] = [];
    let lastVersion = first.metadata?.resourceVersion ?? '';
    let ended = false;
    const watch = new Watch(config);
    await watch.watch(
      '/api/v1/namespaces/watched/configmaps',
      { resourceVersion: lastVersion },
      (type, object: { metadata: { name: string; resourceVersion: string } }) => {
        seen.push(`${type} ${object.metadata.name}`);
        lastVersion = object.metadata.resourceVersion;
      },
      () => {
        ended = true;
      },
    );
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'cm-1' } } });
    await waitFor('cm-1 event', async () => (seen.includes('ADDED cm-1') ? true : undefined), podWait);
    expect(sim.dropWatches(true)).toBeGreaterThan(0);
    await waitFor('the watch to end', async () => (ended ? true : undefined), podWait);
    // Changes while no watch is open are replayed from the last seen resourceVersion.
    await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: 'cm-2' } } });
    await core.deleteNamespacedConfigMap({ namespace: 'watched', name: 'cm-1' });
    const resumed: string[] = [];
    const controller = await watch.watch(
      '/api/v1/namespaces/watched/configmaps',
      { resourceVersion: lastVersion },
      (type, object: { metadata: { name: string } }) => resumed.push(`${type} ${object.metadata.name}`),
      () => undefined,
    );
    await waitFor('replayed events', async () => (resumed.length >= 2 ? true : undefined), podWait);
    expect(resumed).toEqual(['ADDED cm-2', 'DELETED cm-1']);
    controller.abort();

    // Push the history (100 entries) past version 1, then a watch from there is 410 Gone.
    for (let i = 0; i < 120; i++)
      await core.createNamespacedConfigMap({ namespace: 'watched', body: { metadata: { name: `filler-${i}` } } });
    const response = await sim.fetch('/api/v1/namespaces/watched/configmaps?watch=true&resourceVersion=1');
    expect(response.status).toBe(410);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });
  });

  it('tells a selector watch when an object starts or stops matching: ADDED and DELETED, as the API server does', async () => {
    await core.createNamespace({ body: { metadata: { name: 'selected' } } });
    const listed = await core.listNamespacedPod({ namespace: 'selected' });
    const events: string[] = [];
    const phases = new Map<string, string>();
    const watch = new Watch(config);
    const controller = await watch.watch(
      '/api/v1/namespaces/selected/pods',
      {
        resourceVersion: listed.metadata?.resourceVersion ?? '',
        fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed',
        labelSelector: 'room=yes',
      },
      (type, object: V1Pod) => {
        events.push(`${type} ${object.metadata?.name}`);
        phases.set(`${type} ${object.metadata?.name}`, object.status?.phase ?? '');
      },
      () => undefined,
    );
    const pod = (name: string, labels: Record<string, string>): V1Pod => ({
      metadata: { name, labels },
      spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'labbot/busybox:1' }] },
    });
    await core.createNamespacedPod({ namespace: 'selected', body: pod('done', { room: 'yes' }) });
    await core.createNamespacedPod({ namespace: 'selected', body: pod('relabelled', { room: 'no' }) });
    await waitFor('both pods running', async () => {
      const pods = await core.listNamespacedPod({ namespace: 'selected' });
      return pods.items.length === 2 && pods.items.every((p) => p.status?.phase === 'Running') ? true : undefined;
    });
    // The pod's container exits: the kubelet writes phase Succeeded, so it no longer matches the field selector.
    const running = await core.readNamespacedPod({ namespace: 'selected', name: 'done' });
    await core.replaceNamespacedPodStatus({
      namespace: 'selected',
      name: 'done',
      body: { ...running, status: { ...running.status, phase: 'Succeeded' } },
    });
    // A label change makes the other pod match the label selector, then stop matching it.
    await core.patchNamespacedPod({
      namespace: 'selected',
      name: 'relabelled',
      body: [{ op: 'replace', path: '/metadata/labels/room', value: 'yes' }],
    });
    await core.patchNamespacedPod({
      namespace: 'selected',
      name: 'relabelled',
      body: [{ op: 'replace', path: '/metadata/labels/room', value: 'no' }],
    });
    await waitFor('the relabelled pod to leave the watch', async () =>
      events.filter((event) => event.endsWith(' relabelled')).length === 2 ? true : undefined,
    );
    controller.abort();
    // Only what a watcher of matching pods must know: `done` came and left, `relabelled` came and left; never a
    // MODIFIED for an object that no longer matches (which would leave it in an informer's cache for good).
    expect(events.filter((event) => event.endsWith(' done'))).toEqual([
      'ADDED done',
      ...events.filter((event) => event === 'MODIFIED done'),
      'DELETED done',
    ]);
    expect(events.filter((event) => event.endsWith(' relabelled'))).toEqual(['ADDED relabelled', 'DELETED relabelled']);
    // The DELETED of a pod that finished carries its last matching content (still Running), as the API server sends.
    expect(phases.get('DELETED done')).toBe('Running');
  });

  it('sends a quiet watch that asked for them BOOKMARKs with the current resourceVersion, and no other watch', async () => {
    await core.createNamespace({ body: { metadata: { name: 'bookmarked' } } });
    const listed = await core.listNamespacedConfigMap({ namespace: 'bookmarked' });
    const watch = new Watch(config);
    const seen = (allowWatchBookmarks: boolean) => {
      const events: { type: string; kind?: string; resourceVersion?: string }[] = [];
      const controller = watch.watch(
        '/api/v1/namespaces/bookmarked/configmaps',
        {
          resourceVersion: listed.metadata?.resourceVersion ?? '',
          ...(allowWatchBookmarks ? { allowWatchBookmarks } : {}),
        },
        (type, object: { kind?: string; metadata?: { resourceVersion?: string } }) =>
          events.push({ type, kind: object.kind, resourceVersion: object.metadata?.resourceVersion }),
        () => undefined,
      );
      return { events, controller };
    };
    const asked = seen(true);
    const plain = seen(false);
    // Another namespace changes: the cluster's version moves on while these watches see no object.
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'elsewhere' } } });
    const current = (await core.listNamespacedConfigMap({ namespace: 'bookmarked' })).metadata?.resourceVersion;
    await waitFor('a bookmark at the current version', () =>
      asked.events.some((event) => event.resourceVersion === current) ? true : undefined,
    );
    expect(asked.events.every((event) => event.type === 'BOOKMARK' && event.kind === 'ConfigMap')).toBe(true);
    expect(plain.events).toEqual([]);
    (await asked.controller).abort();
    (await plain.controller).abort();
  });

  it("pages a namespace list with limit and continue at the first page's version, as the API server does", async () => {
    const run = Math.random().toString(36).slice(2, 8);
    const labelSelector = `paging=${run}`;
    const names = ['a', 'b', 'c', 'd', 'e'].map((letter) => `paged-${run}-${letter}`);
    for (const name of names) await core.createNamespace({ body: { metadata: { name, labels: { paging: run } } } });
    const first = await core.listNamespace({ labelSelector, limit: 2 });
    expect(first.items.map((ns) => ns.metadata?.name)).toEqual(names.slice(0, 2));
    expect(first.metadata?._continue).toBeTruthy();
    // Between pages: one namespace not listed yet goes away, a new one comes. Neither changes this list.
    await core.deleteNamespace({ name: names[3] ?? '' });
    await waitFor('the namespace to be gone', async () =>
      (await core.listNamespace({ labelSelector })).items.some((ns) => ns.metadata?.name === names[3])
        ? undefined
        : true,
    );
    await core.createNamespace({ body: { metadata: { name: `paged-${run}-f`, labels: { paging: run } } } });
    const listed = first.items.map((ns) => ns.metadata?.name);
    let next = first.metadata?._continue;
    while (next) {
      const page = await core.listNamespace({ labelSelector, limit: 2, _continue: next });
      expect(page.items.length).toBeLessThanOrEqual(2);
      expect(page.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
      listed.push(...page.items.map((ns) => ns.metadata?.name));
      next = page.metadata?._continue;
    }
    expect(listed).toEqual(names);
    // A fresh list sees the change.
    expect((await core.listNamespace({ labelSelector })).items.map((ns) => ns.metadata?.name)).toEqual([
      ...names.slice(0, 3),
      names[4],
      `paged-${run}-f`,
    ]);

    const invalid = await apiError(core.listNamespace({ labelSelector, limit: 2, _continue: 'not-a-token' }));
    expect(invalid.code).toBe(400);
    expect(invalid.status).toMatchObject({ reason: 'BadRequest', message: expect.stringMatching(/continue/) });
    // Once the history no longer reaches the first page's version (100 events here), the token is too old: 410.
    const stale = (await core.listNamespace({ labelSelector, limit: 2 })).metadata?._continue;
    await core.createNamespace({ body: { metadata: { name: `paged-${run}-filler` } } });
    for (let i = 0; i < 110; i++)
      await core.createNamespacedConfigMap({
        namespace: `paged-${run}-filler`,
        body: { metadata: { name: `cm-${i}` } },
      });
    const expired = await apiError(core.listNamespace({ labelSelector, limit: 2, _continue: stale ?? '' }));
    expect(expired.code).toBe(410);
    expect(expired.status).toMatchObject({
      reason: 'Expired',
      message: expect.stringMatching(/continue parameter is too old/),
    });
  });

  it('keeps an informer complete across dropped watches (clean and cut), re-listing on 410', async () => {
    await core.createNamespace({ body: { metadata: { name: 'informed' } } });
    const informer = makeInformer<V1Pod>(config, '/api/v1/namespaces/informed/pods', () =>
      core.listNamespacedPod({ namespace: 'informed' }),
    );
    const added = new Set<string>();
    let errors = 0;
    informer.on('add', (pod) => added.add(pod.metadata?.name ?? ''));
    // A cut watch reports an error and stops; the test restarts it, so it chooses what happens in between.
    informer.on('error', () => {
      errors++;
    });
    await informer.start();
    const pod = (name: string): V1Pod => ({
      metadata: { name },
      spec: { containers: [{ name: 'c', image: 'labbot/busybox:1' }] },
    });
    await core.createNamespacedPod({ namespace: 'informed', body: pod('p1') });
    await waitFor('p1', async () => (added.has('p1') ? true : undefined), podWait);

    // A clean drop: the informer resumes the watch by itself.
    sim.dropWatches();
    await core.createNamespacedPod({ namespace: 'informed', body: pod('p2') });
    await waitFor('p2 after a clean drop', async () => (added.has('p2') ? true : undefined), podWait);

    // A cut connection: p3 is created while no watch is open, and replayed when the watch resumes.
    sim.dropWatches(true);
    await waitFor('the cut to be reported', async () => (errors === 1 ? true : undefined), podWait);
    await core.createNamespacedPod({ namespace: 'informed', body: pod('p3') });
    await informer.start();
    await waitFor('p3 after a cut connection', async () => (added.has('p3') ? true : undefined), podWait);

    // Cut again, then push the history (100 entries) past the informer's version: its watch gets 410 Gone,
    // so only a new list can show p4.
    sim.dropWatches(true);
    await waitFor('the second cut to be reported', async () => (errors === 2 ? true : undefined), podWait);
    await core.createNamespacedPod({ namespace: 'informed', body: pod('p4') });
    await core.createNamespace({ body: { metadata: { name: 'informed-filler' } } });
    for (let i = 0; i < 120; i++)
      await core.createNamespacedConfigMap({ namespace: 'informed-filler', body: { metadata: { name: `f-${i}` } } });
    sim.resetStats();
    await informer.start();
    await waitFor('p4 after a 410', async () => (added.has('p4') ? true : undefined), podWait);
    expect(sim.stats().byVerbResource['list pods']).toBe(1);
    expect(errors).toBe(2);
    expect(
      informer
        .list()
        .map((p) => p.metadata?.name)
        .sort(),
    ).toEqual(['p1', 'p2', 'p3', 'p4']);
    await informer.stop();
  });

  it("refuses to change a Deployment's selector (immutable, 422), as the API server does", async () => {
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('fixed-selector', 1) });
    const changed = deployment('fixed-selector', 1);
    if (changed.spec) {
      changed.spec.selector = { matchLabels: { app: 'other' } };
      if (changed.spec.template.metadata) changed.spec.template.metadata.labels = { app: 'other' };
    }
    const refused = await apiError(
      apps.replaceNamespacedDeployment({ name: 'fixed-selector', namespace: 'default', body: changed }),
    );
    expect(refused.code).toBe(422);
    expect(String(refused.status['message'])).toMatch(/spec\.selector: Invalid value: .*field is immutable/);
    // The same selector with another replica count is no selector change.
    const same = deployment('fixed-selector', 2);
    await apps.replaceNamespacedDeployment({ name: 'fixed-selector', namespace: 'default', body: same });
  });

  it('counts requests by verb and resource, and injects faults', async () => {
    sim.resetStats();
    await core.listNamespacedPod({ namespace: 'default' });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'counted' } } });
    const stats = sim.stats();
    expect(stats.byVerbResource['list pods']).toBe(1);
    expect(stats.byVerbResource['create configmaps']).toBe(1);
    expect(stats.total, JSON.stringify(stats.byVerbResource)).toBe(2);

    sim.setFaults({ errorRate: { 'create configmaps': 1 }, errorCode: 503 });
    const failed = await apiError(
      core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'faulty' } } }),
    );
    expect(failed.code).toBe(503);
    expect(failed.status.reason).toBe('ServiceUnavailable');
    await core.listNamespacedConfigMap({ namespace: 'default' });
    sim.setFaults({ latencyMs: 150 });
    const started = Date.now();
    await core.listNamespacedConfigMap({ namespace: 'default' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    sim.setFaults({});
  });
});
