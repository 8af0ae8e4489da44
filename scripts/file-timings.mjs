// A vitest reporter: how long each test file held its worker, hooks and imports included (vitest's JSON report
// times the tests only), written to .labbot/test-timings.json, slowest first. Used to find what makes `npm test` slow.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { performance } from 'node:perf_hooks';

export default class FileTimings {
  started = new Map();
  files = [];
  runStart = performance.now();

  onInit(vitest) {
    this.root = vitest.config.root;
    this.outputFile = `${this.root}/.labbot/test-timings.json`;
  }

  onTestModuleStart(testModule) {
    this.started.set(testModule.moduleId, performance.now());
  }

  onTestModuleEnd(testModule) {
    const end = performance.now();
    const start = this.started.get(testModule.moduleId) ?? end;
    const diagnostic = testModule.diagnostic();
    const seconds = (ms) => Math.round(ms) / 1000;
    this.files.push({
      file: relative(this.root, testModule.moduleId),
      project: testModule.project.name,
      startS: seconds(start - this.runStart),
      endS: seconds(end - this.runStart),
      heldS: seconds(end - start),
      importS: seconds(diagnostic.collectDuration + diagnostic.setupDuration + diagnostic.prepareDuration),
      testsS: seconds(diagnostic.duration),
    });
  }

  onTestRunEnd() {
    this.files.sort((a, b) => b.heldS - a.heldS);
    mkdirSync(dirname(this.outputFile), { recursive: true });
    writeFileSync(this.outputFile, `${JSON.stringify(this.files, null, 2)}\n`);
  }
}
