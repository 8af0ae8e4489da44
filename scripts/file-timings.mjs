// A vitest reporter: how long each test file held its worker, imports and hooks included (vitest's JSON report
// times the tests only), written to .labbot/test-timings.json (this run, slowest first), used to find what makes
// `npm test` slow; and each file's last time held merged into .labbot/test-durations.json, which
// scripts/test-sequencer.mjs reads to start the longest files first (a run of a few files updates only theirs).
// Per file: startS/endS (seconds since the run started), heldS (end - start), importS (collecting: imports and
// setup), testsS (vitest's duration of the file), beforeAllS/afterAllS (time in beforeAll/afterAll hooks, as
// reported to the main process, so to within vitest's batching of task updates).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { durationKey, durationsFile } from './test-sequencer.mjs';

export default class FileTimings {
  started = new Map();
  hooks = new Map();
  files = [];
  runStart = performance.now();

  onInit(vitest) {
    this.root = vitest.config.root;
    this.outputFile = `${this.root}/.labbot/test-timings.json`;
  }

  // Queued is when the worker starts collecting the file, before its imports; onTestModuleStart would come
  // only after them, leaving the imports (seconds for a file that loads the cluster driver) out of the time held.
  onTestModuleQueued(testModule) {
    this.started.set(testModule.moduleId, performance.now());
  }

  onHookStart(hook) {
    if (hook.name !== 'beforeAll' && hook.name !== 'afterAll') return;
    this.hooks.set(hook.entity.id, { ...this.hooks.get(hook.entity.id), [hook.name]: performance.now() });
  }

  onHookEnd(hook) {
    if (hook.name !== 'beforeAll' && hook.name !== 'afterAll') return;
    const moduleId = hook.entity.type === 'module' ? hook.entity.moduleId : hook.entity.module.moduleId;
    const started = this.hooks.get(hook.entity.id)?.[hook.name] ?? performance.now();
    const spent = this.hooks.get(moduleId) ?? { beforeAll: 0, afterAll: 0 };
    spent[hook.name] += performance.now() - started;
    this.hooks.set(moduleId, spent);
  }

  onTestModuleEnd(testModule) {
    const end = performance.now();
    const start = this.started.get(testModule.moduleId) ?? end;
    const diagnostic = testModule.diagnostic();
    const hooks = this.hooks.get(testModule.moduleId) ?? { beforeAll: 0, afterAll: 0 };
    const seconds = (ms) => Math.round(ms) / 1000;
    this.files.push({
      file: relative(this.root, testModule.moduleId),
      project: testModule.project.name,
      startS: seconds(start - this.runStart),
      endS: seconds(end - this.runStart),
      heldS: seconds(end - start),
      importS: seconds(diagnostic.collectDuration + diagnostic.setupDuration + diagnostic.prepareDuration),
      testsS: seconds(diagnostic.duration),
      beforeAllS: seconds(hooks.beforeAll),
      afterAllS: seconds(hooks.afterAll),
      ok: testModule.ok(),
    });
  }

  onTestRunEnd() {
    this.files.sort((a, b) => b.heldS - a.heldS);
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, `${JSON.stringify(this.files, null, 2)}\n`);
    const durations = durationsFile(this.root);
    const seconds = existsSync(durations) ? JSON.parse(readFileSync(durations, 'utf8')) : {};
    // Only files that ran to the end: a file cut short (a failed hook, an interrupted run) says little of its time.
    for (const file of this.files) if (file.ok) seconds[durationKey(file.project, file.file)] = file.heldS;
    writeFileSync(durations, `${JSON.stringify(seconds, null, 2)}\n`);
  }
}
