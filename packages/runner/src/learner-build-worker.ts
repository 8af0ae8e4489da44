import type { LearnerBuilder } from '@labbot/builder';
import type { Logger } from '@labbot/config';
import { acceptsLearnerWork, boundedOutput, LabbotError, userMessageOf } from '@labbot/core';
import type { LessonCatalog } from '@labbot/lessons';
import {
  createLearnerBuildWorker,
  type LabbotWorker,
  type LearnerBuildJob,
  type LearnerBuildJobResult,
  type QueueConnection,
} from '@labbot/queue';
import type { LabStore } from '@labbot/store';
import type { LabNotices } from './events.js';

export interface LearnerBuildRunnerOptions {
  connection: QueueConnection;
  store: LabStore;
  lessons: LessonCatalog;
  builder: LearnerBuilder;
  notices: LabNotices;
  logger: Logger;
  concurrency?: number;
}

/**
 * Builds a learner's own Dockerfile for their lab in the hardened builder, runs it once, and makes it
 * the lab's image: the thread shows the build's last lines and the output as for the lesson's image.
 */
export function createLearnerBuildRunner(options: LearnerBuildRunnerOptions) {
  const { store, lessons, builder, notices, logger } = options;

  async function run(job: LearnerBuildJob): Promise<LearnerBuildJobResult> {
    const lab = await store.get(job.labId);
    if (!lab || !acceptsLearnerWork(lab)) {
      return { ok: false, logTail: [], message: 'Your lab is not running: start it with /lab start first.' };
    }
    const lesson = lessons.find(lab.lessonId);
    const allowed = lesson?.spec.learnerBuild?.baseImages ?? [];
    const logTail: string[] = [];
    try {
      const image = await builder.build({
        labId: lab.labId,
        dockerfile: job.dockerfile,
        files: job.files.map((file) => ({
          path: file.path,
          content: Buffer.from(file.contentBase64, 'base64'),
          ...(file.mode === undefined ? {} : { mode: file.mode }),
        })),
        ...(allowed.length ? { allowedBaseImages: allowed } : {}),
        onLog: (line) => {
          logTail.push(line);
          if (logTail.length > 20) logTail.shift();
        },
      });
      const buildLog = (image.logTail.length ? image.logTail : logTail).slice(-12);
      const ran = await builder.run(image.tag, lab.labId);
      const output = boundedOutput(ran.output);
      const updated = await store.update(
        lab.labId,
        (current) => ({
          ...current,
          observed: {
            ...current.observed,
            imageTag: image.tag,
            imageCached: image.cached,
            buildLog,
            containerOutput: output,
          },
        }),
        { audit: { actor: job.actor, action: 'learner.build', detail: { tag: image.tag, cached: image.cached } } },
      );
      // The status message shows the new image, its build's last lines and its output from the record.
      await notices.changed(updated);
      return {
        ok: true,
        tag: image.tag,
        cached: image.cached,
        logTail: buildLog,
        output,
        exitCode: ran.exitCode,
        ...(ran.note ? { message: ran.note } : {}),
      };
    } catch (error) {
      if (!(error instanceof LabbotError) || !error.code.startsWith('LEARNER_')) {
        logger.warn({ err: error, labId: job.labId }, 'learner build failed');
      }
      await store.appendHistory(lab.labId, {
        actor: job.actor,
        action: 'learner.build-refused',
        detail: { code: error instanceof LabbotError ? error.code : 'UNKNOWN' },
      });
      return { ok: false, logTail: logTail.slice(-8), message: userMessageOf(error).slice(0, 4000) };
    }
  }

  return {
    run,
    start: (): LabbotWorker =>
      createLearnerBuildWorker({
        connection: options.connection,
        concurrency: options.concurrency ?? 1,
        onError: (error, jobId) => logger.warn({ err: error, jobId }, 'learner build job failed'),
        process: run,
      }),
  };
}
