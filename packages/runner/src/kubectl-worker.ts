import type { ClusterDriver } from '@labbot/cluster';
import type { Logger } from '@labbot/config';
import { userMessageOf } from '@labbot/core';
import {
  createKubectlWorker,
  type KubectlJob,
  type KubectlJobResult,
  type LabbotWorker,
  type QueueConnection,
} from '@labbot/queue';
import type { LabStore } from '@labbot/store';
import { POD_PHASES, PRE_POD_PHASES, phaseFromPods } from './lab-phase.js';

export interface KubectlRunnerOptions {
  connection: QueueConnection;
  store: LabStore;
  cluster: ClusterDriver;
  logger: Logger;
  concurrency?: number;
  /** After a scale: pods the quota refuses never appear, so the caller looks at the events. */
  onScaled?: (labId: string) => void;
}

/** Runs a learner's kubectl command in their lab's namespace only, and records what changed the lab. */
export function createKubectlRunner(options: KubectlRunnerOptions) {
  const { store, cluster, logger } = options;

  async function run(job: KubectlJob): Promise<KubectlJobResult> {
    const lab = await store.get(job.labId);
    const deployed =
      lab?.desired.state === 'running' && [...PRE_POD_PHASES, ...POD_PHASES].includes(lab.observed.phase);
    if (!lab || !deployed) {
      return {
        ok: false,
        text: 'Your lab has no Deployment running right now: wait until it is deployed, or /lab start it.',
      };
    }
    try {
      const result = await cluster.kubectl(lab.namespace, job.command);
      if (result.ok) await record(job);
      return result;
    } catch (error) {
      logger.warn({ err: error, labId: job.labId, verb: job.command.verb }, 'kubectl failed');
      return { ok: false, text: userMessageOf(error) };
    }
  }

  async function record(job: KubectlJob): Promise<void> {
    const { command } = job;
    if (command.verb === 'delete') {
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
          const observed = { ...current.observed, desiredReplicas: command.replicas };
          if (POD_PHASES.includes(observed.phase))
            observed.phase = phaseFromPods(observed.pods, command.replicas, observed.diagnosis);
          return { ...current, observed };
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
