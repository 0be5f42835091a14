/**
 * Production lines are the factory's named work queues for robot steps. Like a job queue, a line
 * is one SQS queue per priority band (each band with its own worker concurrency, so an urgent
 * order overtakes a backlog of ordinary ones) feeding one worker Lambda; a job type belongs to
 * exactly one line so that a line's concurrency bounds the work of that kind.
 */
export const productionLines = {
  fabrication: {
    description: 'Cuts, prints and machines the raw parts.',
    jobTypes: ['fabricate_parts'],
    concurrency: { urgent: 4, normal: 4, low: 2 },
  },
  assembly: {
    description: 'Builds sub-assemblies (arms, chassis, drivetrains, sensor heads).',
    jobTypes: ['assemble_module'],
    concurrency: { urgent: 8, normal: 8, low: 4 },
  },
  software: {
    description: 'Flashes firmware and installs the robot operating software.',
    jobTypes: ['install_software'],
    concurrency: { urgent: 4, normal: 4, low: 2 },
  },
  calibration: {
    description: 'Calibrates sensors and actuators on the test rig.',
    jobTypes: ['calibrate'],
    concurrency: { urgent: 2, normal: 2, low: 2 },
  },
  quality: {
    description: 'Runs the quality-assurance test suite.',
    jobTypes: ['quality_check'],
    concurrency: { urgent: 2, normal: 2, low: 2 },
  },
  packaging: {
    description: 'Packs and labels the robot for shipping.',
    jobTypes: ['package_robot'],
    concurrency: { urgent: 2, normal: 2, low: 2 },
  },
} as const satisfies Record<string, ProductionLineDefinition>;

export interface ProductionLineDefinition {
  readonly description: string;
  readonly jobTypes: readonly string[];
  /** Workers per priority band: each band's SQS event source MaximumConcurrency (2–1000). */
  readonly concurrency: Readonly<Record<'urgent' | 'normal' | 'low', number>>;
}

/**
 * Step messages a line's worker takes per invocation (its event sources' BatchSize) and runs side
 * by side: a line worker can be busy with this many steps at once.
 */
export const stepsPerLineWorker = 5;

export type ProductionLineName = keyof typeof productionLines;
export type StepJobType = (typeof productionLines)[ProductionLineName]['jobTypes'][number];

export const productionLineNames = Object.keys(productionLines) as ProductionLineName[];

export function lineForJobType(jobType: string): ProductionLineName | undefined {
  return productionLineNames.find((line) =>
    (productionLines[line].jobTypes as readonly string[]).includes(jobType),
  );
}
