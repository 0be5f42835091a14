/**
 * Starts the files that wait longest (chaos, a 3-minute maintenance window, kill -9 restarts)
 * first, so that the shorter ones run beside them: in a clean clone vitest has no timing cache
 * and started the chaos file last, which made it the tail of the whole run.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const longFirst = ['chaos.test.ts', 'maintenance-window.test.ts', 'restart.test.ts', 'job-semantics.test.ts'];
const rank = (file: TestSpecification) => {
  const i = longFirst.findIndex((name) => file.moduleId.endsWith(`/${name}`));
  return i === -1 ? longFirst.length : i;
};

export class LongFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    return [...sorted].sort((a, b) => rank(a) - rank(b));
  }
}
