/** Finding a job by id: its row, or — for a robot step whose stage has not started — the order's plan of it. */
import type { JobRecord } from './jobs.ts';
import { parseStepJobId } from './jobs.ts';
import { type OrderRecord, unstartedStepJob } from './orders.ts';

export interface JobLookupPorts {
  readonly jobs: { get(jobId: string): Promise<JobRecord | undefined> };
  readonly orders: { get(orderId: string): Promise<OrderRecord | undefined> };
}

export async function findJob(jobId: string, ports: JobLookupPorts): Promise<JobRecord | undefined> {
  const job = await ports.jobs.get(jobId);
  if (job) return job;
  const step = parseStepJobId(jobId);
  const order = step ? await ports.orders.get(step.orderId) : undefined;
  return order && step ? unstartedStepJob(order, step.stepName) : undefined;
}
