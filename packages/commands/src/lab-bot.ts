import {
  type ChatHandlers,
  type ChatMessage,
  type IncomingAction,
  type IncomingCommand,
  platformOfThread,
  type Responder,
} from '@labbot/chat';
import { createLogger, type Logger } from '@labbot/config';
import {
  type Actor,
  authorize,
  awaitsContainerOutput,
  type ClassLimits,
  createLabRecord,
  formatKubectlCommand,
  isLabActive,
  LAB_COMMAND_HELP,
  type LabCommand,
  type LabEvent,
  type LabOwner,
  type LabPhase,
  type LabRecord,
  labIdFor,
  MAX_MANIFEST_LENGTH,
  ownerKeyFor,
  parseLabCommand,
  userMessageOf,
} from '@labbot/core';
import { evaluateChecks, type LessonCatalog } from '@labbot/lessons';
import type { KubectlClient, LabQueues, LearnerBuildClient } from '@labbot/queue';
import type { ClassRoster, LabStore, RateLimiter } from '@labbot/store';
import { labThreadTitle } from './chat-delivery.js';
import { CLASS_STATUS_INTERVAL_MS, type ClassBot, type ClassBotOptions, createClassBot } from './class-bot.js';
import {
  BUILD_FILES_REQUEST,
  buildResultMessage,
  filesOfBuild,
  manifestMessage,
  submitBuild,
  wantsBuildForm,
} from './learner-build.js';
import { Refusal } from './refusal.js';
import { renderStatus } from './status-view.js';

export interface LabBotOptions {
  store: LabStore;
  queues: LabQueues;
  /** Runs the learner's kubectl subset through the runner (the chat side holds no cluster credentials). */
  kubectl: KubectlClient;
  /** Sends a learner's Dockerfile to the runner to build (/lab build); the command is refused without it. */
  builds?: LearnerBuildClient;
  lessons: LessonCatalog;
  /** Roles that make an actor an instructor (class commands). */
  instructorRoles: readonly string[];
  limits: { maxLabsPerUser: number; maxActiveLabs: number; labTtlMinutes: number };
  /**
   * Counts each learner's /lab start, /lab kubectl and /lab check (actions `start`, `kubectl`, `check`) and
   * refuses one over its rule with "slow down"; nothing is limited without it.
   */
  rateLimiter?: RateLimiter;
  /** Classes: who joined which class (see createClassRoster), limits, admins; class commands are refused without. */
  classes?: {
    roster: ClassRoster;
    provisions?: ClassBotOptions['provisions'];
    capacity?: ClassBotOptions['capacity'];
    warmPool?: ClassBotOptions['warmPool'];
    helpDesk?: ClassBotOptions['helpDesk'];
    limits: ClassLimits;
    adminRoles?: readonly string[];
    /** At most one class board edit per this time (default 2000 ms). */
    boardIntervalMs?: number;
  };
  /** The longest text block of the platform (the adapter's capabilities). */
  maxMessageLength?: number;
  /** How a message points at a thread (the adapter's threadLink). */
  threadLink?: (threadId: string) => string;
  clock?: () => Date;
  logger?: Logger;
}

/** The commands a learner may only use so often (the rate limiter's actions). */
export type RateLimitedCommand = 'start' | 'kubectl' | 'check';

const text = (value: string, title?: string): ChatMessage => ({
  ...(title ? { title } : {}),
  blocks: [{ kind: 'text', text: value }],
});

/** What the learner did themselves in a lab, read from its history (for a lesson's learner-step checks). */
function learnerStepsOf(history: readonly { action: string; detail?: Record<string, unknown> | undefined }[]) {
  const detailOf = (action: string, key: string) =>
    history.filter((entry) => entry.action === action).map((entry) => String(entry.detail?.[key] ?? ''));
  return {
    builtImages: detailOf('learner.build', 'tag').filter(Boolean),
    generatedDeployments: detailOf('kubectl.create-deployment', 'name').filter(Boolean),
    applies: history.filter((entry) => entry.action === 'apply').length,
  };
}

const ownerOf = (actor: Actor): LabOwner => ({
  platform: actor.platform,
  workspaceId: actor.workspaceId,
  userId: actor.userId,
});

/**
 * What labbot does in chat, on ports only: parse → authorize → record desired state → enqueue,
 * and LabEvent → the lab's status message through the outbox.
 */
export function createLabBot(options: LabBotOptions) {
  const { store, queues, lessons } = options;
  const clock = options.clock ?? (() => new Date());
  const logger: Logger = options.logger ?? createLogger({ name: 'labbot-bot', level: 'silent' });

  function statusOf(record: LabRecord): ChatMessage {
    return renderStatus(record, {
      now: clock(),
      ...(lessons.find(record.lessonId) ? { lesson: lessons.get(record.lessonId) } : {}),
    });
  }

  /** Puts the lab's status message in its thread (posted once, then edited; the outbox coalesces). */
  async function showStatus(record: LabRecord, note?: string): Promise<void> {
    if (!record.threadId) return;
    const platform = platformOfThread(record.threadId) ?? record.owner.platform;
    const status = statusOf(record);
    await queues.enqueueOutbox(platform, {
      threadId: record.threadId,
      key: 'status',
      message: note ? { ...status, blocks: [{ kind: 'text', text: note }, ...status.blocks] } : status,
      labId: record.labId,
      ...(record.classId ? { minIntervalMs: CLASS_STATUS_INTERVAL_MS } : {}),
    });
  }

  /** Refuses, with the wait in seconds, a learner who used `command` more often than its rule allows. */
  async function throttle(actor: Actor, command: RateLimitedCommand): Promise<void> {
    if (!options.rateLimiter) return;
    const verdict = await options.rateLimiter.take(command, ownerKeyFor(ownerOf(actor)));
    if (verdict.allowed) return;
    const seconds = Math.ceil(verdict.retryAfterMs / 1000);
    const window = Math.round(verdict.rule.windowMs / 1000);
    throw new Refusal(
      `Slow down: /lab ${command} is limited to ${verdict.rule.limit} times in ${window} s. Try again in ${seconds} s.`,
    );
  }

  function check(actor: Actor, action: Parameters<typeof authorize>[0]['action'], lab?: LabRecord): void {
    const verdict = authorize({ actor, action, instructorRoles: options.instructorRoles, ...(lab ? { lab } : {}) });
    if (!verdict.allowed) throw new Refusal(verdict.reason);
  }

  /** The lab a lab-scoped command means: the named lesson's, else this thread's, else the user's only one. */
  async function labFor(actor: Actor, lessonId: string | undefined, threadId: string | undefined): Promise<LabRecord> {
    if (lessonId) {
      const lab = await store.get(labIdFor({ ...ownerOf(actor), lessonId }));
      if (!lab) throw new Refusal(`You have no lab of "${lessonId}". Start one with /lab start ${lessonId}.`);
      return lab;
    }
    const mine = await store.listByOwner(ownerOf(actor));
    const inThread = threadId ? mine.find((lab) => lab.threadId === threadId) : undefined;
    if (inThread) return inThread;
    const active = mine.filter(isLabActive);
    if (active.length === 1 && active[0]) return active[0];
    if (mine.length === 0) throw new Refusal('You have no lab yet. Start one with /lab start docker-vs-kubernetes.');
    throw new Refusal(
      'Say which lab you mean, e.g. "/lab status docker-vs-kubernetes" (or type it in the lab\'s thread).',
    );
  }

  async function start(
    command: Extract<LabCommand, { kind: 'start' }>,
    incoming: IncomingCommand | IncomingAction,
  ): Promise<void> {
    const { actor, respond } = incoming;
    check(actor, 'start');
    if (incoming.conversation.isDirect) {
      throw new Refusal(
        'Labs open a thread in a channel: type /lab start in a server channel, not in a direct message.',
      );
    }
    const lesson = lessons.find(command.lessonId);
    if (!lesson) {
      // A lesson folder that failed validation says why; otherwise the catalog lists the lessons there are.
      const broken = lessons.problems.find(
        (problem) =>
          String(problem.context.lessonDir ?? '')
            .split('/')
            .at(-1) === command.lessonId,
      );
      throw new Refusal(userMessageOf(broken ?? catchError(() => lessons.get(command.lessonId))));
    }
    if (command.variant && !lesson.spec.variants[command.variant]) {
      const known = Object.keys(lesson.spec.variants).join(', ') || 'none';
      throw new Refusal(`The lesson "${lesson.id}" has no variant "${command.variant}" (variants: ${known}).`);
    }
    const owner = ownerOf(actor);
    const labId = labIdFor({ ...owner, lessonId: lesson.id });
    await throttle(actor, 'start');
    const mine = await store.countActive({ owner, excluding: labId });
    if (mine >= options.limits.maxLabsPerUser) {
      throw new Refusal(
        `You already have ${mine} labs running (the limit is ${options.limits.maxLabsPerUser}). Stop one with /lab stop <lesson> first.`,
      );
    }
    if ((await store.countActive({ excluding: labId })) >= options.limits.maxActiveLabs) {
      throw new Refusal('All lab slots are in use right now. Please try again in a few minutes.');
    }
    await respond.defer();
    const record = createLabRecord({
      owner,
      lessonId: lesson.id,
      ...(command.variant ? { variant: command.variant } : {}),
      ttlMinutes: Math.min(lesson.spec.limits.ttlMinutes, options.limits.labTtlMinutes),
      now: clock,
    });
    const created = await store.create(record, { actor: actor.userId });
    if (!created.created) {
      const existing = created.record;
      if (isLabActive(existing) && existing.observed.phase !== 'stopping') {
        await respond.error(
          existing.threadId
            ? `Your ${lesson.id} lab is already running: see its thread. Use /lab reset to start it over.`
            : `Your ${lesson.id} lab is already starting.`,
        );
        return;
      }
      // Stopped or failed: start it again as a new generation, in its old thread when it has one.
      const restarted = await store.update(
        labId,
        (current) => ({
          ...current,
          ...(command.variant ? { variant: command.variant } : { variant: undefined }),
          desired: { state: 'running', generation: current.desired.generation + 1 },
          expiresAt: record.expiresAt,
          observed: { ...current.observed, expiryWarnedAt: undefined },
        }),
        { audit: { actor: actor.userId, action: 'desired.restarted' } },
      );
      await openThreadIfMissing(restarted, respond, lesson.spec.title);
      await queues.enqueueReconcile(labId, 'command.start');
      if (restarted.threadId && restarted.threadId === existing.threadId) {
        await respond.reply(text(`Starting your ${lesson.id} lab again in its thread.`), { ephemeral: true });
      }
      return;
    }
    await openThreadIfMissing(created.record, respond, lesson.spec.title);
    await queues.enqueueReconcile(labId, 'command.start');
    logger.info({ labId, lessonId: lesson.id, actor: actor.userId }, 'lab requested');
  }

  async function openThreadIfMissing(record: LabRecord, respond: Responder, title: string): Promise<LabRecord> {
    if (record.threadId) {
      await showStatus(record);
      return record;
    }
    const threadId = await respond.openThread({
      announcement: text(
        `Starting a lab of **${title}**${record.variant ? ` (${record.variant})` : ''} for <@${record.owner.userId}>. Follow it in the thread.`,
      ),
      title: labThreadTitle(record),
    });
    const withThread = await store.update(record.labId, (current) =>
      current.threadId ? undefined : { ...current, threadId },
    );
    await showStatus(withThread);
    return withThread;
  }

  const classOptions = options.classes;
  const classes: ClassBot | undefined =
    classOptions &&
    createClassBot({
      store,
      roster: classOptions.roster,
      ...(classOptions.provisions ? { provisions: classOptions.provisions } : {}),
      ...(classOptions.capacity ? { capacity: classOptions.capacity } : {}),
      ...(classOptions.warmPool ? { warmPool: classOptions.warmPool } : {}),
      ...(classOptions.helpDesk ? { helpDesk: classOptions.helpDesk } : {}),
      queues,
      lessons,
      instructorRoles: options.instructorRoles,
      ...(classOptions.adminRoles ? { adminRoles: classOptions.adminRoles } : {}),
      limits: options.limits,
      classLimits: classOptions.limits,
      maxMessageLength: options.maxMessageLength ?? 3000,
      threadLink: options.threadLink ?? (() => 'your thread'),
      ...(classOptions.boardIntervalMs !== undefined ? { boardIntervalMs: classOptions.boardIntervalMs } : {}),
      clock,
      hooks: { openThreadIfMissing },
      logger,
    });
  const classesOrRefuse = (): ClassBot => {
    if (!classes) throw new Refusal('Class labs are not set up on this labbot.');
    return classes;
  };

  async function setDesired(lab: LabRecord, actor: Actor, change: 'stop' | 'reset', respond: Responder): Promise<void> {
    check(actor, change, lab);
    if (change === 'stop') {
      if (lab.desired.state === 'stopped') {
        await respond.error(
          `Your ${lab.lessonId} lab is already ${lab.observed.phase === 'stopped' ? 'stopped' : 'stopping'}.`,
        );
        return;
      }
      const next = await store.update(
        lab.labId,
        (current) => ({ ...current, desired: { ...current.desired, state: 'stopped' } }),
        {
          audit: { actor: actor.userId, action: 'desired.stopped' },
        },
      );
      await queues.enqueueReconcile(lab.labId, 'command.stop');
      await respond.reply(text(`Stopping the ${next.lessonId} lab: its namespace and pods are being removed.`), {
        ephemeral: true,
      });
      return;
    }
    await store.update(
      lab.labId,
      (current) => ({ ...current, desired: { state: 'running', generation: current.desired.generation + 1 } }),
      { audit: { actor: actor.userId, action: 'desired.reset' } },
    );
    await queues.enqueueReconcile(lab.labId, 'command.reset');
    await respond.reply(text(`Resetting the ${lab.lessonId} lab: it starts over from a fresh namespace.`), {
      ephemeral: true,
    });
  }

  async function run(command: LabCommand, incoming: IncomingCommand): Promise<void> {
    const { actor, respond, conversation } = incoming;
    switch (command.kind) {
      case 'help': {
        const lines = command.topic ? [LAB_COMMAND_HELP[command.topic]] : Object.values(LAB_COMMAND_HELP);
        await respond.reply(text(lines.join('\n'), 'labbot commands'), { ephemeral: true });
        return;
      }
      case 'lessons': {
        const lines = lessons.lessons.map((lesson) => `• ${lesson.id}: ${lesson.spec.title}. ${lesson.spec.summary}`);
        await respond.reply(text(lines.join('\n') || 'No lessons are installed.', 'Lessons'), { ephemeral: true });
        return;
      }
      case 'list': {
        const labs = await store.listByOwner(ownerOf(actor));
        const lines = labs.map(
          (lab) =>
            `• ${lab.lessonId}${lab.variant ? ` (${lab.variant})` : ''}: ${lab.observed.phase} (lab ${lab.labId})`,
        );
        await respond.reply(
          text(lines.join('\n') || 'You have no labs. Start one with /lab start docker-vs-kubernetes.', 'Your labs'),
          {
            ephemeral: true,
          },
        );
        return;
      }
      case 'start':
        return start(command, incoming);
      case 'status': {
        const lab = await labFor(actor, command.lessonId, conversation.threadId);
        check(actor, 'status', lab);
        await respond.reply(statusOf(lab), { ephemeral: true });
        return;
      }
      case 'stop':
      case 'reset': {
        const lab = await labFor(actor, command.lessonId, conversation.threadId);
        return setDesired(lab, actor, command.kind, respond);
      }
      case 'check': {
        const lab = await labFor(actor, command.lessonId, conversation.threadId);
        return runChecks(lab, actor, respond);
      }
      case 'kubectl': {
        const lab = await labFor(actor, undefined, conversation.threadId);
        check(actor, 'kubectl', lab);
        await throttle(actor, 'kubectl');
        await respond.defer();
        const result = await options.kubectl.run({ labId: lab.labId, command: command.kubectl, actor: actor.userId });
        await respond.reply({
          title: `$ ${formatKubectlCommand(command.kubectl)}`,
          tone: result.ok ? 'info' : 'warning',
          blocks: [{ kind: 'code', text: result.text.trimEnd() || '(no output)' }],
        });
        return;
      }
      case 'apply':
        return applyManifest(command, incoming);
      case 'build': {
        const lab = await labFor(actor, undefined, conversation.threadId);
        check(actor, 'kubectl', lab);
        if (!options.builds) throw new Refusal('Building your own image is not available on this labbot.');
        if (wantsBuildForm(command, incoming)) {
          await respond.requestFiles?.(BUILD_FILES_REQUEST);
          return;
        }
        const sent = await filesOfBuild(command, incoming);
        await respond.defer();
        const result = await submitBuild(options.builds, lab, actor.userId, sent);
        await respond.reply(buildResultMessage(result));
        return;
      }
      case 'create-deployment': {
        const lab = await labFor(actor, undefined, conversation.threadId);
        check(actor, 'kubectl', lab);
        if (!lab.observed.imageTag) {
          throw new Refusal('Your lab has no image yet: build one with /lab build first, then generate its manifest.');
        }
        await respond.reply(manifestMessage(command.create, lab.observed.imageTag));
        await store.appendHistory(lab.labId, {
          actor: actor.userId,
          action: 'kubectl.create-deployment',
          detail: { name: command.create.name, replicas: command.create.replicas },
        });
        return;
      }
      case 'class-start':
      case 'class-join':
      case 'class-status':
      case 'class-end':
      case 'class-export':
      case 'class-say':
      case 'class-take':
      case 'class-done':
      case 'class-extend':
      case 'help-me':
        return classesOrRefuse().run(command, incoming);
    }
  }

  /**
   * `/lab apply`: the learner's manifest goes to the runner, which checks it against the lab's policy and applies
   * it; without a document, an adapter that has forms asks for it.
   */
  async function applyManifest(
    command: Extract<LabCommand, { kind: 'apply' }>,
    incoming: IncomingCommand,
  ): Promise<void> {
    const { actor, respond, conversation, document } = incoming;
    const lab = await labFor(actor, undefined, conversation.threadId);
    check(actor, 'kubectl', lab);
    if (!document) {
      if (respond.requestDocument) {
        await respond.requestDocument({
          title: 'Apply a manifest',
          label: 'Your Deployment, Service or ConfigMap (YAML)',
          placeholder: 'apiVersion: apps/v1\nkind: Deployment\n...',
          commandText: 'apply',
        });
        return;
      }
      throw new Refusal('Attach the manifest to /lab apply, or paste it after the command.');
    }
    const size = Math.max(document.size ?? 0, document.text.length);
    if (size > MAX_MANIFEST_LENGTH) {
      throw new Refusal(
        `That manifest is too large (${size > 1024 * 1024 ? `${(size / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(size / 1024)} KiB`}); the limit is ${MAX_MANIFEST_LENGTH / 1024} KiB. Nothing was applied.`,
      );
    }
    if (document.text.trim() === '') throw new Refusal('That manifest is empty.');
    await respond.defer();
    const source = (document.name ?? command.file)?.slice(0, 256);
    const result = await options.kubectl.run(
      {
        labId: lab.labId,
        command: { verb: 'apply', manifest: document.text, ...(source ? { source } : {}) },
        actor: actor.userId,
      },
      60_000,
    );
    await respond.reply({
      title: `$ kubectl apply --server-side -f ${source ?? '-'}`,
      tone: result.ok ? 'info' : 'warning',
      blocks: [{ kind: 'code', text: result.text.trimEnd() || '(no output)' }],
    });
  }

  /** The lesson's checks against what was observed of the lab: ✅/❌ with a hint for each failure. */
  async function runChecks(lab: LabRecord, actor: Actor, respond: Responder): Promise<void> {
    check(actor, 'check', lab);
    await throttle(actor, 'check');
    const lesson = lessons.find(lab.lessonId);
    if (!lesson) throw new Refusal(`The lesson "${lab.lessonId}" is no longer installed.`);
    const history = await store.history(lab.labId);
    const deletedPods = history
      .filter((entry) => entry.action === 'kubectl.delete-pod')
      .map((entry) => String(entry.detail?.pod ?? ''));
    // An undo counts when it came after the learner's last apply (it undid that rollout).
    const lastApply = history.findLastIndex((entry) => entry.action === 'apply');
    const undos = history.slice(lastApply + 1).filter((entry) => entry.action === 'kubectl.rollout-undo');
    const undoneRollouts = undos.map((entry) => String(entry.detail?.rolledOut ?? '')).filter(Boolean);
    const results = evaluateChecks(lesson, {
      pods: lab.observed.pods,
      containerOutput: lab.observed.containerOutput,
      containerRunning: awaitsContainerOutput(lab.observed),
      desiredReplicas: lab.observed.desiredReplicas,
      deletedPods,
      images: lab.observed.images,
      rollbacks: undos.length,
      undoneRollouts,
      ...(lesson.spec.learnerBuild ? { learner: learnerStepsOf(history) } : {}),
    });
    await classes?.recordChecks(lab, results);
    const passed = results.filter((result) => result.passed).length;
    const pending = results.filter((result) => result.pending).length;
    const lines = results.map((result) =>
      result.passed
        ? `✅ ${result.name}`
        : `${result.pending ? '⏳' : '❌'} ${result.name}
   💡 ${result.hint ?? ''}`.trimEnd(),
    );
    await respond.reply({
      title: `Checks of ${lesson.spec.title}: ${passed}/${results.length} passed${pending ? `, ${pending} pending` : ''}`,
      tone: passed === results.length ? 'success' : passed + pending === results.length ? 'progress' : 'warning',
      blocks: [{ kind: 'text', text: lines.join('\n') || 'This lesson has no checks.' }],
    });
  }

  /** The error boundary of one command: a refusal or a learner-safe sentence, never a stack trace. */
  async function guarded(
    respond: Responder,
    context: Record<string, unknown>,
    work: () => Promise<void>,
  ): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (!(error instanceof Refusal)) logger.error({ ...context, err: error }, 'command failed');
      await respond
        .error(userMessageOf(error))
        .catch((replyError: unknown) => logger.warn({ err: replyError }, 'could not answer'));
    }
  }

  const handlers: ChatHandlers = {
    onCommand: (incoming) =>
      guarded(incoming.respond, { userId: incoming.actor.userId, text: incoming.text.slice(0, 200) }, async () => {
        const parsed = parseLabCommand(incoming.text);
        if (!parsed.ok) throw new Refusal(parsed.error);
        await run(parsed.command, incoming);
      }),
    onAction: (incoming) =>
      guarded(incoming.respond, { userId: incoming.actor.userId, action: incoming.action }, async () => {
        if (incoming.action === 'join') return classesOrRefuse().join(incoming.target, incoming);
        if (incoming.action === 'extend') return classesOrRefuse().selfExtend(incoming.target, incoming);
        if (incoming.action === 'help' || incoming.action === 'take' || incoming.action === 'done')
          return classesOrRefuse().helpAction(incoming.action, incoming.target, incoming);
        const lab = await store.get(incoming.target);
        if (!lab) throw new Refusal('That lab no longer exists.');
        switch (incoming.action) {
          case 'status':
            check(incoming.actor, 'status', lab);
            await incoming.respond.reply(statusOf(lab), { ephemeral: true });
            return;
          case 'stop':
          case 'reset':
            return setDesired(lab, incoming.actor, incoming.action, incoming.respond);
          case 'check':
            return runChecks(lab, incoming.actor, incoming.respond);
        }
      }),
    suggestLessons: async (prefix) =>
      lessons.lessons
        .filter((lesson) => lesson.id.startsWith(prefix.toLowerCase()))
        .slice(0, 25)
        .map((lesson) => ({ name: `${lesson.id}: ${lesson.spec.title}`.slice(0, 100), value: lesson.id })),
  };

  /**
   * Class labs' bring-up steps, shown after CLASS_STATUS_INTERVAL_MS rather than at once: the steps a lab passes
   * within that time become one edit of its status (a class of 100 cost 6.3 chat calls per learner; the target
   * is 6). The learner still sees each step that lasts; the settled phases and queue places show at once.
   */
  const heldRenders = new Map<string, NodeJS.Timeout>();
  function holdRender(labId: string): void {
    if (heldRenders.has(labId)) return;
    const timer = setTimeout(() => {
      heldRenders.delete(labId);
      void (async () => {
        const latest = await store.get(labId);
        // Only while it is still in a held step: a settled lab was shown at once (a second render would differ
        // only in the pods' ages), and a queued one keeps its queue place (its own notice).
        if (latest?.threadId && CLASS_HELD_PHASES.includes(latest.observed.phase)) await showStatus(latest);
      })().catch((error: unknown) => logger.warn({ err: error, labId }, 'could not show a class lab status'));
    }, CLASS_STATUS_INTERVAL_MS);
    timer.unref();
    heldRenders.set(labId, timer);
  }

  /** A LabEvent from the runner: the lab's status message shows the record as it is now. */
  async function handleLabEvent(event: LabEvent): Promise<void> {
    const record = await store.get(event.labId);
    if (record?.classId) classes?.touchBoard(record.classId);
    if (!record?.threadId) return;
    if (record.classId && event.type === 'lab.changed' && CLASS_HELD_PHASES.includes(record.observed.phase)) {
      holdRender(record.labId);
      return;
    }
    // A class lab waiting for a provision slot: its place in line above the status, until its lab starts. A place
    // that arrives after the lab left the line says nothing new (its own changes show it): no render.
    const note = event.type === 'lab.queued' ? await classes?.queueNotice(record, event) : undefined;
    if (event.type === 'lab.queued' && note === undefined) return;
    const held = heldRenders.get(record.labId);
    if (held) {
      clearTimeout(held);
      heldRenders.delete(record.labId);
    }
    await showStatus(record, note);
    if (event.type === 'lab.expiry-warning') {
      const minutes = Math.max(1, Math.round((Date.parse(event.expiresAt) - clock().getTime()) / 60_000));
      const buttons = (await classes?.expiryWarningButtons(record)) ?? [];
      await queues.enqueueOutbox(platformOfThread(record.threadId) ?? record.owner.platform, {
        threadId: record.threadId,
        key: 'expiry-warning',
        labId: record.labId,
        message: {
          tone: 'warning',
          blocks: [
            {
              kind: 'text',
              text: `⏰ <@${record.owner.userId}> this lab expires in about ${minutes} min and will be torn down. ${buttons.length ? 'Press Extend for more time, or finish up.' : 'Finish up, or /lab reset later for a fresh one.'}`,
            },
          ],
          ...(buttons.length ? { buttons } : {}),
        },
      });
    }
  }

  /** Drops the held status renders (the chat is stopping). */
  function stop(): void {
    for (const timer of heldRenders.values()) clearTimeout(timer);
    heldRenders.clear();
    classes?.stop();
  }

  return { handlers, handleLabEvent, renderStatus: statusOf, classes, stop };
}

/** The bring-up steps of a class lab whose status waits CLASS_STATUS_INTERVAL_MS (see holdRender). */
const CLASS_HELD_PHASES: readonly LabPhase[] = [
  'provisioning',
  'building',
  'running-once',
  'deploying',
  'waiting-for-pods',
];

function catchError(work: () => unknown): unknown {
  try {
    work();
    return new Error('expected an error');
  } catch (error) {
    return error;
  }
}

export type LabBot = ReturnType<typeof createLabBot>;
