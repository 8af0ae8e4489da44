import { createManualClock, type ManualClock } from '@labbot/core/testing';
import type { KubectlJob, LearnerBuildJob, LearnerBuildJobResult } from '@labbot/queue';
import { createMemoryQueues, type MemoryQueues } from '@labbot/queue/testing';
import type { LabStore } from '@labbot/store';
import { createMemoryLabStore } from '@labbot/store/testing';
import { createLabBot, type LabBot, type LabBotOptions } from '../lab-bot.js';

export interface LabBotOnFakesOptions
  extends Partial<Omit<LabBotOptions, 'store' | 'queues' | 'kubectl' | 'builds' | 'clock' | 'lessons'>> {
  lessons: LabBotOptions['lessons'];
  /** What every kubectl run answers (default `ok`). */
  kubectlOutput?: string;
  /** Give the bot a learner-build port that records each build and answers with this result; none when absent. */
  buildResult?: LearnerBuildJobResult;
}

/** The bot on in-memory fakes, and everything a command could have changed. */
export interface LabBotOnFakes {
  bot: LabBot;
  store: LabStore;
  queues: MemoryQueues;
  clock: ManualClock;
  /** The kubectl commands that reached the runner, in order. */
  kubectlRuns: KubectlJob[];
  /** The learner builds that reached the runner, in order. */
  builds: LearnerBuildJob[];
  /** Every lab record with its history and how many kubectl runs and builds went out: a refused command leaves it. */
  state(): Promise<string>;
}

/**
 * `createLabBot` on the memory store, memory queues, a manual clock and recording kubectl/build ports
 * (2 labs a learner, 10 in all, 60-minute TTL unless given), as the unit, fuzz and authorization tests use it.
 */
export function createLabBotOnFakes(options: LabBotOnFakesOptions): LabBotOnFakes {
  const { kubectlOutput = 'ok', buildResult, ...botOptions } = options;
  const clock = createManualClock();
  const store = createMemoryLabStore({ clock: clock.now });
  const queues = createMemoryQueues();
  const kubectlRuns: KubectlJob[] = [];
  const builds: LearnerBuildJob[] = [];
  const bot = createLabBot({
    instructorRoles: ['instructor'],
    limits: { maxLabsPerUser: 2, maxActiveLabs: 10, labTtlMinutes: 60 },
    ...botOptions,
    store,
    queues,
    kubectl: {
      run: async (job) => {
        kubectlRuns.push(job);
        return { ok: true, text: kubectlOutput };
      },
      close: async () => {},
    },
    ...(buildResult
      ? {
          builds: {
            submit: async (job: LearnerBuildJob) => {
              builds.push(job);
              return buildResult;
            },
            close: async () => {},
          },
        }
      : {}),
    clock: clock.now,
  });
  return {
    bot,
    store,
    queues,
    clock,
    kubectlRuns,
    builds,
    async state() {
      const labs = await store.listAll();
      const histories = await Promise.all(labs.map((lab) => store.history(lab.labId)));
      return JSON.stringify({ labs, histories, kubectl: kubectlRuns.length, builds: builds.length });
    },
  };
}
