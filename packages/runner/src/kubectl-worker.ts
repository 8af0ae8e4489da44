import { type ClusterDriver, formatManifestProblems } from '@labbot/cluster';
import type { Logger } from '@labbot/config';
import {
  isPodPhase,
  type KubectlCommand,
  type LabRecord,
  MAX_SCALE_REPLICAS,
  mayHavePods,
  movePhase,
  phaseFromPods,
  userMessageOf,
} from '@labbot/core';
import type { LessonCatalog } from '@labbot/lessons';
import {
  createKubectlWorker,
  type KubectlJob,
  type KubectlJobResult,
  type LabbotWorker,
  type QueueConnection,
} from '@labbot/queue';
import type { LabStore } from '@labbot/store';

export interface KubectlRunnerOptions {
  connection: QueueConnection;
  store: LabStore;
  cluster: ClusterDriver;
  logger: Logger;
  concurrency?: number;
  /** The lessons: a learner's manifest gets the lab's replica ceiling and security settings from its lesson. */
  lessons?: LessonCatalog;
  /** After a scale: pods the quota refuses never appear, so the caller looks at the events. */
  onScaled?: (labId: string) => void;
}

/** Runs a learner's kubectl command in their lab's namespace only, and records what changed the lab. */
export function createKubectlRunner(options: KubectlRunnerOptions) {
  const { store, cluster, logger } = options;

  async function run(job: KubectlJob): Promise<KubectlJobResult> {
    const lab = await store.get(job.labId);
    const deployed = lab?.desired.state === 'running' && mayHavePods(lab.observed.phase);
    if (!lab || !deployed) {
      return {
        ok: false,
        text: 'Your lab has no Deployment running right now: wait until it is deployed, or /lab start it.',
      };
    }
    try {
      if (job.command.verb === 'apply') return await applyManifest(lab, job, job.command);
      const result = await cluster.kubectl(lab.namespace, job.command);
      if (result.ok) await record(job, lab);
      return result;
    } catch (error) {
      logger.warn({ err: error, labId: job.labId, verb: job.command.verb }, 'kubectl failed');
      return { ok: false, text: userMessageOf(error) };
    }
  }

  /** `/lab apply`: the lab's policy first (nothing reaches the cluster on a refusal), then server-side apply. */
  async function applyManifest(
    lab: LabRecord,
    job: KubectlJob,
    command: Extract<KubectlCommand, { verb: 'apply' }>,
  ): Promise<KubectlJobResult> {
    const lesson = options.lessons?.find(lab.lessonId);
    const result = await cluster.applyLearnerManifest(command.manifest, {
      namespace: lab.namespace,
      labId: lab.labId,
      // The namespace keeps one pod of room for a rolling update's surge, as for the lesson's own Deployment.
      maxReplicas: Math.min(MAX_SCALE_REPLICAS, lesson ? lesson.spec.limits.pods - 1 : MAX_SCALE_REPLICAS),
      images: lab.observed.images ?? (lab.observed.imageTag ? { [lab.observed.imageTag]: lab.observed.imageTag } : {}),
      readOnlyRootFilesystem: lesson?.spec.deployment.readOnlyRootFilesystem ?? false,
    });
    if (!result.ok) {
      await store.appendHistory(job.labId, {
        actor: job.actor,
        action: 'apply.refused',
        detail: { problems: result.problems.length, first: result.problems[0]?.field ?? '' },
      });
      return {
        ok: false,
        text: `Nothing was applied: the manifest was refused.\n${formatManifestProblems(result.problems)}`,
      };
    }
    await store.update(
      job.labId,
      (current) => {
        const { observed } = current;
        const phase = isPodPhase(observed.phase)
          ? phaseFromPods(observed.pods, result.desiredReplicas, observed.diagnosis)
          : observed.phase;
        return {
          ...current,
          observed: { ...movePhase('pods', observed, phase), desiredReplicas: result.desiredReplicas },
        };
      },
      {
        audit: {
          actor: job.actor,
          action: 'apply',
          detail: { objects: result.applied.map((object) => `${object.kind}/${object.name}`).join(', ') },
        },
      },
    );
    options.onScaled?.(job.labId);
    const lines = result.applied.map(
      (object) =>
        `${object.kind === 'Deployment' ? 'deployment.apps' : object.kind.toLowerCase()}/${object.name} serverside-applied`,
    );
    return { ok: true, text: lines.join('\n') };
  }

  async function record(job: KubectlJob, lab: LabRecord): Promise<void> {
    const { command } = job;
    if (command.verb === 'rollout-undo') {
      // The image the undo left, when its rollout had finished (every wanted pod ready on it): a check may ask.
      const images = new Set(lab.observed.pods.map((pod) => pod.image ?? ''));
      const [image] = images;
      const finished =
        images.size === 1 &&
        image !== undefined &&
        image !== '' &&
        lab.observed.pods.filter((pod) => pod.ready).length >= (lab.observed.desiredReplicas ?? 1);
      await store.appendHistory(job.labId, {
        actor: job.actor,
        action: 'kubectl.rollout-undo',
        detail: { deployment: command.deployment, ...(finished ? { rolledOut: image } : {}) },
      });
    } else if (command.verb === 'delete') {
      await store.appendHistory(job.labId, {
        actor: job.actor,
        action: 'kubectl.delete-pod',
        detail: { pod: command.name },
      });
    } else if (command.verb === 'scale') {
      await store.update(
        job.labId,
        (current) => {
          // The phase follows the new count at once (ready 3/3 becomes waiting for 5).
          const { observed } = current;
          const phase = isPodPhase(observed.phase)
            ? phaseFromPods(observed.pods, command.replicas, observed.diagnosis)
            : observed.phase;
          return { ...current, observed: { ...movePhase('pods', observed, phase), desiredReplicas: command.replicas } };
        },
        {
          audit: {
            actor: job.actor,
            action: 'kubectl.scale',
            detail: { deployment: command.deployment, replicas: command.replicas },
          },
        },
      );
      options.onScaled?.(job.labId);
    }
  }

  return {
    run,
    start: (): LabbotWorker =>
      createKubectlWorker({
        connection: options.connection,
        concurrency: options.concurrency ?? 4,
        onError: (error, jobId) => logger.warn({ err: error, jobId }, 'kubectl job failed'),
        process: run,
      }),
  };
}
