import { beforeEach, describe, expect, it } from 'vitest';
import { createJanitor, type Janitor } from './janitor.js';
import { createRunnerWorld } from './testing/runner-fixtures.js';

let world: ReturnType<typeof createRunnerWorld>;
let janitor: Janitor;
let reconciles: [string, string][];

/** The janitor on this test's world (ten minutes of warning, a minute of grace), with its reconciles recorded. */
const janitorOf = (options: { pageSize?: number } = {}) =>
  createJanitor({
    store: world.store,
    cluster: world.cluster,
    notices: world.notices,
    enqueueReconcile: async (labId, reason) => {
      reconciles.push([labId, reason]);
    },
    logger: world.logger,
    clock: world.clock.now,
    warningMs: 10 * 60_000,
    orphanGraceMs: 60_000,
    ...options,
  });

beforeEach(() => {
  world = createRunnerWorld();
  reconciles = [];
  janitor = janitorOf();
});

const provision = (labId: string, namespace: string) =>
  world.cluster.provisionNamespace({
    labId,
    namespace,
    owner: 'owner',
    lessonId: 'docker-vs-kubernetes',
    expiresAt: new Date('2030-01-01T00:00:00Z'),
    limits: { cpu: '100m', memory: '32Mi', pods: 3 },
  });

describe('janitor', () => {
  it('warns a learner once, ten minutes before the lab expires', async () => {
    const lab = await world.newLab({ ttlMinutes: 30 });
    expect((await janitor.sweep()).warned).toEqual([]);
    world.clock.advance(21 * 60_000);
    expect((await janitor.sweep()).warned).toEqual([lab.labId]);
    expect((await janitor.sweep()).warned).toEqual([]);
    expect(world.events.filter((event) => event.type === 'lab.expiry-warning').map((e) => e.labId)).toEqual([
      lab.labId,
    ]);
    expect((await world.store.get(lab.labId))?.observed.expiryWarnedAt).toBe(world.clock.now().toISOString());
  });

  it('asks for the teardown of an expired lab, once', async () => {
    const lab = await world.newLab({ ttlMinutes: 30 });
    world.clock.advance(31 * 60_000);
    expect((await janitor.sweep()).expired).toEqual([lab.labId]);
    expect((await world.store.get(lab.labId))?.desired.state).toBe('stopped');
    expect(reconciles).toEqual([[lab.labId, 'janitor.ttl']]);
    expect((await janitor.sweep()).expired).toEqual([]);
    const audit = (await world.store.history(lab.labId)).map((entry) => entry.action);
    expect(audit).toContain('desired.stopped');
  });

  it('removes a lab namespace nobody wants once it is older than the grace period', async () => {
    await provision('aaaaaaaaaaaa', 'lab-aaaaaaaaaaaa');
    expect((await janitor.sweep()).orphansRemoved).toEqual([]);
    world.clock.advance(61_000);
    expect((await janitor.sweep()).orphansRemoved).toEqual(['lab-aaaaaaaaaaaa']);
    expect(world.cluster.namespaces.has('lab-aaaaaaaaaaaa')).toBe(false);
  });

  it('keeps the namespace of a running lab', async () => {
    const lab = await world.newLab();
    await provision(lab.labId, lab.namespace);
    world.clock.advance(61_000);
    expect((await janitor.sweep()).orphansRemoved).toEqual([]);
    expect(world.cluster.namespaces.has(lab.namespace)).toBe(true);
  });

  it("keeps a warm lab's namespace a learner's lab just took over, while it still carries the warm lab's label", async () => {
    const lab = await world.newLab();
    const warmNamespace = 'lab-bbbbbbbbbbbb';
    await provision('bbbbbbbbbbbb', warmNamespace);
    await world.store.update(lab.labId, (current) => ({ ...current, namespace: warmNamespace }));
    world.clock.advance(61_000);
    expect((await janitor.sweep()).orphansRemoved).toEqual([]);
    expect(world.cluster.namespaces.has(warmNamespace)).toBe(true);
  });

  it('sends a deployed lab whose namespace vanished back to pending and asks for a reconcile', async () => {
    const lab = await world.newLab();
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: { ...current.observed, phase: 'ready', generation: 0 },
    }));
    expect((await janitor.sweep()).repaired).toEqual([lab.labId]);
    expect((await world.store.get(lab.labId))?.observed).toMatchObject({ phase: 'pending', pods: [] });
    expect(reconciles).toEqual([[lab.labId, 'janitor.repair']]);
  });

  it('leaves a lab alone that was provisioned and deployed while the sweep read the namespaces', async () => {
    const lab = await world.newLab();
    const listPages = world.cluster.listLabNamespacePages.bind(world.cluster);
    // The lab's namespace is made and it waits for its pods just after the last page of namespaces was read.
    world.cluster.listLabNamespacePages = async function* (options) {
      yield* listPages(options);
      await provision(lab.labId, lab.namespace);
      await world.store.update(lab.labId, (current) => ({
        ...current,
        observed: { ...current.observed, phase: 'waiting-for-pods', generation: 0 },
      }));
    };
    expect((await janitor.sweep()).repaired).toEqual([]);
    expect((await world.store.get(lab.labId))?.observed.phase).toBe('waiting-for-pods');
    expect(reconciles).toEqual([]);
  });

  it('leaves a lab still being built alone even though its namespace is not there yet', async () => {
    const lab = await world.newLab();
    await world.store.update(lab.labId, (current) => ({
      ...current,
      observed: { ...current.observed, phase: 'building', generation: 0 },
    }));
    expect((await janitor.sweep()).repaired).toEqual([]);
    expect((await world.store.get(lab.labId))?.observed.phase).toBe('building');
  });

  it('reads 1,200 labs and their namespaces a page at a time: removes an orphan of page 2, repairs a lab on the last page', async () => {
    const paged = janitorOf({ pageSize: 500 });
    const labs = [];
    for (let index = 0; index < 1200; index++) {
      const lab = await world.newLab();
      labs.push(
        await world.store.update(lab.labId, (current) => ({
          ...current,
          // The last lab made is last in the store's pages and, by its namespace's name, in the cluster's.
          ...(index === 1199 ? { namespace: 'lab-zzzzzzzzzzzz' } : {}),
          observed: { ...current.observed, phase: 'ready', generation: 0 },
        })),
      );
    }
    for (const lab of labs) await provision(lab.labId, lab.namespace);
    world.clock.advance(61_000);
    const byName = labs.map((lab) => lab.namespace).sort();
    // Page 2 of the namespaces (500 a page): its lab is gone, so the namespace is an orphan.
    const orphan = labs.find((lab) => lab.namespace === byName[700]);
    const vanished = labs[1199];
    if (!orphan || !vanished) throw new Error('no labs');
    expect(byName.at(-1)).toBe(vanished.namespace);
    await world.store.delete(orphan.labId);
    world.cluster.removeNamespace(vanished.namespace);

    const report = await paged.sweep();
    expect(report.orphansRemoved).toEqual([orphan.namespace]);
    expect(world.cluster.namespaces.has(orphan.namespace)).toBe(false);
    expect(report.repaired).toEqual([vanished.labId]);
    expect((await world.store.get(vanished.labId))?.observed).toMatchObject({ phase: 'pending', pods: [] });
    expect(reconciles).toEqual([[vanished.labId, 'janitor.repair']]);
    // Every other lab keeps its namespace and its phase.
    expect(world.cluster.namespaces.size).toBe(1198);
    expect((await world.store.listAll()).filter((lab) => lab.observed.phase === 'ready')).toHaveLength(1198);
  });
});
