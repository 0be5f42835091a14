// Reads vitest JSON reports and prints the one line CI reads: "N passed, N failed".
// A report that is missing or unreadable counts as a failure, never as zero tests.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`missing test report ${file}`);
    failed += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += (report.numFailedTests ?? 0) + (report.numFailedTestSuites ?? 0);
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  console.log(
    `${file}: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${report.numFailedTestSuites} failed suites`,
  );
}
// A suite's teardown that found a fault (a call IAM refused) fails the run though every test
// passed: it counts as one failure, named here.
for (const backend of ['embedded', 'moto']) {
  const teardown = `.local/ci-teardown-${backend}.txt`;
  if (!existsSync(teardown)) continue;
  console.log(`the ${backend} suite's teardown failed:\n${readFileSync(teardown, 'utf8')}`);
  failed += 1;
}
if (passed + failed === 0) failed = 1;
if (skipped) console.log(`${skipped} skipped (backend-specific tests)`);
// The last line, plain, as CI reads it.
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
