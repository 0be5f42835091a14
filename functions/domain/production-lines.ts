/**
 * Production lines are the factory's named work queues. Each line is one SQS queue (with a
 * dead-letter queue) feeding one worker Lambda; a job type belongs to exactly one line so that a
 * line's concurrency bounds the work of that kind.
 */
export const productionLines = {
  fabrication: {
    description: 'Cuts, prints and machines the raw parts.',
    jobTypes: ['fabricate_parts'],
    maxConcurrency: 10,
  },
  assembly: {
    description: 'Builds sub-assemblies (arms, chassis, drivetrains, sensor heads).',
    jobTypes: ['assemble_module'],
    maxConcurrency: 20,
  },
  software: {
    description: 'Flashes firmware and installs the robot operating software.',
    jobTypes: ['install_software'],
    maxConcurrency: 10,
  },
  calibration: {
    description: 'Calibrates sensors and actuators on the test rig.',
    jobTypes: ['calibrate'],
    maxConcurrency: 5,
  },
  quality: {
    description: 'Runs the quality-assurance test suite.',
    jobTypes: ['quality_check'],
    maxConcurrency: 5,
  },
  packaging: {
    description: 'Packs and labels the robot for shipping.',
    jobTypes: ['package_robot'],
    maxConcurrency: 5,
  },
} as const satisfies Record<string, ProductionLineDefinition>;

export interface ProductionLineDefinition {
  readonly description: string;
  readonly jobTypes: readonly string[];
  /** Upper bound of concurrently running workers: the SQS event source's MaximumConcurrency (2–1000). */
  readonly maxConcurrency: number;
}

export type ProductionLineName = keyof typeof productionLines;
export type StepJobType = (typeof productionLines)[ProductionLineName]['jobTypes'][number];

export const productionLineNames = Object.keys(productionLines) as ProductionLineName[];

export function lineForJobType(jobType: string): ProductionLineName | undefined {
  return productionLineNames.find((line) =>
    (productionLines[line].jobTypes as readonly string[]).includes(jobType),
  );
}
