/**
 * DELETE /orders/{id}: an order stops being built. The order row turns CANCELLED first (a
 * conditional write: only a PENDING or IN_PROGRESS order can be cancelled), then its workflow
 * execution is stopped, and every step not yet finished is cancelled in the jobs table — a
 * step waiting in a queue finds its row CANCELLED when its message arrives and does not run, a
 * running one stops at its next heartbeat. Repeating the call on a CANCELLED order redoes the
 * last two parts, so a crash halfway is mended by a retry.
 */
import { attemptsAllowed, findRobotType } from './catalog.ts';
import type { JobLogEntry, JobRecord } from './jobs.ts';
import { stepJobId } from './jobs.ts';
import { executionNameOf, type OrderRecord } from './orders.ts';
import { lineForJobType } from './production-lines.ts';

export interface OrderCancelPorts {
  readonly orders: {
    cancel(order: OrderRecord, at: string, by: string, reason: string): Promise<OrderRecord | undefined>;
  };
  readonly workflows: { stop(robotType: string, executionName: string, cause: string): Promise<void> };
  readonly steps: {
    /** Not started → CANCELLED (the row is created if the step never ran); RUNNING → cancel requested. */
    cancelStep(
      seed: Pick<
        JobRecord,
        'jobId' | 'queue' | 'type' | 'orderId' | 'robotType' | 'stepName' | 'priority' | 'maxAttempts'
      >,
      reason: string,
      at: string,
    ): Promise<'cancelled' | 'stop-requested' | 'finished'>;
  };
  readonly logs: { append(jobId: string, entry: JobLogEntry): Promise<void> };
  readonly clock: { now(): Date };
}

export type CancelOutcome =
  | {
      readonly kind: 'cancelled';
      readonly order: OrderRecord;
      readonly steps: Record<'cancelled' | 'stop-requested' | 'finished', string[]>;
    }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string };

export async function cancelOrder(
  order: OrderRecord,
  by: string,
  reason: string,
  ports: OrderCancelPorts,
): Promise<CancelOutcome> {
  const now = ports.clock.now().toISOString();
  let cancelled = order;
  if (order.status !== 'CANCELLED') {
    const updated = await ports.orders.cancel(order, now, by, reason);
    if (!updated) {
      return {
        kind: 'refused',
        code: 'ORDER_FINISHED',
        message: `Order ${order.orderId} is ${order.status === 'PENDING' || order.status === 'IN_PROGRESS' ? 'changing' : order.status}; only a PENDING or IN_PROGRESS order can be cancelled`,
      };
    }
    cancelled = updated;
  }
  await ports.workflows.stop(order.robotType, executionNameOf(order), `Cancelled by ${by}: ${reason}`);

  const robotType = findRobotType(order.robotType);
  const steps: Record<'cancelled' | 'stop-requested' | 'finished', string[]> = {
    cancelled: [],
    'stop-requested': [],
    finished: [],
  };
  for (const step of robotType?.steps ?? []) {
    const jobId = stepJobId(order.orderId, step.name);
    const outcome = await ports.steps.cancelStep(
      {
        jobId,
        queue: lineForJobType(step.jobType) ?? 'unknown',
        type: step.jobType,
        orderId: order.orderId,
        robotType: order.robotType,
        stepName: step.name,
        priority: order.priority,
        maxAttempts: attemptsAllowed(step),
      },
      `Its order was cancelled by ${by}: ${reason}`,
      now,
    );
    steps[outcome].push(jobId);
    if (outcome === 'finished') continue;
    await ports.logs.append(jobId, {
      timestamp: now,
      level: 'WARN',
      message:
        outcome === 'cancelled'
          ? `Cancelled with order ${order.orderId} by ${by}: ${reason}`
          : `Order ${order.orderId} cancelled by ${by}: the running attempt stops at its next heartbeat`,
      attempt: 0,
      workerId: by,
    });
  }
  return { kind: 'cancelled', order: cancelled, steps };
}
