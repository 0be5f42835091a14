/**
 * The job engine's named queues, beside the production lines. SQS has no priorities, so each
 * queue is three SQS queues, one per priority band, each with its own worker concurrency: urgent
 * work gets the most, and low work always keeps a share (no starvation without aging tricks).
 */
import * as z from 'zod';
import { type ProductionLineName, productionLineNames, productionLines } from './production-lines.ts';

export const priorityBands = [
  { name: 'urgent', min: 0, max: 2 },
  { name: 'normal', min: 3, max: 6 },
  { name: 'low', min: 7, max: 10 },
] as const;
export type PriorityBand = (typeof priorityBands)[number]['name'];
export const bandNames: readonly PriorityBand[] = priorityBands.map((b) => b.name);

export const bandOf = (priority: number): PriorityBand =>
  (priorityBands.find((b) => priority >= b.min && priority <= b.max) ?? priorityBands[1]).name;

/** The band's position (0 = urgent): how the assembly workflow picks a line's band queue. */
export const bandIndexOf = (priority: number): number => bandNames.indexOf(bandOf(priority));

/** Priority names accepted beside the numbers (0 is the most urgent, 10 the least). */
export const priorityNames = { critical: 0, high: 2, normal: 5, low: 8 } as const;
export type PriorityName = keyof typeof priorityNames;

/** A priority as a number 0–10 or one of the names; always a number once parsed. */
export const prioritySchema = z.union([
  z.int().min(0).max(10),
  z
    .enum(Object.keys(priorityNames) as [PriorityName, ...PriorityName[]])
    .transform((name) => priorityNames[name]),
]);

export interface JobQueueDefinition {
  readonly description: string;
  readonly jobTypes: readonly string[];
  /**
   * Workers per band: each band's SQS event source has this MaximumConcurrency (2–1000 on AWS).
   * The weights are the policy: urgent work overtakes a backlog, low work still moves.
   */
  readonly concurrency: Readonly<Record<PriorityBand, number>>;
}

export const jobQueues = {
  default: {
    description: 'General background work: demo jobs, timers, webhooks and mail.',
    jobTypes: ['delayed_message', 'fail_sometimes', 'webhook_call', 'send_email', 'run_maintenance'],
    concurrency: { urgent: 6, normal: 4, low: 2 },
  },
  notifications: {
    description: 'Customer notifications: e-mail and outgoing webhooks.',
    jobTypes: ['send_email', 'webhook_call', 'run_maintenance'],
    concurrency: { urgent: 6, normal: 4, low: 2 },
  },
  reports: {
    description: 'Sales and analytics reports computed from the jobs data.',
    jobTypes: ['generate_report'],
    concurrency: { urgent: 3, normal: 2, low: 2 },
  },
  media: {
    description: 'Image processing for catalogues and robot inspection photos.',
    jobTypes: ['process_image'],
    concurrency: { urgent: 4, normal: 3, low: 2 },
  },
} as const satisfies Record<string, JobQueueDefinition>;

export type JobQueueName = keyof typeof jobQueues;
export const jobQueueNames = Object.keys(jobQueues) as JobQueueName[];

export const isJobQueue = (name: string): name is JobQueueName => Object.hasOwn(jobQueues, name);
export const isProductionLine = (name: string): name is ProductionLineName =>
  Object.hasOwn(productionLines, name);

/** Every queue a job can be on: the engine's queues and the robot production lines. */
export const allQueueNames: readonly string[] = [...jobQueueNames, ...productionLineNames];

/**
 * The queue a job type goes to when a request names none (seed 003's tasks carry only a type):
 * the most specialised job queue that takes it.
 */
export function defaultQueueOf(type: string): JobQueueName | undefined {
  return jobQueueNames
    .filter((q) => (jobQueues[q].jobTypes as readonly string[]).includes(type))
    .sort((a, b) => jobQueues[a].jobTypes.length - jobQueues[b].jobTypes.length)[0];
}

/** Workers per band of any queue, job queue or production line, as configured in the template. */
export function bandConcurrency(queue: string): Readonly<Record<PriorityBand, number>> {
  if (isJobQueue(queue)) return jobQueues[queue].concurrency;
  if (isProductionLine(queue)) return productionLines[queue].concurrency;
  throw new Error(`No queue named ${queue}`);
}

const sum = (parts: Readonly<Record<PriorityBand, number>>) =>
  Object.values(parts).reduce((a, b) => a + b, 0);

/** What GET /queues shows of every queue. */
export function describeQueues() {
  return [
    ...jobQueueNames.map((name) => {
      const q: JobQueueDefinition = jobQueues[name];
      return {
        name,
        kind: 'job-queue' as const,
        description: q.description,
        jobTypes: [...q.jobTypes],
        concurrency: sum(q.concurrency),
        bands: priorityBands.map((b) => ({
          band: b.name,
          priorities: [b.min, b.max],
          concurrency: q.concurrency[b.name],
        })),
        acceptsSubmissions: true,
      };
    }),
    ...productionLineNames.map((name) => ({
      name,
      kind: 'production-line' as const,
      description: productionLines[name].description,
      jobTypes: [...productionLines[name].jobTypes],
      concurrency: sum(productionLines[name].concurrency),
      bands: priorityBands.map((b) => ({
        band: b.name,
        priorities: [b.min, b.max],
        concurrency: productionLines[name].concurrency[b.name],
      })),
      // Steps are created by the assembly workflows, never by POST /jobs.
      acceptsSubmissions: false,
    })),
  ];
}
