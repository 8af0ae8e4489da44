// Prints the suite's last line, "N passed, N failed[, N skipped]", from vitest's JSON report
// plus the number of static checks (build, typecheck, lint, boundaries) that failed.
import { existsSync, readFileSync } from 'node:fs';

const [resultsPath, staticFailedArg = '0'] = process.argv.slice(2);
const staticFailed = Number(staticFailedArg);
let passed = 0;
let failed = staticFailed;
let skipped = 0;
if (resultsPath && existsSync(resultsPath)) {
  const report = JSON.parse(readFileSync(resultsPath, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  // A file that fails to load has no tests but is a failure all the same.
  failed += report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
} else {
  failed += 1;
}
// The slowest files, hooks included (scripts/file-timings.mjs), to keep the suite within its time.
const timingsPath = resultsPath?.replace(/test-results\.json$/, 'test-timings.json');
if (timingsPath && timingsPath !== resultsPath && existsSync(timingsPath)) {
  const slowest = JSON.parse(readFileSync(timingsPath, 'utf8')).slice(0, 5);
  console.log(`slowest files: ${slowest.map((file) => `${file.file} ${file.heldS.toFixed(0)} s`).join(', ')}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
