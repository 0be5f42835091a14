import { defineConfig } from 'vitest/config';
import IntegrationSequencer from './test/helpers/integration-sequencer.ts';

export default defineConfig({
  test: {
    // The integration files that wait on the clock for a minute or more start first.
    sequence: { sequencer: IntegrationSequencer },
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
          // at once even on two cores, the longest first (test/helpers/integration-sequencer.ts).
          // Three against moto too, one Python process: its run took 297 s instead of 383–422 s
          // with two, every test passing. (Two once starved each other's handlers past their 10 s
          // timeout, when every StartExecution copied the run's whole execution history:
          // localstack/moto/moto_server.py shares it now.)
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
