/**
 * The integration files that wait on the wall clock for a minute or more start first, so that
 * the short files fill the workers around them instead of the long ones starting last (a clean
 * clone has no timings cached: vitest then starts the largest files first, and the run ended
 * ~35 s after the rest with the window, the restart and chaos still going). The order keeps the
 * files that run a factory of their own apart where it can — it sets when a file starts, not how
 * long the others run: the maintenance window starts beside the shared factory's two busiest
 * files, chaos and then the restart as slots free, which on the usual timings is after the window
 * ends. Every other file keeps vitest's order. (`--sequence.shuffle` has no effect with it.)
 */
import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const longFirst = [
  'job-semantics.test.ts',
  'maintenance-window.test.ts',
  'operations.test.ts',
  'assembly.test.ts',
  'chaos.test.ts',
  'restart.test.ts',
];

export default class IntegrationSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index =
        spec.project.name === 'integration' ? longFirst.indexOf(path.basename(spec.moduleId)) : -1;
      return index < 0 ? longFirst.length : index;
    };
    // Within the integration project only: projects keep their order (unit and infra first).
    return sorted
      .map((spec, position) => ({ spec, position }))
      .sort((a, b) =>
        a.spec.project.name !== b.spec.project.name || a.spec.project.name !== 'integration'
          ? a.position - b.position
          : rank(a.spec) - rank(b.spec) || a.position - b.position,
      )
      .map(({ spec }) => spec);
  }
}
