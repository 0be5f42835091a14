/**
 * Robot orders: intake validation and the status view. The order row holds what the customer
 * asked for and the workflow's verdict; step progress is read from the step jobs, so there is
 * one writer per fact.
 */
import { randomBytes } from 'node:crypto';
import * as z from 'zod';
import { attemptsAllowed, findRobotType, findStep, type RobotType, robotTypes } from './catalog.ts';
import { bandIndexOf, prioritySchema } from './job-queues.ts';
import { type JobRecord, stepJobId } from './jobs.ts';
import { lineForJobType } from './production-lines.ts';

export const orderStatuses = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const simulationSchema = z.strictObject({
  stepDurationMs: z.int().min(0).max(600_000).optional(),
  failures: z.record(z.string(), z.union([z.int().min(1).max(100), z.literal('always')])).optional(),
});
export type Simulation = z.infer<typeof simulationSchema>;

export const orderRequestSchema = z.strictObject({
  customerId: z.string().trim().min(1).max(128),
  robotType: z.string().min(1).max(64),
  specifications: z.record(z.string(), z.unknown()),
  /** 0 (most urgent) to 10, or critical/high/normal/low: picks the band its steps wait in on every line. */
  priority: prioritySchema.default(5),
  simulate: simulationSchema.optional(),
});
export type OrderRequest = z.infer<typeof orderRequestSchema>;

export interface OrderRecord {
  readonly orderId: string;
  readonly customerId: string;
  readonly robotType: string;
  readonly specifications: Record<string, unknown>;
  readonly priority: number;
  readonly simulate?: Simulation;
  readonly status: OrderStatus;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly failedAt?: string;
  readonly error?: string;
  /** Present until the assembly workflow is known to have started; the intake sweeper reads it. */
  readonly awaitingStart?: string;
  /** The current execution's name: the order id, or `<orderId>-resume-<n>` after a step retry. */
  readonly executionName?: string;
  readonly resumes?: number;
  readonly resumedAt?: string;
  readonly cancelledAt?: string;
  readonly cancelledBy?: string;
  readonly cancelReason?: string;
}

export const executionNameOf = (order: Pick<OrderRecord, 'orderId' | 'executionName'>): string =>
  order.executionName ?? order.orderId;

/** A problem with an order that the customer can fix: becomes a 400. */
export class OrderRejected extends Error {
  override readonly name = 'OrderRejected';
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export interface AcceptOrderOptions {
  readonly simulationEnabled: boolean;
  readonly now: Date;
}

/** Validates an order against the catalog and returns the row to store. Throws OrderRejected. */
export function acceptOrder(request: OrderRequest, options: AcceptOrderOptions): OrderRecord {
  const robotType = findRobotType(request.robotType);
  if (!robotType) {
    throw new OrderRejected('UNKNOWN_ROBOT_TYPE', `Unknown robot type "${request.robotType}".`, {
      knownRobotTypes: robotTypes.map((r) => r.name),
    });
  }
  const specs = robotType.specifications.safeParse(request.specifications);
  if (!specs.success) {
    throw new OrderRejected(
      'INVALID_SPECIFICATIONS',
      `The specifications do not fit a ${robotType.name} robot.`,
      specs.error.issues.map((issue) => ({
        path: ['specifications', ...issue.path].join('.'),
        message: issue.message,
      })),
    );
  }
  if (request.simulate) {
    if (!options.simulationEnabled) {
      throw new OrderRejected(
        'SIMULATION_DISABLED',
        'This factory does not accept "simulate": the stack was deployed with simulation off.',
      );
    }
    const unknownSteps = Object.keys(request.simulate.failures ?? {}).filter(
      (name) => !robotType.steps.some((s) => s.name === name),
    );
    if (unknownSteps.length > 0) {
      throw new OrderRejected(
        'UNKNOWN_STEP',
        `simulate.failures names steps that ${robotType.name} does not have.`,
        {
          unknownSteps,
          steps: robotType.steps.map((s) => s.name),
        },
      );
    }
  }
  const createdAt = options.now.toISOString();
  return {
    orderId: newOrderId(options.now),
    customerId: request.customerId,
    robotType: robotType.name,
    specifications: specs.data,
    priority: request.priority,
    ...(request.simulate ? { simulate: request.simulate } : {}),
    status: 'PENDING',
    createdAt,
    awaitingStart: createdAt,
  };
}

/** Time-ordered ids read well in logs and keep recent orders together. */
export function newOrderId(now: Date): string {
  return `ord_${now.getTime().toString(36)}${randomBytes(6).toString('hex')}`;
}

/** The input of an order's assembly workflow: small, and every field the definition reads is present. */
export function assemblyInput(order: OrderRecord) {
  return {
    orderId: order.orderId,
    robotType: order.robotType,
    priority: order.priority,
    band: bandIndexOf(order.priority),
    simulate: order.simulate ?? {},
  };
}

export function orderStatusView(order: OrderRecord, jobs: readonly JobRecord[]) {
  const robotType = findRobotType(order.robotType) as RobotType;
  const byStep = new Map(jobs.map((job) => [job.stepName, job]));
  const steps = robotType.steps.map((s) => {
    const job = byStep.get(s.name);
    return {
      name: s.name,
      jobId: stepJobId(order.orderId, s.name),
      status: job?.status ?? 'PENDING',
      attempts: job?.attempts ?? 0,
      startedAt: job?.startedAt ?? null,
      completedAt: job?.completedAt ?? null,
      ...(job?.lastError && job.status !== 'COMPLETED' ? { error: job.lastError } : {}),
    };
  });
  const completed = steps.filter((s) => s.status === 'COMPLETED').length;
  // The workflow records which step failed; the step's own record says how.
  const failedStep = order.error?.match(/^Step (\S+) failed$/)?.[1];
  const failedDetail = failedStep ? byStep.get(failedStep)?.lastError : undefined;
  return {
    orderId: order.orderId,
    customerId: order.customerId,
    robotType: order.robotType,
    priority: order.priority,
    status: order.status,
    progress: order.status === 'COMPLETED' ? 100 : Math.floor((completed / steps.length) * 100),
    steps,
    createdAt: order.createdAt,
    ...(order.startedAt ? { startedAt: order.startedAt } : {}),
    ...(order.completedAt ? { completedAt: order.completedAt } : {}),
    ...(order.failedAt ? { failedAt: order.failedAt } : {}),
    ...(order.error ? { error: failedDetail ? `${order.error}: ${failedDetail}` : order.error } : {}),
    ...(order.resumes ? { resumes: order.resumes, resumedAt: order.resumedAt } : {}),
    ...(order.cancelledAt
      ? { cancelledAt: order.cancelledAt, cancelledBy: order.cancelledBy, cancelReason: order.cancelReason }
      : {}),
  };
}

/**
 * A step of the order that has no job row yet (its stage has not been dispatched): what
 * GET /jobs/{id} shows of it, so that every jobId of the order status answers.
 */
export function unstartedStepJob(order: OrderRecord, stepName: string): JobRecord | undefined {
  const robotType = findRobotType(order.robotType);
  const step = robotType && findStep(robotType, stepName);
  if (!step) return undefined;
  return {
    jobId: stepJobId(order.orderId, step.name),
    kind: 'step',
    queue: lineForJobType(step.jobType) ?? 'unknown',
    type: step.jobType,
    status: 'PENDING',
    attempts: 0,
    maxAttempts: attemptsAllowed(step),
    priority: order.priority,
    orderId: order.orderId,
    robotType: order.robotType,
    stepName: step.name,
    createdAt: order.createdAt,
  };
}
