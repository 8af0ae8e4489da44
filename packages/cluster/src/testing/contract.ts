import { randomBytes } from 'node:crypto';
import { LabbotError } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterErrorCode } from '../cluster-errors.js';
import { type ClusterDriver, ownerLabelValue } from '../driver.js';

export interface ClusterDriverContractHarness {
  create(): ClusterDriver | Promise<ClusterDriver>;
  cleanup?(): Promise<void>;
}

interface ContainerSpec {
  spec?: { template?: { spec?: { containers?: { image?: string }[] } } };
}

/**
 * What every ClusterDriver must do for the runner, run against the real driver on kube-sim
 * (`driver-contract.int.test.ts`) and the in-memory one (`memory-cluster.test.ts`).
 */
export function describeClusterDriverContract(name: string, harness: ClusterDriverContractHarness): void {
  describe(`ClusterDriver contract: ${name}`, () => {
    let driver: ClusterDriver;
    const made: string[] = [];

    const newLab = () => {
      const labId = randomBytes(6).toString('hex');
      const namespace = `lab-${labId}`;
      made.push(namespace);
      return {
        labId,
        namespace,
        owner: { platform: 'local' as const, workspaceId: 'machine', userId: 'ada' },
        lessonId: 'docker-vs-kubernetes',
        expiresAt: new Date('2030-01-01T00:00:00Z'),
        limits: { cpu: '100m', memory: '32Mi', pods: 3 },
      };
    };
    const deployment = (replicas: number) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'hello', labels: { app: 'hello' } },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'hello' } },
        template: { metadata: { labels: { app: 'hello' } }, spec: { containers: [{ name: 'hello' }] } },
      },
    });

    beforeAll(async () => {
      driver = await harness.create();
    });

    afterAll(async () => {
      for (const namespace of made) await driver?.deleteNamespace(namespace, { wait: false }).catch(() => undefined);
      await harness.cleanup?.();
    });

    it('answers a version when the cluster is there', async () => {
      expect((await driver.checkConnection()).gitVersion).toMatch(/^v\d+\.\d+/);
    });

    it('provisions a lab namespace idempotently and lists it with its lab and lesson', async () => {
      const lab = newLab();
      const first = await driver.provisionNamespace(lab);
      const second = await driver.provisionNamespace(lab);
      expect(first.namespace).toBe(lab.namespace);
      expect(second.namespace).toBe(lab.namespace);
      const listed = (await driver.listLabNamespaces()).filter((ns) => ns.name === lab.namespace);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ labId: lab.labId, lessonId: 'docker-vs-kubernetes' });
      // One by name, as listed; a name nobody provisioned is absent.
      expect(await driver.readLabNamespace(lab.namespace)).toEqual(listed[0]);
      expect(await driver.readLabNamespace(`lab-${randomBytes(6).toString('hex')}`)).toBeUndefined();
    });

    it('tells a namespace provisioned with exactly these guard rails from one absent, older or handed over', async () => {
      const lab = newLab();
      expect(await driver.namespaceProvisioned(lab)).toBe(false);
      await driver.provisionNamespace(lab);
      expect(await driver.namespaceProvisioned(lab)).toBe(true);
      // Other limits (a lesson changed since): the guard rails standing are not the ones wanted.
      expect(await driver.namespaceProvisioned({ ...lab, limits: { ...lab.limits, pods: 4 } })).toBe(false);
      // Another lab's view of the same name.
      expect(await driver.namespaceProvisioned({ ...lab, labId: randomBytes(6).toString('hex') })).toBe(false);
      // A handover labels the Namespace alone again: the guard rails are provisioned in full on the next reconcile.
      await driver.relabelNamespace({ ...lab, owner: { ...lab.owner, userId: 'bea' } });
      expect(await driver.namespaceProvisioned({ ...lab, owner: { ...lab.owner, userId: 'bea' } })).toBe(false);
      await driver.provisionNamespace(lab);
      expect(await driver.namespaceProvisioned(lab)).toBe(true);
    });

    it('lists lab namespaces a page at a time, each once, with their labels', async () => {
      const labs = Array.from({ length: 5 }, () => newLab());
      for (const lab of labs) await driver.provisionNamespace(lab);
      const mine = new Map(labs.map((lab) => [lab.namespace, lab.labId]));
      const seen: string[] = [];
      let pages = 0;
      for await (const page of driver.listLabNamespacePages({ pageSize: 2 })) {
        pages++;
        expect(page.length).toBeLessThanOrEqual(2);
        for (const ns of page) {
          if (!mine.has(ns.name)) continue;
          seen.push(ns.name);
          expect(ns.labId).toBe(mine.get(ns.name));
          expect(ns.phase).toBe('Active');
        }
      }
      expect(seen.sort()).toEqual([...mine.keys()].sort());
      expect(pages).toBeGreaterThanOrEqual(3);
    });

    it("applies the Deployment with the lesson image, labelled as labbot's and naming no lab", async () => {
      const lab = newLab();
      await driver.provisionNamespace(lab);
      const applied = await driver.applyDeployment({
        namespace: lab.namespace,
        labId: lab.labId,
        manifest: deployment(2),
        image: 'labbot/busybox:1',
      });
      expect(applied.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('labbot');
      expect(applied.metadata?.labels?.['labbot.dev/lab']).toBeUndefined();
      expect((applied as ContainerSpec).spec?.template?.spec?.containers?.map((c) => c.image)).toEqual([
        'labbot/busybox:1',
      ]);
    });

    it('applies a Deployment again only when it differs from what is there, when asked to look first', async () => {
      const lab = newLab();
      await driver.provisionNamespace(lab);
      const apply = (replicas: number, image: string) =>
        driver.applyDeployment({
          namespace: lab.namespace,
          labId: lab.labId,
          manifest: deployment(replicas),
          image,
          unlessUnchanged: true,
        });
      const first = await apply(2, 'x:1');
      const same = await apply(2, 'x:1');
      expect(same.metadata?.uid).toBe(first.metadata?.uid);
      expect((same as { spec?: { replicas?: number } }).spec?.replicas).toBe(2);
      const changed = await apply(3, 'x:2');
      expect((changed as { spec?: { replicas?: number } }).spec?.replicas).toBe(3);
      expect((changed as ContainerSpec).spec?.template?.spec?.containers?.map((c) => c.image)).toEqual(['x:2']);
    });

    it('relabels a handed-over namespace for another lab and learner, keeping its Deployment', async () => {
      const warm = newLab();
      await driver.provisionNamespace({ ...warm, classId: 'c1', warm: true });
      await driver.applyDeployment({
        namespace: warm.namespace,
        labId: warm.labId,
        manifest: deployment(1),
        image: 'x:1',
      });
      const learner = {
        ...warm,
        labId: randomBytes(6).toString('hex'),
        owner: { ...warm.owner, userId: 'bo' },
        classId: 'c1',
      };
      await driver.relabelNamespace(learner);
      const listed = (await driver.listLabNamespaces()).find((ns) => ns.name === warm.namespace);
      expect(listed).toMatchObject({
        labId: learner.labId,
        ownerKey: ownerLabelValue(learner.owner),
        classId: 'c1',
        lessonId: 'docker-vs-kubernetes',
      });
      const applied = await driver.applyDeployment({
        namespace: warm.namespace,
        labId: learner.labId,
        manifest: deployment(1),
        image: 'x:1',
      });
      expect(applied.metadata?.labels?.['labbot.dev/lab']).toBeUndefined();
    });

    it('refuses to relabel a namespace that is gone with CLUSTER_NOT_FOUND (it would come back without guard rails)', async () => {
      const lab = newLab();
      await expect(driver.relabelNamespace(lab)).rejects.toSatisfy(
        (error: unknown) => error instanceof LabbotError && error.code === ClusterErrorCode.notFound,
      );
      expect((await driver.listLabNamespaces()).map((ns) => ns.name)).not.toContain(lab.namespace);
    });

    it('refuses a Deployment in a namespace that does not exist with CLUSTER_NOT_FOUND', async () => {
      const lab = newLab();
      await expect(
        driver.applyDeployment({ namespace: lab.namespace, labId: lab.labId, manifest: deployment(1), image: 'x:1' }),
      ).rejects.toSatisfy((error: unknown) => error instanceof LabbotError && error.code === ClusterErrorCode.notFound);
    });

    it('deletes a namespace (waiting until it is gone) and treats an absent one as deleted', async () => {
      const lab = newLab();
      await driver.provisionNamespace(lab);
      await driver.deleteNamespace(lab.namespace, { wait: true, timeoutMs: 30_000 });
      expect((await driver.listLabNamespaces()).map((ns) => ns.name)).not.toContain(lab.namespace);
      await expect(driver.deleteNamespace(lab.namespace, { wait: true, timeoutMs: 5000 })).resolves.toBeUndefined();
    });
  });
}
