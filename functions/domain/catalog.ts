/**
 * The robot catalog: every robot type the factory builds, as data. Infra turns each type's step
 * graph into a Step Functions workflow; the API validates orders against it; workers read step
 * durations and retry policies from it. Adding a robot type means adding an entry here.
 */
import * as z from 'zod';
import type { StepJobType } from './production-lines.ts';

export type JitterStrategy = 'FULL' | 'NONE';

/** Mirrors a Step Functions Retry rule; `maxRetries` is ASL's MaxAttempts (retries after the first attempt). */
export interface StepRetryPolicy {
  readonly maxRetries: number;
  readonly intervalSeconds: number;
  readonly backoffRate: number;
  readonly maxDelaySeconds: number;
  readonly jitter: JitterStrategy;
}

export interface AssemblyStep {
  readonly name: string;
  readonly jobType: StepJobType;
  readonly description: string;
  readonly dependsOn: readonly string[];
  /** Simulated work time when the order does not override it. */
  readonly durationMs: number;
  /** Step Functions TimeoutSeconds for one attempt of the step. */
  readonly timeoutSeconds: number;
  readonly retry: StepRetryPolicy;
}

export interface RobotType {
  readonly name: string;
  readonly description: string;
  readonly specifications: z.ZodType<Record<string, unknown>>;
  readonly steps: readonly AssemblyStep[];
}

/**
 * Exponential backoff without jitter: a robot order is a single workflow, not a herd of clients,
 * so predictable gaps (1 s, 2 s, 4 s …) are worth more to an operator reading the logs.
 */
export const defaultStepRetry: StepRetryPolicy = {
  maxRetries: 2,
  intervalSeconds: 1,
  backoffRate: 2,
  maxDelaySeconds: 30,
  jitter: 'NONE',
};

/** Steps that talk to shared rigs retry with full jitter so that failed robots do not retry in lockstep. */
const sharedRigRetry: StepRetryPolicy = { ...defaultStepRetry, maxRetries: 3, jitter: 'FULL' };

const step = (
  name: string,
  jobType: StepJobType,
  description: string,
  dependsOn: readonly string[],
  options: Partial<Pick<AssemblyStep, 'durationMs' | 'timeoutSeconds' | 'retry'>> = {},
): AssemblyStep => ({
  name,
  jobType,
  description,
  dependsOn,
  durationMs: options.durationMs ?? 300,
  timeoutSeconds: options.timeoutSeconds ?? 300,
  retry: options.retry ?? defaultStepRetry,
});

export const robotTypes: readonly RobotType[] = [
  {
    name: 'welder',
    description: 'Six-axis industrial welding arm with its own controller cabinet.',
    specifications: z.strictObject({
      reachMm: z.int().min(500).max(3000),
      payloadKg: z.number().positive().max(500),
      weldingProcess: z.enum(['mig', 'tig', 'spot']),
    }),
    steps: [
      step('fabricate_parts', 'fabricate_parts', 'Machine the arm segments and cabinet.', []),
      step('assemble_arm', 'assemble_module', 'Assemble joints, motors and the torch mount.', [
        'fabricate_parts',
      ]),
      step('assemble_controller', 'assemble_module', 'Wire the controller cabinet.', ['fabricate_parts']),
      step('install_software', 'install_software', 'Flash the motion controller firmware.', [
        'assemble_arm',
        'assemble_controller',
      ]),
      step('calibrate', 'calibrate', 'Calibrate joint encoders on the rig.', ['install_software'], {
        retry: sharedRigRetry,
      }),
      step('quality_check', 'quality_check', 'Weld a test seam and inspect it.', ['calibrate']),
      step('package', 'package_robot', 'Crate the arm and cabinet.', ['quality_check']),
    ],
  },
  {
    name: 'courier',
    description: 'Autonomous sidewalk delivery rover.',
    specifications: z.strictObject({
      payloadKg: z.number().positive().max(100),
      rangeKm: z.int().min(1).max(200),
      terrain: z.enum(['urban', 'offroad']),
    }),
    steps: [
      step('fabricate_parts', 'fabricate_parts', 'Print the shell and cut the frame.', []),
      step('assemble_chassis', 'assemble_module', 'Build the chassis and battery bay.', ['fabricate_parts']),
      step('assemble_drivetrain', 'assemble_module', 'Mount wheels, motors and suspension.', [
        'fabricate_parts',
      ]),
      step('assemble_sensors', 'assemble_module', 'Fit lidar, cameras and the sensor mast.', [
        'fabricate_parts',
      ]),
      step('install_software', 'install_software', 'Install the navigation stack.', [
        'assemble_chassis',
        'assemble_drivetrain',
        'assemble_sensors',
      ]),
      step('calibrate', 'calibrate', 'Calibrate cameras and lidar extrinsics.', ['install_software'], {
        retry: sharedRigRetry,
      }),
      step('quality_check', 'quality_check', 'Drive the test course.', ['calibrate']),
      step('package', 'package_robot', 'Box the rover with its charger.', ['quality_check']),
    ],
  },
  {
    name: 'companion',
    description: 'Small household companion robot.',
    specifications: z.strictObject({
      heightCm: z.int().min(30).max(150),
      personality: z.enum(['cheerful', 'calm', 'witty']),
      language: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a language tag such as "en" or "pt-BR"'),
    }),
    steps: [
      step('fabricate_parts', 'fabricate_parts', 'Mould the body shells.', []),
      step('assemble_body', 'assemble_module', 'Assemble head, torso and actuators.', ['fabricate_parts']),
      step('install_software', 'install_software', 'Install the personality and voice packs.', [
        'assemble_body',
      ]),
      step('calibrate', 'calibrate', 'Calibrate microphones and face tracking.', ['install_software']),
      step('quality_check', 'quality_check', 'Run the conversation test script.', ['calibrate']),
      step('package', 'package_robot', 'Gift-box the robot.', ['quality_check']),
    ],
  },
];

export function findRobotType(name: string): RobotType | undefined {
  return robotTypes.find((robotType) => robotType.name === name);
}

export function findStep(robotType: RobotType, stepName: string): AssemblyStep | undefined {
  return robotType.steps.find((s) => s.name === stepName);
}

/** Total attempts a step gets: the first one plus its retries. */
export const attemptsAllowed = (s: AssemblyStep): number => s.retry.maxRetries + 1;

/** What `GET /robot-types` shows: the contract, without implementation details such as durations. */
export function describeRobotType(robotType: RobotType) {
  return {
    name: robotType.name,
    description: robotType.description,
    specificationsSchema: z.toJSONSchema(robotType.specifications),
    steps: robotType.steps.map((s) => ({
      name: s.name,
      jobType: s.jobType,
      description: s.description,
      dependsOn: [...s.dependsOn],
      maxAttempts: attemptsAllowed(s),
      timeoutSeconds: s.timeoutSeconds,
    })),
  };
}

/** Whether no other step of the robot type depends on this one (packaging, at the end). */
export function isFinalStep(robotTypeName: string, stepName: string): boolean {
  const robotType = findRobotType(robotTypeName);
  if (!robotType) return false;
  return (
    robotType.steps.some((s) => s.name === stepName) &&
    !robotType.steps.some((s) => s.dependsOn.includes(stepName))
  );
}
