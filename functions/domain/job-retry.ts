/**
 * Manual retry (POST /jobs/{id}/retry, POST /dlq/retry, POST /orders/{id}/retry). A standalone
 * job goes back in line with a fresh attempt budget. A robot step resumes its order: the step
 * (and any other dead step of the order) is re-armed and a new execution of the order's
 * workflow starts; steps already COMPLETED answer that execution from their job rows without
 * running again.
 */
import { attemptsAllowed, findRobotType, findStep } from './catalog.ts';
import { dispatch, dispatchPlan, type FollowUpPorts } from './job-lifecycle.ts';
import type { JobRecord } from './jobs.ts';
import { assemblyInput, executionNameOf, type OrderRecord } from './orders.ts';

export interface RetryPorts extends FollowUpPorts {
  readonly store: FollowUpPorts['jobs'] & {
    rearm(job: JobRecord, now: Date, plan: { dispatchAt: string }): Promise<JobRecord | undefined>;
    rearmStep(job: JobRecord, now: Date, attemptsAllowed: number): Promise<JobRecord | undefined>;
  };
  readonly stepJobs: { listForOrder(orderId: string): Promise<JobRecord[]> };
  readonly orders: {
    get(orderId: string): Promise<OrderRecord | undefined>;
    resume(order: OrderRecord, at: string): Promise<OrderRecord | undefined>;
    markWorkflowStarted(orderId: string): Promise<void>;
  };
  readonly workflows: { start(robotType: string, executionName: string, input: unknown): Promise<void> };
}

export type RetryOutcome =
  | {
      readonly kind: 'retried';
      readonly job: JobRecord;
      readonly orderId?: string;
      readonly executionName?: string;
    }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

const retryable = new Set(['DEAD', 'FAILED']);

export async function retryJob(job: JobRecord, ports: RetryPorts): Promise<RetryOutcome> {
  if (!retryable.has(job.status)) {
    return {
      kind: 'refused',
      code: 'NOT_RETRYABLE',
      message:
        `Job ${job.jobId} is ${job.status}; only DEAD or FAILED jobs can be retried` +
        (job.kind === 'step' && job.orderId
          ? ` (a failed order resumes with POST /orders/${job.orderId}/retry)`
          : ''),
    };
  }
  const now = ports.clock.now();
  if (job.kind === 'step') {
    const order = job.orderId ? await ports.orders.get(job.orderId) : undefined;
    if (!order)
      return { kind: 'refused', code: 'ORDER_NOT_FOUND', message: `Step ${job.jobId} has no order` };
    const outcome = await resumeOrder(order, ports, now);
    if (outcome.kind === 'refused') return outcome;
    const self = outcome.steps.find((s) => s.jobId === job.jobId);
    if (!self)
      return {
        kind: 'refused',
        code: 'CONCURRENT_CHANGE',
        message: `Step ${job.jobId} changed while being retried`,
      };
    return { kind: 'retried', job: self, orderId: order.orderId, executionName: outcome.executionName };
  }

  const rearmed = await ports.store.rearm(
    job,
    now,
    dispatchPlan({ runAt: now.toISOString() }, now, ports.graceMs),
  );
  if (!rearmed)
    return {
      kind: 'refused',
      code: 'CONCURRENT_CHANGE',
      message: `Job ${job.jobId} changed while being retried; read it and try again`,
    };
  await ports.logs.append(job.jobId, {
    timestamp: now.toISOString(),
    level: 'INFO',
    message: `Manual retry #${rearmed.manualRetries ?? 1} from ${job.status}: attempts reset`,
    attempt: 0,
    workerId: ports.actor,
  });
  await dispatch(rearmed, ports).catch(() => undefined); // the marker covers a failed send
  return { kind: 'retried', job: rearmed };
}

export type ResumeOutcome =
  | {
      readonly kind: 'resumed';
      readonly order: OrderRecord;
      readonly executionName: string;
      readonly steps: JobRecord[];
    }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

/**
 * A FAILED order back to work (POST /orders/{id}/retry, or the retry of one of its steps): every
 * DEAD or FAILED step is re-armed with a fresh retry budget and a new execution of the order's
 * workflow starts, in which COMPLETED steps answer from their job rows without running again.
 * Whatever the step rows say, a failed order can always be resumed this way.
 */
export async function resumeOrder(
  order: OrderRecord,
  ports: RetryPorts,
  now: Date = ports.clock.now(),
): Promise<ResumeOutcome> {
  if (order.status !== 'FAILED') {
    return {
      kind: 'refused',
      code: 'ORDER_NOT_FAILED',
      message: `Order ${order.orderId} is ${order.status}; only a FAILED order can be resumed`,
    };
  }
  const robotType = findRobotType(order.robotType);
  const failed = (await ports.stepJobs.listForOrder(order.orderId)).filter((s) => retryable.has(s.status));
  const rearmed = (
    await Promise.all(
      failed.map((s) => {
        const step = robotType && s.stepName ? findStep(robotType, s.stepName) : undefined;
        return ports.store.rearmStep(s, now, step ? attemptsAllowed(step) : s.maxAttempts);
      }),
    )
  ).filter((s) => s !== undefined);
  if (rearmed.length < failed.length)
    return {
      kind: 'refused',
      code: 'CONCURRENT_CHANGE',
      message: `A step of order ${order.orderId} changed while being retried`,
    };
  const resumed = await ports.orders.resume(order, now.toISOString());
  if (!resumed)
    return {
      kind: 'refused',
      code: 'CONCURRENT_CHANGE',
      message: `Order ${order.orderId} changed while being resumed`,
    };
  const executionName = executionNameOf(resumed);
  for (const step of rearmed) {
    await ports.logs.append(step.jobId, {
      timestamp: now.toISOString(),
      level: 'INFO',
      message: `Manual retry: order ${order.orderId} resumes (execution ${executionName}) with ${step.maxAttempts - step.attempts} more attempts; completed steps are not re-run`,
      attempt: step.attempts,
      workerId: ports.actor,
    });
  }
  try {
    await ports.workflows.start(resumed.robotType, executionName, assemblyInput(resumed));
    await ports.orders.markWorkflowStarted(resumed.orderId);
  } catch {
    // The order row says "awaiting start": the intake sweeper starts it.
  }
  return { kind: 'resumed', order: resumed, executionName, steps: rearmed };
}
