import { classExportCsv } from '@labbot/commands';
import { loadConfigOrExit } from '@labbot/config';
import { loadLessons } from '@labbot/lessons';
import { createClassRoster, createLabStore } from '@labbot/store';
import type { Command } from 'commander';
import { Redis } from 'ioredis';

/** `labbot class list|export`: classes for operators and instructors on the command line. */
export function registerClassCommand(program: Command): void {
  const classes = program.command('class').description('instructor classes: list them, export results');

  classes
    .command('list')
    .description('every class: id, lesson, instructor, state, learners')
    .action(async () => {
      const redis = new Redis(loadConfigOrExit().redisUrl, { maxRetriesPerRequest: 1 });
      try {
        const store = createLabStore({ redis });
        const roster = createClassRoster({ redis });
        const all = (await store.listClasses()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        if (all.length === 0) console.log('No classes.');
        for (const klass of all) {
          const learners = (await roster.members(klass.classId)).length;
          console.log(
            `${klass.classId}  ${klass.lessonId}  ${klass.instructor.platform}:${klass.instructor.userId}  ${klass.state}  ${learners} learner(s)  ${klass.createdAt}`,
          );
        }
      } finally {
        redis.disconnect();
      }
    });

  classes
    .command('export <classId>')
    .description("a class's results as CSV on stdout: learner, joined at, time to ready, checks, final stage")
    .action(async (classId: string) => {
      const config = loadConfigOrExit();
      const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 });
      try {
        const store = createLabStore({ redis });
        const klass = await store.getClass(classId);
        if (!klass) throw new Error(`there is no class ${classId} (see labbot class list)`);
        const lessons = await loadLessons({
          skipInvalid: true,
          ...(config.lessonsDir ? { extraDir: config.lessonsDir } : {}),
        });
        process.stdout.write(await classExportCsv({ store, roster: createClassRoster({ redis }), lessons }, klass));
      } finally {
        redis.disconnect();
      }
    });
}
