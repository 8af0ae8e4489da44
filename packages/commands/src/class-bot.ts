import {
  type ChatMessage,
  type Conversation,
  encodeThreadId,
  type IncomingAction,
  type IncomingCommand,
  platformOfThread,
  type Responder,
} from '@labbot/chat';
import {
  type Actor,
  authorize,
  type ClassCommand,
  type ClassLimits,
  classStageOf,
  createLabRecord,
  handedOverRecord,
  type LabOwner,
  type LabRecord,
  labIdFor,
  mayManageClass,
  newClassId,
  queuePositionText,
  sameOwner,
} from '@labbot/core';
import { evaluateChecks, type LessonCatalog } from '@labbot/lessons';
import type { LabQueues } from '@labbot/queue';
import type {
  CapacityReports,
  ClassHelpDesk,
  ClassProvisionSlots,
  ClassRecord,
  ClassRoster,
  FinalResult,
  HelpRequest,
  LabStore,
  WarmPoolStore,
} from '@labbot/store';
import { type ClassSnapshot, classCsv, learnerRows, renderClassBoard, renderClassStatus } from './class-board.js';
import { checkClassCapacity } from './class-capacity.js';
import { createSelfExtension, extensionLimitOf, utcTime } from './class-extend.js';
import { Refusal } from './refusal.js';
import { createWarmPool } from './warm-pool.js';

/** What the class side needs of the lab side (the lab bot owns lab threads and status messages). */
export interface ClassLabHooks {
  /** Opens the lab's thread when it has none (announcement in the channel) and shows its status there. */
  openThreadIfMissing(record: LabRecord, respond: Responder, title: string): Promise<LabRecord>;
}

export interface ClassBotOptions {
  store: LabStore;
  roster: ClassRoster;
  /** The class's provision slots (the runner takes them); a joiner behind a full class is told their place. */
  provisions?: Pick<ClassProvisionSlots, 'counts' | 'forget' | 'isWaiting'>;
  /** Warm labs of classes started with `warm=N` (prepared before learners join); no warm pools without it. */
  warmPool?: WarmPoolStore;
  /** The cluster's room (published by a runner): a class that cannot fit is refused; not checked without it. */
  capacity?: Pick<CapacityReports, 'latest'>;
  /** Raised hands (Need help / `/lab help-me`, Take / Done); help requests are refused without it. */
  helpDesk?: ClassHelpDesk;
  queues: LabQueues;
  lessons: LessonCatalog;
  instructorRoles: readonly string[];
  /** Roles (or user ids given as roles by the adapter) that may end any class. */
  adminRoles?: readonly string[];
  limits: { maxLabsPerUser: number; maxActiveLabs: number; labTtlMinutes: number };
  classLimits: ClassLimits;
  /** The longest text the platform takes in one block. */
  maxMessageLength: number;
  /** How a message points at a thread on this platform. */
  threadLink: (threadId: string) => string;
  /**
   * How long an ended class's results (members, checks, final results: what the board and the export read) are
   * kept (default CLASS_RESULTS_RETENTION_MS); its slots, line and raised hands go when it ends.
   */
  resultsRetentionMs?: number;
  /** At most one board edit per class in this time (default 2000 ms). */
  boardIntervalMs?: number;
  clock: () => Date;
  hooks: ClassLabHooks;
  logger: { warn(fields: Record<string, unknown>, message: string): void };
}

const text = (value: string, title?: string): ChatMessage => ({
  ...(title ? { title } : {}),
  blocks: [{ kind: 'text', text: value }],
});

const ownerOf = (actor: Actor): LabOwner => ({
  platform: actor.platform,
  workspaceId: actor.workspaceId,
  userId: actor.userId,
});

const isActive = (lab: LabRecord) => lab.desired.state === 'running' && lab.observed.phase !== 'failed';

/**
 * A class lab's status message is edited at most this often: a class of 100 editing every second would be 100
 * edits a second, over Discord's global limit and far over Slack's chat.update tier, and the board shows the class.
 */
export const CLASS_STATUS_INTERVAL_MS = 4000;

/** An ended class's results stay this long for `/lab class export` and `labbot class export` (30 days). */
export const CLASS_RESULTS_RETENTION_MS = 30 * 24 * 60 * 60_000;

/** The outbox key of a class's board message in its channel. */
export const boardKeyOf = (classId: string) => `class-${classId}`;

/** The channel a command came from, as a thread id whose thread is the channel itself. */
export function channelThreadIdOf(conversation: Conversation): string {
  return encodeThreadId({
    platform: conversation.platform,
    workspaceId: conversation.workspaceId,
    channelId: conversation.channelId,
    threadId: conversation.channelId,
  });
}

/** Where class views read from. */
export interface ClassSources {
  store: LabStore;
  roster: ClassRoster;
  lessons: LessonCatalog;
  helpDesk?: ClassHelpDesk | undefined;
}

/** Everything a class view is drawn from, read now. */
export async function classSnapshot(sources: ClassSources, klass: ClassRecord): Promise<ClassSnapshot> {
  const lesson = sources.lessons.find(klass.lessonId);
  const [members, labList, checks, finals, hands] = await Promise.all([
    sources.roster.members(klass.classId),
    sources.store.listByClass(klass.classId),
    sources.roster.checks(klass.classId),
    sources.roster.finals(klass.classId),
    sources.helpDesk?.list(klass.classId) ?? Promise.resolve([]),
  ]);
  return {
    klass,
    lessonTitle: lesson?.spec.title ?? klass.lessonId,
    checkCount: lesson?.spec.checks.length ?? 0,
    members,
    labs: new Map(labList.map((lab) => [lab.labId, lab])),
    checks,
    finals,
    hands,
  };
}

/**
 * When each learner's lab first became ready after they joined (the runner's `observed.ready` audit entry; a lab
 * id is the same for the same learner and lesson, so its trail may hold a ready from an earlier class or lab).
 */
async function readyTimesOf(
  store: LabStore,
  members: readonly { labId: string; joinedAt: string }[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await Promise.all(
    members.map(async ({ labId, joinedAt }) => {
      const joined = Date.parse(joinedAt);
      const entry = (await store.history(labId)).find(
        (candidate) => candidate.action === 'observed.ready' && Date.parse(candidate.at) >= joined,
      );
      if (entry) out.set(labId, entry.at);
    }),
  );
  return out;
}

/** The class results as CSV (`/lab class export` and `labbot class export`). */
export async function classExportCsv(sources: ClassSources, klass: ClassRecord): Promise<string> {
  const snapshot = await classSnapshot(sources, klass);
  const lesson = sources.lessons.find(klass.lessonId);
  const checkNames = lesson
    ? evaluateChecks(lesson, { pods: [], containerOutput: undefined, desiredReplicas: undefined, deletedPods: [] }).map(
        (result) => result.name,
      )
    : [];
  const ready = await readyTimesOf(sources.store, snapshot.members);
  return classCsv(snapshot, checkNames, (labId) => ready.get(labId));
}

/**
 * The class commands: start (the board with a Join button), join (an own lab and thread per learner),
 * status, end (every lab torn down, final results on the board) and export (CSV). The board is edited
 * through the outbox at most once per `boardIntervalMs` however many learners move.
 */
export function createClassBot(options: ClassBotOptions) {
  const { store, roster, queues, lessons, clock } = options;
  const boardIntervalMs = options.boardIntervalMs ?? 2000;
  const timers = new Map<string, NodeJS.Timeout>();
  const lastRefresh = new Map<string, number>();
  let stopped = false;

  function requireInstructor(
    actor: Actor,
    action: 'class-start' | 'class-status' | 'class-end' | 'class-export' | 'class-say' | 'class-extend',
  ) {
    const verdict = authorize({ actor, action, instructorRoles: options.instructorRoles });
    if (!verdict.allowed) throw new Refusal(`${verdict.reason} Ask your instructor for the class's Join button.`);
  }

  const sources: ClassSources = { store, roster, lessons, helpDesk: options.helpDesk };
  const snapshotOf = (klass: ClassRecord) => classSnapshot(sources, klass);

  /** Posts or edits the class message now (through the outbox, which keeps one message per class). */
  async function refreshBoard(classId: string): Promise<void> {
    const klass = await store.getClass(classId);
    if (!klass?.channelThreadId) return;
    const platform = platformOfThread(klass.channelThreadId) ?? klass.instructor.platform;
    const message = renderClassBoard(await snapshotOf(klass), { maxLength: options.maxMessageLength });
    await queues.enqueueOutbox(platform, {
      threadId: klass.channelThreadId,
      key: boardKeyOf(classId),
      message,
      minIntervalMs: boardIntervalMs,
    });
  }

  /** Something about a class changed: redraw its board once the interval since the last redraw has passed. */
  function touchBoard(classId: string): void {
    if (stopped || timers.has(classId)) return;
    const wait = Math.max(0, (lastRefresh.get(classId) ?? 0) + boardIntervalMs - Date.now());
    const timer = setTimeout(() => {
      timers.delete(classId);
      lastRefresh.set(classId, Date.now());
      refreshBoard(classId).catch((error: unknown) =>
        options.logger.warn({ err: error, classId }, 'could not refresh the class board'),
      );
    }, wait);
    timer.unref?.();
    timers.set(classId, timer);
  }

  /** The class a command means: the given id, else the open class of this channel, else the actor's latest class. */
  async function findClass(
    classId: string | undefined,
    conversation: Conversation,
    actor: Actor,
  ): Promise<ClassRecord | undefined> {
    if (classId) {
      const klass = await store.getClass(classId);
      const sameWorkspace =
        klass?.instructor.platform === actor.platform && klass.instructor.workspaceId === actor.workspaceId;
      return sameWorkspace ? klass : undefined;
    }
    const open = await roster.openClassOf(channelThreadIdOf(conversation));
    if (open) {
      const klass = await store.getClass(open);
      if (klass) return klass;
    }
    const mine = (await store.listClasses())
      .filter((klass) => sameOwner(klass.instructor, actor))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return mine.find((klass) => klass.state === 'open') ?? mine[0];
  }

  async function start(command: Extract<ClassCommand, { kind: 'class-start' }>, incoming: IncomingCommand) {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-start');
    await respond.defer({ ephemeral: true });
    if (conversation.isDirect) throw new Refusal('A class runs in a channel: type /lab class start in a channel.');
    const lesson = lessons.find(command.lessonId);
    if (!lesson) throw new Refusal(`There is no lesson "${command.lessonId}". See /lab lessons.`);
    if (command.variant && !lesson.spec.variants[command.variant]) {
      const known = Object.keys(lesson.spec.variants).join(', ') || 'none';
      throw new Refusal(`The lesson "${lesson.id}" has no variant "${command.variant}" (variants: ${known}).`);
    }
    const ceiling = options.classLimits.maxLearners;
    if (command.maxLearners !== undefined && command.maxLearners > ceiling) {
      throw new Refusal(`A class may have at most ${ceiling} learners here (you asked for ${command.maxLearners}).`);
    }
    if (command.ttlMinutes !== undefined && command.ttlMinutes > options.limits.labTtlMinutes) {
      throw new Refusal(
        `Labs may live at most ${options.limits.labTtlMinutes} minutes here (you asked for ${command.ttlMinutes}).`,
      );
    }
    const provisionCeiling = options.classLimits.maxConcurrentProvisions;
    if (command.maxConcurrentProvisions !== undefined && command.maxConcurrentProvisions > provisionCeiling) {
      throw new Refusal(
        `A class may set up at most ${provisionCeiling} labs at once here (you asked for ${command.maxConcurrentProvisions}).`,
      );
    }
    const extensionCeiling = options.classLimits.maxExtensionMinutes ?? 120;
    if (command.warmLabs !== undefined && !warm) throw new Refusal('Warm labs are not set up on this labbot.');
    if (command.selfExtendMinutes !== undefined && command.selfExtendMinutes > extensionCeiling) {
      throw new Refusal(
        `Labs may get at most ${extensionCeiling} extra minutes here, so self-extend may be at most ${extensionCeiling} (you asked for ${command.selfExtendMinutes}).`,
      );
    }
    const maxLearners = command.maxLearners ?? ceiling;
    const capacityNote = options.capacity
      ? await checkClassCapacity({ reports: options.capacity, clock, logger: options.logger }, lesson.id, maxLearners)
      : '';
    const channelThreadId = channelThreadIdOf(conversation);
    const classId = newClassId();
    let holder = await roster.claimChannel(channelThreadId, classId);
    if (holder !== classId) {
      const other = await store.getClass(holder);
      if (other?.state === 'open') {
        throw new Refusal(
          `A class of ${other.lessonId} is already running in this channel (class ${other.classId}). End it with /lab class end, or start yours in another channel.`,
        );
      }
      await roster.releaseChannel(channelThreadId, holder);
      holder = await roster.claimChannel(channelThreadId, classId);
      if (holder !== classId) throw new Refusal('Another class was just started in this channel.');
    }
    const now = clock().toISOString();
    const ttlMinutes = command.ttlMinutes ?? Math.min(lesson.spec.limits.ttlMinutes, options.limits.labTtlMinutes);
    await store.createClass(
      {
        classId,
        lessonId: lesson.id,
        ...(command.variant ? { variant: command.variant } : {}),
        instructor: ownerOf(actor),
        members: [],
        state: 'open',
        ttlMinutes,
        maxLearners,
        maxConcurrentProvisions: command.maxConcurrentProvisions ?? provisionCeiling,
        ...(command.selfExtendMinutes ? { selfExtendMinutes: command.selfExtendMinutes } : {}),
        ...(command.warmLabs && warm ? { warmLabs: Math.min(command.warmLabs, maxLearners) } : {}),
        channelThreadId,
        createdAt: now,
        updatedAt: now,
        version: 0,
      },
      { actor: actor.userId },
    );
    lastRefresh.set(classId, Date.now());
    await refreshBoard(classId);
    const started = await store.getClass(classId);
    const warmed = warm && started ? await warm.fill(started) : 0;
    await respond.reply(
      text(
        `${warmed ? `${warmed} warm labs are being prepared for the first learners. ` : ''}Class ${classId} of ${lesson.spec.title} started: the class message with a Join button is in this channel. Up to ${maxLearners} learners, labs live ${ttlMinutes} min. ${command.selfExtendMinutes ? `Learners may extend their own lab by ${command.selfExtendMinutes} min at a time from its expiry warning. ` : ''}/lab class status to see everyone, /lab class end to finish.${capacityNote ? ` ⚠️ ${capacityNote}` : ''}`,
      ),
      { ephemeral: true },
    );
  }

  async function join(classId: string | undefined, incoming: IncomingCommand | IncomingAction): Promise<void> {
    const { actor, conversation, respond } = incoming;
    if (conversation.isDirect) throw new Refusal('Join a class from its channel.');
    // Acknowledge at once: in a burst of joins the lookups below may take longer than the platform waits.
    await respond.defer({ ephemeral: true });
    const klass = await findClass(classId, conversation, actor);
    if (!klass || (classId === undefined && klass.state !== 'open' && !sameOwner(klass.instructor, actor))) {
      throw new Refusal('There is no open class in this channel. Ask your instructor to start one.');
    }
    if (klass.state !== 'open') throw new Refusal('This class has ended: its labs were torn down.');
    const lesson = lessons.find(klass.lessonId);
    if (!lesson) throw new Refusal(`The lesson "${klass.lessonId}" of this class is no longer installed.`);
    const owner = ownerOf(actor);
    const labId = labIdFor({ ...owner, lessonId: lesson.id });
    // Independent reads at once: in a burst of joins every round trip waits behind everyone else's work.
    const [member, existing, owned] = await Promise.all([
      roster.member(klass.classId, actor.userId),
      store.get(labId),
      store.listByOwner(owner),
    ]);
    if (member) {
      const lab = await store.get(member.labId);
      await respond.reply(
        text(
          `You already joined this class: your lab is in ${lab?.threadId ? options.threadLink(lab.threadId) : 'your thread (opening)'}.`,
        ),
        { ephemeral: true },
      );
      return;
    }
    if (existing && isActive(existing) && existing.classId !== klass.classId) {
      throw new Refusal(
        `You already have a ${lesson.id} lab running outside this class. Stop it with /lab stop ${lesson.id}, then join again.`,
      );
    }
    const mine = owned.filter((lab) => isActive(lab) && lab.labId !== labId);
    if (mine.length >= options.limits.maxLabsPerUser) {
      throw new Refusal(
        `You already have ${mine.length} labs running (the limit is ${options.limits.maxLabsPerUser}). Stop one with /lab stop <lesson> first.`,
      );
    }
    const max = Math.min(klass.maxLearners ?? options.classLimits.maxLearners, options.classLimits.maxLearners);
    // A ready warm lab of the class, for a learner with no lab of this lesson yet: handed over as it is (its pods
    // keep running), so the lab never enters the provision line.
    const warmLab = !existing && warm ? await warm.claim(klass) : undefined;
    const joined = await roster.join(
      klass.classId,
      { userId: actor.userId, labId, joinedAt: clock().toISOString() },
      max,
      { inLine: !warmLab },
    );
    if (warmLab && joined.outcome !== 'joined') await warm?.giveBack(klass, warmLab);
    if (joined.outcome === 'full') throw new Refusal(`This class is full: ${max} learners joined already.`);
    if (joined.outcome === 'already') {
      await respond.reply(text('You already joined this class: your lab is in your thread.'), { ephemeral: true });
      return;
    }
    const record = createLabRecord({
      owner,
      lessonId: lesson.id,
      ...(klass.variant ? { variant: klass.variant } : {}),
      ttlMinutes: klass.ttlMinutes ?? options.limits.labTtlMinutes,
      classId: klass.classId,
      now: clock,
    });
    if (warmLab) await warm?.retire(warmLab, actor.userId);
    const created = await store.create(warmLab ? handedOverRecord(record, warmLab) : record, { actor: actor.userId });
    let lab = created.record;
    if (warmLab && !created.created) {
      // The learner got a lab of this lesson meanwhile (another command): the warm namespace, named by no record
      // now, is left to the janitor's orphan sweep.
      options.logger.warn(
        { labId, warmLabId: warmLab.labId },
        'a warm lab was taken for a learner who has a lab already',
      );
    }
    // Every join takes a place: the pool refills, or gives up the warm labs beyond the places left.
    if (warm) warm.refill(klass);
    if (!created.created) {
      // A lab of this lesson from before (stopped, failed, or of an ended class): start it over for this class.
      lab = await store.update(
        labId,
        (current) => ({
          ...current,
          classId: klass.classId,
          variant: klass.variant,
          threadId: current.classId === klass.classId ? current.threadId : undefined,
          desired: { state: 'running', generation: current.desired.generation + 1 },
          expiresAt: record.expiresAt,
          observed: { ...current.observed, expiryWarnedAt: undefined },
        }),
        { audit: { actor: actor.userId, action: 'class.joined', detail: { classId: klass.classId } } },
      );
    }
    // Provisioning follows join order: the roster's join put the lab in line at its place, which is also the
    // request's priority.
    const handedOver = created.created && warmLab !== undefined;
    const line = handedOver ? '' : await lineNotice(klass);
    // A handed-over lab's reconcile only relabels its namespace: first in the queue. Its thread opens meanwhile, and
    // its audit entries are written meanwhile (nothing here reads them).
    const [withThread] = await Promise.all([
      options.hooks.openThreadIfMissing(lab, respond, lesson.spec.title),
      queues.enqueueReconcile(labId, handedOver ? 'class.warm-taken' : 'class.join', {
        priority: handedOver ? 1 : joined.entry.seq,
      }),
      handedOver ? auditHandover(labId, actor.userId, klass.classId, warmLab, lab.observed.pods.length) : undefined,
    ]);
    touchBoard(klass.classId);
    await respond.reply(
      text(
        `You joined the class: your own lab of ${lesson.spec.title} is ${handedOver ? 'ready' : 'starting'} in ${withThread.threadId ? options.threadLink(withThread.threadId) : 'your thread'}.${line}`,
      ),
      { ephemeral: true },
    );
  }

  /** A learner's lab made from a warm one: who took which warm lab, and ready from that moment (the board's ready time). */
  async function auditHandover(labId: string, userId: string, classId: string, warmLab: LabRecord, pods: number) {
    await store.appendHistory(labId, {
      actor: userId,
      action: 'class.warm-taken',
      detail: { classId, warmLabId: warmLab.labId },
    });
    await store.appendHistory(labId, { actor: 'warm-pool', action: 'observed.ready', detail: { pods } });
  }

  /** When every provision slot of the class is taken: one sentence on the joiner's place (empty otherwise). */
  async function lineNotice(klass: ClassRecord): Promise<string> {
    if (!options.provisions) return '';
    const max = klass.maxConcurrentProvisions ?? options.classLimits.maxConcurrentProvisions;
    // The joiner is in line already (the roster's join put it there).
    const { inFlight, waiting } = await options.provisions.counts(klass.classId);
    const place = inFlight + waiting - max;
    if (place < 1) return '';
    return ` This class sets up ${max} labs at a time and all ${max} are taken: you are number ${place} in line, and your lab starts as soon as one is done (in join order).`;
  }

  async function status(classId: string | undefined, incoming: IncomingCommand): Promise<void> {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-status');
    const klass = await findClass(classId, conversation, actor);
    if (!klass) throw new Refusal('There is no class here. Start one with /lab class start <lesson>.');
    const message = renderClassStatus(await snapshotOf(klass), {
      maxLength: options.maxMessageLength,
      threadLink: options.threadLink,
    });
    await respond.reply(message, { ephemeral: true });
  }

  const readyTimes = (members: readonly { labId: string; joinedAt: string }[]) => readyTimesOf(store, members);

  async function end(classId: string | undefined, incoming: IncomingCommand): Promise<void> {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-end');
    const klass = await findClass(classId, conversation, actor);
    if (!klass) throw new Refusal('There is no class here to end.');
    if (!mayManageClass(actor, klass, options.adminRoles)) {
      throw new Refusal(`Only the instructor who started class ${klass.classId}, or an admin, can end it.`);
    }
    if (klass.state === 'ended') {
      await respond.error(`Class ${klass.classId} has ended already.`);
      return;
    }
    await respond.defer({ ephemeral: true });
    const snapshot = await snapshotOf(klass);
    const ready = await readyTimes(snapshot.members);
    const finals = new Map<string, FinalResult>();
    for (const row of learnerRows(snapshot)) {
      const lab = snapshot.labs.get(row.entry.labId);
      finals.set(row.entry.labId, {
        stage: lab ? classStageOf(lab.observed.phase) : row.stage,
        ...(row.diagnosis ? { diagnosis: row.diagnosis.slice(0, 64) } : {}),
        ...(ready.get(row.entry.labId) ? { readyAt: ready.get(row.entry.labId) } : {}),
      });
    }
    await roster.setFinal(klass.classId, finals);
    await store.updateClass(
      klass.classId,
      (current) =>
        current.state === 'ended' ? undefined : { ...current, state: 'ended', endedAt: clock().toISOString() },
      { audit: { actor: actor.userId, action: 'class.ended' } },
    );
    if (klass.channelThreadId) await roster.releaseChannel(klass.channelThreadId, klass.classId);
    await warm?.drain(klass, actor.userId);
    // Nothing provisions or asks for help in an ended class: those keys go now; the results expire later.
    await options.provisions?.forget(klass.classId);
    await options.helpDesk?.forget(klass.classId);
    await roster.retire(klass.classId, options.resultsRetentionMs ?? CLASS_RESULTS_RETENTION_MS);
    let stopping = 0;
    for (const lab of snapshot.labs.values()) {
      if (lab.classId !== klass.classId) continue;
      if (lab.desired.state === 'running') {
        await store.update(
          lab.labId,
          (current) =>
            current.desired.state === 'stopped'
              ? undefined
              : { ...current, desired: { ...current.desired, state: 'stopped' } },
          { audit: { actor: actor.userId, action: 'desired.stopped', detail: { classId: klass.classId } } },
        );
        stopping++;
      }
      await queues.enqueueReconcile(lab.labId, 'class.end');
      if (lab.threadId) {
        await queues.enqueueOutbox(platformOfThread(lab.threadId) ?? lab.owner.platform, {
          threadId: lab.threadId,
          key: 'class-ended',
          labId: lab.labId,
          message: {
            tone: 'info',
            blocks: [
              {
                kind: 'text',
                text: `🏁 The class has ended: this lab is being torn down. Thank you for joining, <@${lab.owner.userId}>!`,
              },
            ],
          },
        });
      }
    }
    lastRefresh.set(klass.classId, Date.now());
    await refreshBoard(klass.classId);
    await respond.reply(
      text(
        `Class ${klass.classId} ended: ${stopping} labs are being torn down. The class message shows the final results; /lab class export ${klass.classId} gives them as CSV.`,
      ),
      { ephemeral: true },
    );
  }

  /** `/lab class say <text>`: one message in every learner's thread, through the outbox (one post per thread). */
  async function say(said: string, incoming: IncomingCommand): Promise<void> {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-say');
    const klass = await findClass(undefined, conversation, actor);
    if (klass?.state !== 'open') throw new Refusal('There is no open class here to send a message to.');
    if (!mayManageClass(actor, klass, options.adminRoles)) {
      throw new Refusal(
        `Only the instructor who started class ${klass.classId}, or an admin, can message its learners.`,
      );
    }
    await respond.defer({ ephemeral: true });
    // One key per broadcast: each is a new message in every thread, and a retried delivery posts it once.
    const key = `class-say-${clock().getTime().toString(36)}-${newClassId().slice(0, 4)}`;
    const labs = (await store.listByClass(klass.classId)).filter(
      (lab) => lab.classId === klass.classId && lab.threadId !== undefined && lab.desired.state === 'running',
    );
    await Promise.all(
      labs.map((lab) =>
        queues.enqueueOutbox(platformOfThread(lab.threadId ?? '') ?? lab.owner.platform, {
          threadId: lab.threadId ?? '',
          key,
          labId: lab.labId,
          message: { tone: 'info', blocks: [{ kind: 'text', text: `📣 From <@${actor.userId}>: ${said}` }] },
        }),
      ),
    );
    await respond.reply(text(`Sent to the threads of ${labs.length} learners of class ${klass.classId}.`), {
      ephemeral: true,
    });
  }

  function helpDeskOrRefuse(): ClassHelpDesk {
    if (!options.helpDesk) throw new Refusal('Help requests are not set up on this labbot.');
    return options.helpDesk;
  }

  /** Where a raised hand is shown to the instructors: one message in the class channel per raised hand. */
  async function showHand(klass: ClassRecord, hand: HelpRequest, lab: LabRecord | undefined): Promise<void> {
    if (!klass.channelThreadId) return;
    const where = lab?.threadId ? options.threadLink(lab.threadId) : 'their thread';
    const learner = `<@${hand.userId}>`;
    const stage = lab ? classStageOf(lab.observed.phase) : undefined;
    const diagnosis = lab?.observed.diagnosis?.reason ?? lab?.observed.error?.code;
    const detail = [stage, diagnosis].filter(Boolean).join(' · ');
    const message: ChatMessage = hand.takenBy
      ? {
          title: `🧑‍🏫 <@${hand.takenBy}> is helping ${learner}`,
          tone: 'progress',
          blocks: [{ kind: 'text', text: `In ${where}. Press Done when ${learner} is unstuck.` }],
          buttons: [{ action: 'done', target: hand.labId, label: 'Done', style: 'primary' }],
        }
      : {
          title: `✋ ${learner} needs help`,
          tone: 'warning',
          blocks: [
            {
              kind: 'text',
              text: `${learner}${detail ? ` (${detail})` : ''} raised a hand${hand.text ? `: “${hand.text}”` : '.'} Their lab is in ${where}. Press Take to go there (one instructor per hand).`,
            },
          ],
          buttons: [{ action: 'take', target: hand.labId, label: 'Take', style: 'primary' }],
        };
    await queues.enqueueOutbox(platformOfThread(klass.channelThreadId) ?? klass.instructor.platform, {
      threadId: klass.channelThreadId,
      // One message per raised hand (a hand raised again after Done is a new message).
      key: `help-${hand.labId}-${Date.parse(hand.raisedAt).toString(36)}`,
      message,
    });
  }

  /** A learner raises their hand: from their thread, or from the channel of their class. */
  async function raiseHand(lab: LabRecord, actor: Actor, note: string | undefined, respond: Responder): Promise<void> {
    const desk = helpDeskOrRefuse();
    if (!sameOwner(lab.owner, actor)) throw new Refusal('Only the learner of this lab can ask for help with it.');
    const klass = lab.classId ? await store.getClass(lab.classId) : undefined;
    if (klass?.state !== 'open')
      throw new Refusal('Raising a hand works in a class: this lab is not in an open class.');
    await respond.defer({ ephemeral: true });
    const raised = await desk.raise(klass.classId, {
      labId: lab.labId,
      userId: actor.userId,
      raisedAt: clock().toISOString(),
      ...(note ? { text: note } : {}),
    });
    if (raised.outcome === 'already') {
      const helper = raised.request.takenBy ? ` <@${raised.request.takenBy}> is on the way.` : '';
      await respond.reply(text(`Your hand is already up.${helper}`), { ephemeral: true });
      return;
    }
    await showHand(klass, raised.request, lab);
    touchBoard(klass.classId);
    await respond.reply(
      text('✋ Your hand is up: your instructor was told and will come to your thread. Keep going meanwhile.'),
      { ephemeral: true },
    );
  }

  /** `/lab help-me`: the learner's lab of this thread, else their lab in the class of this channel. */
  async function helpMe(note: string | undefined, incoming: IncomingCommand): Promise<void> {
    const { actor, conversation } = incoming;
    const mine = (await store.listByOwner(ownerOf(actor))).filter((lab) => lab.classId && isActive(lab));
    const openClass = await roster.openClassOf(channelThreadIdOf(conversation));
    const lab =
      mine.find((candidate) => conversation.threadId && candidate.threadId === conversation.threadId) ??
      mine.find((candidate) => candidate.classId === openClass) ??
      (mine.length === 1 ? mine[0] : undefined);
    if (!lab) throw new Refusal('Ask for help from your class lab’s thread: you have no lab in a class here.');
    await raiseHand(lab, actor, note, incoming.respond);
  }

  /** An instructor takes a raised hand (one instructor per hand), or says the learner was helped. */
  async function takeOrDone(
    action: 'take' | 'done',
    labId: string,
    incoming: IncomingCommand | IncomingAction,
  ): Promise<void> {
    const { actor, respond } = incoming;
    const desk = helpDeskOrRefuse();
    const verdict = authorize({ actor, action: 'class-take', instructorRoles: options.instructorRoles });
    if (!verdict.allowed) throw new Refusal(`${verdict.reason} Only instructors take raised hands.`);
    const lab = await store.get(labId);
    const klass = lab?.classId ? await store.getClass(lab.classId) : undefined;
    if (!lab || !klass || klass.instructor.workspaceId !== actor.workspaceId)
      throw new Refusal('That hand is not up any more.');
    await respond.defer({ ephemeral: true });
    const learner = `<@${lab.owner.userId}>`;
    const where = lab.threadId ? options.threadLink(lab.threadId) : 'their thread';
    if (action === 'take') {
      const taken = await desk.take(klass.classId, labId, actor.userId, clock().toISOString());
      if (taken.outcome === 'none') throw new Refusal(`${learner}'s hand is not up any more.`);
      if (taken.outcome === 'taken-by-other')
        throw new Refusal(`<@${taken.request.takenBy}> is already helping ${learner}.`);
      await showHand(klass, taken.request, lab);
      if (lab.threadId) {
        await queues.enqueueOutbox(platformOfThread(lab.threadId) ?? lab.owner.platform, {
          threadId: lab.threadId,
          key: `help-coming-${Date.parse(taken.request.raisedAt).toString(36)}`,
          labId,
          message: { tone: 'info', blocks: [{ kind: 'text', text: `🧑‍🏫 <@${actor.userId}> is coming to help you.` }] },
        });
      }
      touchBoard(klass.classId);
      await respond.reply(text(`You are helping ${learner}: ${where}.`), { ephemeral: true });
      return;
    }
    const hands = await desk.list(klass.classId);
    const hand = hands.find((candidate) => candidate.labId === labId);
    if (!hand) throw new Refusal(`${learner}'s hand is not up any more.`);
    if (hand.takenBy && hand.takenBy !== actor.userId && !mayManageClass(actor, klass, options.adminRoles))
      throw new Refusal(`<@${hand.takenBy}> is helping ${learner}: they press Done.`);
    const lowered = await desk.done(klass.classId, labId);
    if (lowered) {
      await queues.enqueueOutbox(platformOfThread(klass.channelThreadId ?? '') ?? klass.instructor.platform, {
        threadId: klass.channelThreadId ?? '',
        key: `help-${labId}-${Date.parse(lowered.raisedAt).toString(36)}`,
        message: {
          title: `✅ ${learner} was helped${lowered.takenBy ? ` by <@${lowered.takenBy}>` : ''}`,
          tone: 'success',
          blocks: [{ kind: 'text', text: `Their lab is in ${where}.` }],
        },
      });
    }
    touchBoard(klass.classId);
    await respond.reply(text(`${learner}'s hand is down.`), { ephemeral: true });
  }

  /** `/lab class take|done <learner>`: the learner's lab in the class of this channel (or the instructor's class). */
  async function takeOrDoneByName(action: 'take' | 'done', learner: string, incoming: IncomingCommand): Promise<void> {
    const klass = await findClass(undefined, incoming.conversation, incoming.actor);
    const member = klass ? await roster.member(klass.classId, learner) : undefined;
    if (!member) throw new Refusal(`<@${learner}> is not a learner of the class here.`);
    await takeOrDone(action, member.labId, incoming);
  }

  /**
   * `/lab class extend [learner] <minutes>`: more time for one learner or everyone; a lab ends at most
   * `maxExtensionMinutes` after the class's lab lifetime from its join, and each learner is told in their thread.
   */
  async function extend(command: Extract<ClassCommand, { kind: 'class-extend' }>, incoming: IncomingCommand) {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-extend');
    const klass = await findClass(undefined, conversation, actor);
    if (klass?.state !== 'open') throw new Refusal('There is no open class here to give more time to.');
    if (!mayManageClass(actor, klass, options.adminRoles)) {
      throw new Refusal(
        `Only the instructor who started class ${klass.classId}, or an admin, can give its labs more time.`,
      );
    }
    const members = (await roster.members(klass.classId)).filter(
      (member) => command.learner === undefined || member.userId === command.learner,
    );
    if (members.length === 0) throw new Refusal(`<@${command.learner}> is not a learner of class ${klass.classId}.`);
    await respond.defer({ ephemeral: true });
    const ceiling = options.classLimits.maxExtensionMinutes ?? 120;
    const ttl = klass.ttlMinutes ?? options.limits.labTtlMinutes;
    const now = clock();
    const key = `class-extend-${now.getTime().toString(36)}`;
    let extended = 0;
    const atLimit: string[] = [];
    for (const member of members) {
      const lab = await store.get(member.labId);
      if (lab?.classId !== klass.classId || lab.desired.state !== 'running') continue;
      const limit = extensionLimitOf(member.joinedAt, ttl, ceiling);
      const wanted = Date.parse(lab.expiresAt) + command.minutes * 60_000;
      const until = Math.min(wanted, limit);
      if (until < wanted) atLimit.push(member.userId);
      if (until <= Date.parse(lab.expiresAt)) continue;
      const updated = await store.update(
        lab.labId,
        (current) => ({
          ...current,
          expiresAt: new Date(until).toISOString(),
          // A new expiry gets its own warning.
          observed: { ...current.observed, expiryWarnedAt: undefined },
        }),
        { audit: { actor: actor.userId, action: 'class.extended', detail: { minutes: command.minutes } } },
      );
      extended++;
      if (updated.threadId) {
        const minutesLeft = Math.round((until - now.getTime()) / 60_000);
        await queues.enqueueOutbox(platformOfThread(updated.threadId) ?? updated.owner.platform, {
          threadId: updated.threadId,
          key,
          labId: updated.labId,
          message: {
            tone: 'info',
            blocks: [
              {
                kind: 'text',
                text: `⏰ <@${actor.userId}> gave your lab more time: it now ends in ${minutesLeft} min (${utcTime(until)}).`,
              },
            ],
          },
        });
      }
    }
    const limitNote = atLimit.length
      ? ` ${atLimit.map((userId) => `<@${userId}>`).join(', ')} reached the limit here (${ceiling} min beyond the ${ttl}-minute lab lifetime).`
      : '';
    await respond.reply(
      text(
        `Gave ${extended} ${extended === 1 ? 'lab' : 'labs'} of class ${klass.classId} up to ${command.minutes} more minutes.${limitNote}`,
      ),
      { ephemeral: true },
    );
  }

  const warm = options.warmPool
    ? createWarmPool({
        store,
        pool: options.warmPool,
        roster,
        queues,
        defaultTtlMinutes: options.limits.labTtlMinutes,
        clock,
        logger: options.logger,
      })
    : undefined;

  const selfExtension = createSelfExtension({
    store,
    roster,
    queues,
    ceilingMinutes: options.classLimits.maxExtensionMinutes ?? 120,
    defaultTtlMinutes: options.limits.labTtlMinutes,
    clock,
  });

  const exportCsv = (klass: ClassRecord) => classExportCsv(sources, klass);

  async function exportClass(classId: string | undefined, incoming: IncomingCommand): Promise<void> {
    const { actor, conversation, respond } = incoming;
    requireInstructor(actor, 'class-export');
    const klass = await findClass(classId, conversation, actor);
    if (!klass) throw new Refusal('There is no class here to export.');
    await respond.defer({ ephemeral: true });
    const csv = await exportCsv(klass);
    const rows = csv.trimEnd().split('\n').length - 1;
    const message: ChatMessage = {
      title: `Class ${klass.classId} (${klass.lessonId}): ${rows} learners`,
      blocks: [{ kind: 'text', text: `Results of class ${klass.classId} as CSV.` }],
    };
    if (respond.replyFile) {
      try {
        await respond.replyFile({ name: `class-${klass.classId}.csv`, content: csv, message }, { ephemeral: true });
        return;
      } catch (error) {
        // The upload failed: the CSV still reaches the instructor, as text.
        options.logger.warn({ err: error, classId: klass.classId }, 'could not send the export as a file');
      }
    }
    // No files on this platform: the CSV in code blocks, cut at line ends to fit each block.
    const budget = Math.max(500, Math.min(options.maxMessageLength, 3000) - 100);
    const chunks: string[] = [];
    let current = '';
    for (const line of csv.trimEnd().split('\n')) {
      if (current.length + line.length + 1 > budget && current) {
        chunks.push(current);
        current = '';
      }
      current += `${current ? '\n' : ''}${line}`;
    }
    if (current) chunks.push(current);
    await respond.reply(
      { ...message, blocks: chunks.slice(0, 19).map((chunk) => ({ kind: 'code' as const, text: chunk })) },
      { ephemeral: true },
    );
  }

  return {
    /** Runs one class command (the lab bot routes every `class-*` command here). */
    async run(command: ClassCommand, incoming: IncomingCommand): Promise<void> {
      switch (command.kind) {
        case 'class-start':
          return start(command, incoming);
        case 'class-join':
          return join(command.classId, incoming);
        case 'class-status':
          return status(command.classId, incoming);
        case 'class-end':
          return end(command.classId, incoming);
        case 'class-export':
          return exportClass(command.classId, incoming);
        case 'class-say':
          return say(command.text, incoming);
        case 'help-me':
          return helpMe(command.text, incoming);
        case 'class-take':
          return takeOrDoneByName('take', command.learner, incoming);
        case 'class-extend':
          return extend(command, incoming);
        case 'class-done':
          return takeOrDoneByName('done', command.learner, incoming);
      }
    },
    /** The Join button of a class message. */
    join: (classId: string, incoming: IncomingAction) => join(classId, incoming),
    /** The Need help button of a lab (its learner), and Take / Done on a raised hand (instructors). */
    async helpAction(action: 'help' | 'take' | 'done', labId: string, incoming: IncomingAction): Promise<void> {
      if (action !== 'help') return takeOrDone(action, labId, incoming);
      const lab = await store.get(labId);
      if (!lab) throw new Refusal('That lab no longer exists.');
      await raiseHand(lab, incoming.actor, undefined, incoming.respond);
    },
    /** The buttons of a lab's expiry warning (Extend, when its class lets learners extend their own labs). */
    expiryWarningButtons: selfExtension.warningButtons,
    /** A learner pressed Extend on their lab's expiry warning. */
    selfExtend: selfExtension.press,
    /** A learner of the class moved (a LabEvent, a check): redraw the board soon. */
    touchBoard,
    /**
     * The line a class lab waiting for a provision slot shows above its status; undefined once it is not waiting
     * (a notice that arrives after its lab started changes nothing).
     */
    async queueNotice(
      lab: LabRecord,
      notice: { place: number; estimateSeconds?: number },
    ): Promise<string | undefined> {
      if (!lab.classId || !(await options.provisions?.isWaiting(lab.classId, lab.labId))) return undefined;
      return queuePositionText(notice.place, notice.estimateSeconds);
    },
    /** Records a learner's `/lab check` results for the board and the export. */
    async recordChecks(lab: LabRecord, results: { name: string; passed: boolean }[]): Promise<void> {
      if (!lab.classId) return;
      await roster.recordChecks(lab.classId, lab.labId, results, clock().toISOString());
      touchBoard(lab.classId);
    },
    /** After a restart: redraw the boards of this platform's open classes (events may have been missed). */
    async resume(platform: string): Promise<void> {
      for (const klass of await store.listClasses()) {
        if (klass.state === 'open' && klass.instructor.platform === platform) touchBoard(klass.classId);
      }
    },
    exportCsv,
    refreshBoard,
    stop(): void {
      stopped = true;
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}

export type ClassBot = ReturnType<typeof createClassBot>;
