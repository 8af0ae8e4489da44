import { randomBytes } from 'node:crypto';
import { LabbotError, type LabOwner, type LabRecord } from '@labbot/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClassRecord } from '../class-record.js';
import type { LabStore } from '../lab-store.js';

/** How the contract gets a store: a fresh one (own keys) on the given clock. */
export interface LabStoreContractHarness {
  create(options: { clock: () => Date; historyLimit?: number }): LabStore | Promise<LabStore>;
  /** Removes what the stores made (e.g. their Redis keys). */
  cleanup?(): Promise<void>;
}

/**
 * What every LabStore must do, run against the Redis store (`lab-store.int.test.ts`) and the
 * in-memory one (`memory-store.test.ts`), so the fake the unit tests use behaves like the real store.
 */
export function describeLabStoreContract(name: string, harness: LabStoreContractHarness): void {
  describe(`LabStore contract: ${name}`, () => {
    let store: LabStore;
    let now = Date.parse('2026-11-25T12:00:00.000Z');
    const clock = () => new Date(now);
    const alice: LabOwner = { platform: 'discord', workspaceId: 'guild-1', userId: 'alice' };
    const bob: LabOwner = { platform: 'slack', workspaceId: 'T1', userId: 'bob' };

    function labRecord(overrides: Partial<LabRecord> = {}): LabRecord {
      const at = new Date(now).toISOString();
      return {
        labId: randomBytes(6).toString('hex'),
        owner: alice,
        lessonId: 'docker-vs-kubernetes',
        namespace: 'lab-x',
        desired: { state: 'running', generation: 0 },
        observed: { phase: 'pending', pods: [] },
        createdAt: at,
        updatedAt: at,
        expiresAt: new Date(now + 3600_000).toISOString(),
        version: 0,
        ...overrides,
      };
    }

    beforeAll(async () => {
      store = await harness.create({ clock });
    });

    afterAll(async () => {
      await harness.cleanup?.();
    });

    describe('lab records', () => {
      it('creates a lab only once when 20 creates race, and every caller sees the same record', async () => {
        const labId = randomBytes(6).toString('hex');
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.create(labRecord({ labId, threadId: `thread-${i}` }))),
        );
        const winners = results.filter((result) => result.created);
        expect(winners).toHaveLength(1);
        const stored = await store.get(labId);
        expect(stored?.threadId).toBe(winners[0]?.record.threadId);
        for (const result of results) expect(result.record.threadId).toBe(stored?.threadId);
        expect((await store.history(labId)).map((entry) => entry.action)).toEqual(['created']);
      });

      it('loses no update when 20 writers increment a counter at once', async () => {
        const lab = labRecord();
        await store.create(lab);
        await Promise.all(
          Array.from({ length: 20 }, () =>
            store.update(lab.labId, (current) => ({
              ...current,
              desired: { ...current.desired, generation: current.desired.generation + 1 },
            })),
          ),
        );
        const stored = await store.get(lab.labId);
        expect(stored?.desired.generation).toBe(20);
        expect(stored?.version).toBe(20);
      });

      it('answers STORE_CONFLICT when another writer always wins and no retry is left', async () => {
        const lab = labRecord();
        await store.create(lab);
        const attempt = store.update(
          lab.labId,
          async (current) => {
            // Another writer slips in between our read and our write.
            await store.update(lab.labId, (other) => ({ ...other, threadId: 'other-writer' }));
            return { ...current, threadId: 'mine' };
          },
          { retries: 0 },
        );
        await expect(attempt).rejects.toSatisfy(
          (error: unknown) => error instanceof LabbotError && error.code === 'STORE_CONFLICT' && error.retryable,
        );
        expect((await store.get(lab.labId))?.threadId).toBe('other-writer');
      });

      it('refuses to update a lab that does not exist', async () => {
        await expect(store.update('0123456789ab', (current) => current)).rejects.toSatisfy(
          (error: unknown) => error instanceof LabbotError && error.code === 'STORE_NOT_FOUND',
        );
      });

      it('refuses to store an invalid record', async () => {
        await expect(store.create(labRecord({ labId: 'not-a-lab-id' }))).rejects.toSatisfy(
          (error: unknown) => error instanceof LabbotError && error.code === 'STORE_INVALID_RECORD',
        );
      });

      it("answers a burst of lookups at once, each with the asker's own labs: none, one, or a missing one", async () => {
        const owners = Array.from({ length: 30 }, (_, index) => ({ ...alice, userId: `burst-${index}` }));
        const made = await Promise.all(
          owners.filter((_, index) => index % 2 === 0).map((owner) => store.create(labRecord({ owner }))),
        );
        const [listed, missing] = await Promise.all([
          Promise.all(owners.map((owner) => store.listByOwner(owner))),
          Promise.all(owners.map((owner) => store.get(`missing-${owner.userId}`))),
        ]);
        listed.forEach((labs, index) => {
          const mine = made.find(({ record }) => record.owner.userId === `burst-${index}`)?.record;
          expect(labs).toEqual(mine ? [mine] : []);
        });
        expect(missing.every((lab) => lab === undefined)).toBe(true);
        expect(await store.countActive({ owner: { ...alice, userId: 'burst-1' } })).toBe(0);
        expect(await store.countActive({ owner: { ...alice, userId: 'burst-2' } })).toBe(1);
      });

      it('keeps the owner, class and expiry indexes in step with updates and deletes', async () => {
        const classId = `class-${randomBytes(3).toString('hex')}`;
        const otherClass = `${classId}-b`;
        const early = labRecord({ classId, expiresAt: new Date(now + 60_000).toISOString() });
        const late = labRecord({ classId, expiresAt: new Date(now + 7200_000).toISOString() });
        await store.create(early);
        await store.create(late);

        const ids = (labs: LabRecord[]) => labs.map((lab) => lab.labId).sort();
        expect(ids(await store.listByClass(classId))).toEqual([early.labId, late.labId].sort());
        expect(ids(await store.listRunningExpiringBefore(now + 120_000))).toEqual([early.labId]);
        expect(ids(await store.listByOwner(alice))).toEqual(expect.arrayContaining([early.labId, late.labId]));
        expect(ids(await store.listByOwner(bob))).not.toContain(early.labId);

        // Move `late` to another class, another owner and an earlier expiry.
        await store.update(late.labId, (current) => ({
          ...current,
          owner: bob,
          classId: otherClass,
          expiresAt: new Date(now + 30_000).toISOString(),
        }));
        expect(ids(await store.listByClass(classId))).toEqual([early.labId]);
        expect(ids(await store.listByClass(otherClass))).toEqual([late.labId]);
        expect(ids(await store.listByOwner(bob))).toEqual([late.labId]);
        expect(ids(await store.listByOwner(alice))).not.toContain(late.labId);
        expect((await store.listRunningExpiringBefore(now + 120_000)).map((lab) => lab.labId)).toEqual([
          late.labId,
          early.labId,
        ]);

        expect(await store.delete(late.labId)).toBe(true);
        expect(await store.delete(late.labId)).toBe(false);
        expect(await store.get(late.labId)).toBeUndefined();
        expect(await store.listByClass(otherClass)).toEqual([]);
        expect(await store.listByOwner(bob)).toEqual([]);
        expect(ids(await store.listRunningExpiringBefore(now + 120_000))).toEqual([early.labId]);
        expect(ids(await store.listAll())).toContain(early.labId);
        expect(ids(await store.listAll())).not.toContain(late.labId);
      });

      it('lists for expiry only labs meant to run: a stopped lab leaves the list, started again it is back', async () => {
        const expired = labRecord({ expiresAt: new Date(now - 60_000).toISOString() });
        const stoppedAtCreation = labRecord({
          expiresAt: new Date(now - 30_000).toISOString(),
          desired: { state: 'stopped', generation: 0 },
        });
        await store.create(expired);
        await store.create(stoppedAtCreation);
        const expiring = async () =>
          (await store.listRunningExpiringBefore(now))
            .map((lab) => lab.labId)
            .filter((id) => id === expired.labId || id === stoppedAtCreation.labId);
        expect(await expiring()).toEqual([expired.labId]);
        const setDesired = (state: 'running' | 'stopped') =>
          store.update(expired.labId, (current) => ({ ...current, desired: { ...current.desired, state } }));
        await setDesired('stopped');
        expect(await expiring()).toEqual([]);
        await setDesired('running');
        expect(await expiring()).toEqual([expired.labId]);
      });

      it('counts active labs, all and per owner, in step with stops, failures and deletes', async () => {
        const carol: LabOwner = {
          platform: 'slack',
          workspaceId: 'T1',
          userId: `carol-${randomBytes(3).toString('hex')}`,
        };
        const before = await store.countActive();
        const first = labRecord({ owner: carol });
        const second = labRecord({ owner: carol });
        const stoppedAlready = labRecord({ owner: carol, desired: { state: 'stopped', generation: 0 } });
        for (const lab of [first, second, stoppedAlready]) await store.create(lab);
        expect(await store.countActive({ owner: carol })).toBe(2);
        expect(await store.countActive({ owner: carol, excluding: first.labId })).toBe(1);
        expect(await store.countActive({ owner: carol, excluding: stoppedAlready.labId })).toBe(2);
        expect(await store.countActive()).toBe(before + 2);

        await store.update(first.labId, (current) => ({
          ...current,
          observed: { ...current.observed, phase: 'failed' },
        }));
        expect(await store.countActive({ owner: carol })).toBe(1);
        await store.update(first.labId, (current) => ({
          ...current,
          observed: { ...current.observed, phase: 'pending' },
        }));
        await store.update(second.labId, (current) => ({
          ...current,
          desired: { ...current.desired, state: 'stopped' },
        }));
        expect(await store.countActive({ owner: carol })).toBe(1);
        await store.delete(first.labId);
        expect(await store.countActive({ owner: carol })).toBe(0);
        expect(await store.countActive()).toBe(before);
      });

      it('lists every lab a page at a time, each page at most about the page size', async () => {
        const classId = `paged-${randomBytes(3).toString('hex')}`;
        const made = Array.from({ length: 150 }, () => labRecord({ classId }));
        for (const lab of made) await store.create(lab);
        const seen = new Set<string>();
        let pages = 0;
        let largest = 0;
        for await (const page of store.listAllInPages({ pageSize: 20 })) {
          pages++;
          largest = Math.max(largest, page.length);
          for (const lab of page) if (lab.classId === classId) seen.add(lab.labId);
        }
        expect([...seen].sort()).toEqual(made.map((lab) => lab.labId).sort());
        // Paged indeed (SSCAN's COUNT is a hint: a page may be somewhat larger, never the whole set).
        expect(pages).toBeGreaterThan(1);
        expect(largest).toBeLessThan(150);
      });

      it('records who did what, in order, and keeps the trail after a delete', async () => {
        const lab = labRecord();
        await store.create(lab, { actor: 'alice' });
        now += 1000;
        await store.update(lab.labId, (current) => ({ ...current, threadId: 't-1' }), {
          audit: { actor: 'runner', action: 'thread.opened', detail: { threadId: 't-1' } },
        });
        now += 1000;
        await store.appendHistory(lab.labId, { actor: 'alice', action: 'kubectl.scale', detail: { replicas: 5 } });
        now += 1000;
        await store.update(
          lab.labId,
          (current) => ({ ...current, desired: { ...current.desired, state: 'stopped' } }),
          {
            audit: { actor: 'alice', action: 'desired.stopped' },
          },
        );
        // An update that changes nothing writes nothing, and leaves no audit entry.
        await store.update(lab.labId, () => undefined, { audit: { actor: 'nobody', action: 'noop' } });
        now += 1000;
        await store.delete(lab.labId, { actor: 'janitor' });

        const history = await store.history(lab.labId);
        expect(history.map((entry) => [entry.actor, entry.action, entry.version])).toEqual([
          ['alice', 'created', 0],
          ['runner', 'thread.opened', 1],
          ['alice', 'kubectl.scale', null],
          ['alice', 'desired.stopped', 2],
          ['janitor', 'deleted', null],
        ]);
        expect(history[1]?.detail).toEqual({ threadId: 't-1' });
        expect(history.map((entry) => entry.at)).toEqual([...history.map((entry) => entry.at)].sort());
        expect(await store.history(lab.labId, 2)).toEqual(history.slice(-2));
      });

      it('caps the audit trail', async () => {
        const small = await harness.create({ clock, historyLimit: 5 });
        const lab = labRecord();
        await small.create(lab);
        for (let i = 0; i < 8; i++) await small.appendHistory(lab.labId, { actor: 'runner', action: `step-${i}` });
        expect((await small.history(lab.labId)).map((entry) => entry.action)).toEqual([
          'step-3',
          'step-4',
          'step-5',
          'step-6',
          'step-7',
        ]);
      });

      it('stamps updatedAt from the clock', async () => {
        const lab = labRecord();
        await store.create(lab);
        now += 5000;
        const updated = await store.update(lab.labId, (current) => ({ ...current, threadId: 't' }));
        expect(updated.updatedAt).toBe(new Date(now).toISOString());
      });
    });

    describe('message references', () => {
      it('remembers which message shows a logical key in a thread', async () => {
        const thread = `discord:g:c:${randomBytes(3).toString('hex')}`;
        expect(await store.getMessageRef(thread, 'status')).toBeUndefined();
        await store.setMessageRef(thread, 'status', 'm-1');
        await store.setMessageRef(thread, 'checks', 'm-2');
        expect(await store.getMessageRef(thread, 'status')).toBe('m-1');
        expect(await store.getMessageRef(thread, 'checks')).toBe('m-2');
        await store.deleteMessageRefs(thread);
        expect(await store.getMessageRef(thread, 'status')).toBeUndefined();
      });

      it('remembers which thread replaced a deleted one', async () => {
        const thread = `discord:g:c:${randomBytes(3).toString('hex')}`;
        const replacement = `discord:g:c:${randomBytes(3).toString('hex')}`;
        expect(await store.getThreadReplacement(thread)).toBeUndefined();
        await store.setThreadReplacement(thread, replacement);
        expect(await store.getThreadReplacement(thread)).toBe(replacement);
        expect(await store.getThreadReplacement(replacement)).toBeUndefined();
      });
    });

    describe('class records', () => {
      function classRecord(): ClassRecord {
        const at = new Date(now).toISOString();
        return {
          classId: `class-${randomBytes(4).toString('hex')}`,
          lessonId: 'docker-vs-kubernetes',
          instructor: { platform: 'discord', workspaceId: 'guild-1', userId: 'teacher' },
          members: [],
          state: 'open',
          createdAt: at,
          updatedAt: at,
          version: 0,
        };
      }

      it('creates once and adds 20 members joining at once without losing one', async () => {
        const record = classRecord();
        const [first, second] = await Promise.all([store.createClass(record), store.createClass(record)]);
        expect([first.created, second.created].sort()).toEqual([false, true]);
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            store.updateClass(record.classId, (current) => ({
              ...current,
              members: [
                ...current.members,
                { userId: `learner-${i}`, labId: randomBytes(6).toString('hex'), joinedAt: current.updatedAt },
              ],
            })),
          ),
        );
        const stored = await store.getClass(record.classId);
        expect(stored?.members).toHaveLength(20);
        expect(new Set(stored?.members.map((member) => member.userId)).size).toBe(20);
        expect(stored?.version).toBe(20);

        await store.updateClass(
          record.classId,
          (current) => ({ ...current, board: { threadId: 'c', messageId: 'm' } }),
          {
            audit: { actor: 'teacher', action: 'board.posted' },
          },
        );
        expect((await store.getClass(record.classId))?.board).toEqual({ threadId: 'c', messageId: 'm' });
        expect((await store.listClasses()).map((c) => c.classId)).toContain(record.classId);
        expect((await store.classHistory(record.classId)).at(-1)?.action).toBe('board.posted');

        expect(await store.deleteClass(record.classId)).toBe(true);
        expect(await store.getClass(record.classId)).toBeUndefined();
        expect((await store.listClasses()).map((c) => c.classId)).not.toContain(record.classId);
      });
    });
  });
}
