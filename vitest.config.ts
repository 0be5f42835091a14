import { defineConfig } from 'vitest/config';
import { LongFilesFirst } from './test/helpers/long-files-first.ts';

export default defineConfig({
  test: {
    // The longest-waiting integration files start first (test/helpers/long-files-first.ts).
    sequence: { sequencer: LongFilesFirst },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      // Synthesizes the stack (with bundling skipped) and asserts on the template.
      {
        // Synthesis of the whole stack can take tens of seconds on a loaded machine.
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One local cloud (or moto-backed cloud) for the whole suite, driven over HTTP.
          globalSetup: ['test/helpers/local-cloud-setup.ts'],
          // The files mostly wait on the cloud (a maintenance window waits minutes): run several
          // at once even on two cores.
          maxWorkers: 3,
          // Projects with their own maxWorkers run as a group of their own: after unit and infra.
          sequence: { groupOrder: 1 },
          testTimeout: 90_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
