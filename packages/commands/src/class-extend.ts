import { type ChatButton, type IncomingAction, platformOfThread } from '@labbot/chat';
import { type LabRecord, sameOwner } from '@labbot/core';
import type { LabQueues } from '@labbot/queue';
import type { ClassRoster, LabStore } from '@labbot/store';
import { Refusal } from './refusal.js';

/** The latest a class lab may end: its class's lab lifetime from the join, plus the operator's extension ceiling. */
export function extensionLimitOf(joinedAt: string, ttlMinutes: number, ceilingMinutes: number): number {
  return Date.parse(joinedAt) + (ttlMinutes + ceilingMinutes) * 60_000;
}

/** "12:40 UTC" */
export const utcTime = (ms: number) => `${new Date(ms).toISOString().slice(11, 16)} UTC`;

export interface SelfExtensionOptions {
  store: LabStore;
  roster: Pick<ClassRoster, 'member'>;
  queues: Pick<LabQueues, 'enqueueOutbox'>;
  /** Most minutes a lab may get beyond its class's lab lifetime (LABBOT_CLASS_MAX_EXTENSION_MINUTES). */
  ceilingMinutes: number;
  /** The lab lifetime of a class that set none. */
  defaultTtlMinutes: number;
  clock: () => Date;
}

/**
 * A class that allows self-extension (`self-extend=N` at start): the learner's expiry warning carries an Extend
 * button; each press by the lab's own learner adds N minutes, never beyond the operator's ceiling.
 */
export function createSelfExtension(options: SelfExtensionOptions) {
  const { store, clock } = options;

  async function classOf(lab: LabRecord) {
    const klass = lab.classId ? await store.getClass(lab.classId) : undefined;
    return klass?.state === 'open' && klass.selfExtendMinutes
      ? { ...klass, selfExtendMinutes: klass.selfExtendMinutes }
      : undefined;
  }

  return {
    /** The buttons of a lab's expiry warning: Extend when its class lets learners extend (none otherwise). */
    async warningButtons(lab: LabRecord): Promise<ChatButton[]> {
      const klass = await classOf(lab);
      if (!klass) return [];
      return [{ action: 'extend', target: lab.labId, label: 'Extend', style: 'primary' }];
    },

    /** A press of Extend: only the lab's learner, once per press, within the ceiling; they are told the new end. */
    async press(labId: string, incoming: IncomingAction): Promise<void> {
      const { actor, respond } = incoming;
      const lab = await store.get(labId);
      if (lab?.desired.state !== 'running') throw new Refusal('That lab is no longer running.');
      if (!sameOwner(lab.owner, actor))
        throw new Refusal(`Only <@${lab.owner.userId}> can extend this lab: it is theirs.`);
      const klass = await classOf(lab);
      if (!klass) throw new Refusal('This lab’s class does not let learners extend their labs. Ask your instructor.');
      const member = await options.roster.member(klass.classId, actor.userId);
      if (member?.labId !== lab.labId) throw new Refusal('This lab is not part of your class any more.');
      await respond.defer({ ephemeral: true });
      const ttl = klass.ttlMinutes ?? options.defaultTtlMinutes;
      const limit = extensionLimitOf(member.joinedAt, ttl, options.ceilingMinutes);
      let changed = false;
      let atLimit = false;
      const updated = await store.update(
        lab.labId,
        (current) => {
          // Computed from the record being written, so two quick presses add twice, never past the limit.
          const wanted = Date.parse(current.expiresAt) + klass.selfExtendMinutes * 60_000;
          const until = Math.min(wanted, limit);
          atLimit = until < wanted;
          changed = until > Date.parse(current.expiresAt);
          if (!changed) return undefined;
          return {
            ...current,
            expiresAt: new Date(until).toISOString(),
            // A new expiry gets its own warning (with the button again).
            observed: { ...current.observed, expiryWarnedAt: undefined },
          };
        },
        { audit: { actor: actor.userId, action: 'lab.self-extended', detail: { minutes: klass.selfExtendMinutes } } },
      );
      const ends = Date.parse(updated.expiresAt);
      if (!changed) {
        throw new Refusal(
          `Your lab already has all the time this class allows: it ends at ${utcTime(ends)} (${options.ceilingMinutes} min beyond the ${ttl}-minute lab lifetime).`,
        );
      }
      const now = clock().getTime();
      const minutesLeft = Math.max(0, Math.round((ends - now) / 60_000));
      const limitNote = atLimit ? ' That is the most this class allows.' : '';
      const sentence = `⏰ Your lab now ends in ${minutesLeft} min (${utcTime(ends)}).${limitNote}`;
      if (updated.threadId) {
        await options.queues.enqueueOutbox(platformOfThread(updated.threadId) ?? updated.owner.platform, {
          threadId: updated.threadId,
          key: `self-extend-${now.toString(36)}`,
          labId: updated.labId,
          message: {
            tone: 'info',
            blocks: [{ kind: 'text', text: `<@${actor.userId}> extended this lab. ${sentence}` }],
          },
        });
      }
      await respond.reply({ blocks: [{ kind: 'text', text: sentence }] }, { ephemeral: true });
    },
  };
}
