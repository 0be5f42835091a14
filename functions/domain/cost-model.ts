/**
 * What the factory's work costs on AWS: THE price table (list prices) and the usage each kind of
 * job makes, as measured by `npm run bench` and written up in docs/cost-model.md. GET
 * /analytics/cost multiplies the usage by the jobs, attempts and run times the metric buckets
 * count; the retry analysis prices retries with the same figures. Change a price here and every
 * figure follows; docs/cost-model.md points here.
 */
import { isProductionLine } from './job-queues.ts';
import { maxCountedAttempt, type StoredBucket, workerMsOf } from './throughput.ts';

/**
 * On-demand list prices, us-east-1, USD — the prices docs/cost-model.md and docs/events.md
 * compute with. Sources: aws.amazon.com/dynamodb/pricing/on-demand, /sqs/pricing,
 * /lambda/pricing (Arm: every factory function runs on arm64), /step-functions/pricing (Standard
 * workflows), /eventbridge/pricing (custom events), /api-gateway/pricing (HTTP APIs, first 300 M).
 * Free tiers are left out: the figures are what the work costs beyond them.
 */
export const listPrices = {
  region: 'us-east-1',
  currency: 'USD',
  dynamoDbWriteUnit: 0.625 / 1e6,
  dynamoDbReadUnit: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  lambdaGbSecondArm: 0.0000133334,
  stepFunctionsTransition: 0.025 / 1e3,
  eventBridgeEvent: 1 / 1e6,
  /** The bus's archive: $0.10 per GB ingested, ~0.5 KB an event (docs/events.md#cost). */
  eventArchivePerEvent: (0.1 / 1e6) * 0.5,
  httpApiRequest: 1 / 1e6,
} as const;

/** Billable units of AWS usage. */
export interface Usage {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly sqsRequests: number;
  readonly lambdaRequests: number;
  readonly transitions: number;
  /** Events published (EventBridge, its archive, and ~0.2 WU each in the events table). */
  readonly events: number;
  readonly apiRequests: number;
}

const none: Usage = {
  writeUnits: 0,
  readUnits: 0,
  sqsRequests: 0,
  lambdaRequests: 0,
  transitions: 0,
  events: 0,
  apiRequests: 0,
};

/** Write units of the events table per event published (docs/events.md#cost). */
const eventWriteUnits = 0.06;

export type JobKind = 'job' | 'step';

/**
 * Usage per kind of job, split into what a job makes once (intake), what each attempt makes,
 * and what a retry adds to an attempt. Measured by `npm run bench` (docs/cost-model.md):
 *
 * Standalone job — the `jobs` section, 500 jobs in one POST /job-batches (run 18): 3.1 calls and
 * 6.7 write units per job, by table and index: Jobs 3.0 (intake put, claim, settle),
 * byQueueStatus 1.0 (a waiting job is on `ready` only and its claim touches no index: a short
 * attempt's settle puts it straight into its finished partition), ready 2.0 (in at intake or at a
 * retry, out at the settle), Metrics 0.05 (the recorder's buckets, live counts and batch counters,
 * per stream batch), JobBatches 0.03, JobLogs 0 (a short attempt's one line rides on its settle;
 * 1.0 for an attempt that logs), Workers 0.12 + byLine 0.22 (once per batch of wake-ups), Events
 * 0.19 (gzipped publications, ~0.06 an event).
 * Intake: 1 + 0.13 = 1.13 WU; each short attempt (done within `listRunningAfterMs`, 1 s):
 * 2 + 1 + 2 + 0.35 = 5.35 WU (7.35 while the claim moved the job from `ready` to the RUNNING
 * partition, 8.35 while a waiting job had a listing entry too, 9.35 while its line had an item of
 * its own, 11.35 while a job of a batch had a `byBatch` index entry, 13.35 until lease recovery
 * read the listing index instead of a leases index). An attempt that runs on is listed as RUNNING
 * by its first heartbeat (Jobs 1, ready 1, byQueueStatus 1) and moved at its settle (2): 8.35 WU,
 * plus its heartbeats.
 * Calls: 0.1 SendMessageBatch at intake; per attempt 0.1 DeleteMessageBatch, 0.1
 * ChangeMessageVisibilityBatch and 0.1 invocation (ten wake-ups an invocation, as under a
 * backlog: a job alone on an idle queue has an invocation, a delete and 3 worker-row WU of its
 * own) and 0.16 Query of the ready index (0.5 read unit each: eventually consistent, under 4 KB).
 * A retry's message is one more SendMessage. One API request per job (POST /jobs; a bulk request
 * of 500 makes it 0.002). Events: job.submitted, then job.started and job.completed or
 * job.failed per attempt.
 *
 * Robot step — the bench's orders (docs/cost-model.md's first table, run 11): ~14.4 WU per step
 * (welder 101/7, courier 111/8, companion 89/6); SQS 1 send (the workflow's
 * sendMessage.waitForTaskToken) and ~0.6 DeleteMessageBatch per step (a line worker takes up
 * to 5 messages an invocation; welder 3, courier 5, companion 5 batches an order), so ~0.6
 * invocations; 1 state transition per attempt (the Task; a retry adds one) and ~0.25 per step
 * for the order's Parallel states and completion record (courier: 10 transitions, 8 steps).
 * Events: job.submitted and order.progress once, job.started and job.completed per attempt.
 */
export const usageOf: Record<
  JobKind,
  { readonly perJob: Usage; readonly perAttempt: Usage; readonly perRetry: Usage }
> = {
  job: {
    perJob: { ...none, writeUnits: 1.13, sqsRequests: 0.1, events: 1, apiRequests: 1 },
    perAttempt: {
      ...none,
      writeUnits: 5.35,
      readUnits: 0.08,
      sqsRequests: 0.2,
      lambdaRequests: 0.1,
      events: 2,
    },
    perRetry: { ...none, sqsRequests: 1 },
  },
  step: {
    perJob: { ...none, transitions: 0.25, events: 2 },
    perAttempt: {
      ...none,
      writeUnits: 14.4,
      sqsRequests: 1.6,
      lambdaRequests: 0.6,
      transitions: 1,
      events: 2,
    },
    perRetry: none,
  },
};

/** Worker memory per queue (MB): what the stack gives each worker Lambda (infra/factory-stack.ts). */
export function workerMemoryMb(queue: string): number {
  if (isProductionLine(queue)) return 256;
  return queue === 'media' ? 1024 : 512;
}

export const kindOf = (queue: string): JobKind => (isProductionLine(queue) ? 'step' : 'job');

export interface CostBreakdown {
  readonly dynamoDb: number;
  readonly sqs: number;
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly stepFunctions: number;
  readonly events: number;
  readonly api: number;
}

const zero: CostBreakdown = {
  dynamoDb: 0,
  sqs: 0,
  lambdaRequests: 0,
  lambdaCompute: 0,
  stepFunctions: 0,
  events: 0,
  api: 0,
};

/** The price of some usage, by service. */
export function usageCost(u: Usage, times = 1): CostBreakdown {
  const p = listPrices;
  return {
    dynamoDb:
      times * (u.writeUnits * p.dynamoDbWriteUnit + u.readUnits * p.dynamoDbReadUnit) +
      times * u.events * eventWriteUnits * p.dynamoDbWriteUnit,
    sqs: times * u.sqsRequests * p.sqsRequest,
    lambdaRequests: times * u.lambdaRequests * p.lambdaRequest,
    lambdaCompute: 0,
    stepFunctions: times * u.transitions * p.stepFunctionsTransition,
    events: times * u.events * (p.eventBridgeEvent + p.eventArchivePerEvent),
    api: times * u.apiRequests * p.httpApiRequest,
  };
}

/** Lambda compute of worker time: GB-seconds at the queue's worker memory. */
export const computeCost = (workerMs: number, queue: string): number =>
  (workerMs / 1000) * (workerMemoryMb(queue) / 1024) * listPrices.lambdaGbSecondArm;

const add = (a: CostBreakdown, b: CostBreakdown): CostBreakdown => ({
  dynamoDb: a.dynamoDb + b.dynamoDb,
  sqs: a.sqs + b.sqs,
  lambdaRequests: a.lambdaRequests + b.lambdaRequests,
  lambdaCompute: a.lambdaCompute + b.lambdaCompute,
  stepFunctions: a.stepFunctions + b.stepFunctions,
  events: a.events + b.events,
  api: a.api + b.api,
});

const sumOf = (c: CostBreakdown) => Object.values(c).reduce((a, b) => a + b, 0);

/** Attempts a bucket counts: by number where the recorder counted them so, else completions and failures. */
export function attemptsOf(counters: Record<string, number>): { attempts: number; retries: number } {
  let attempts = 0;
  let retries = 0;
  let numbered = false;
  for (let n = 1; n <= maxCountedAttempt; n++) {
    const ended = (counters[`ac${n}`] ?? 0) + (counters[`af${n}`] ?? 0);
    if (ended === 0) continue;
    numbered = true;
    attempts += ended;
    if (n >= 2) retries += ended;
  }
  if (!numbered) attempts = (counters.completed ?? 0) + (counters.failed ?? 0);
  return { attempts, retries };
}

/** The price of one attempt beyond the first on a queue, without its run time. */
export const retryAttemptCost = (queue: string): number => {
  const usage = usageOf[kindOf(queue)];
  return sumOf(add(usageCost(usage.perAttempt), usageCost(usage.perRetry)));
};

interface Tally {
  submitted: number;
  finished: number;
  attempts: number;
  retries: number;
  workerMs: number;
  cost: CostBreakdown;
}

const emptyTally = (): Tally => ({
  submitted: 0,
  finished: 0,
  attempts: 0,
  retries: 0,
  workerMs: 0,
  cost: zero,
});

/** The usage and price one bucket's counts stand for. */
function tallyOf(b: StoredBucket): Tally {
  const usage = usageOf[kindOf(b.queue)];
  const submitted = b.counters.submitted ?? 0;
  const { attempts, retries } = attemptsOf(b.counters);
  const workerMs = workerMsOf(b.counters);
  const cost = [
    usageCost(usage.perJob, submitted),
    usageCost(usage.perAttempt, attempts),
    usageCost(usage.perRetry, retries),
    { ...zero, lambdaCompute: computeCost(workerMs, b.queue) },
  ].reduce(add);
  return {
    submitted,
    finished: (b.counters.completed ?? 0) + (b.counters.dead ?? 0),
    attempts,
    retries,
    workerMs,
    cost,
  };
}

const addTally = (into: Tally, t: Tally): Tally => ({
  submitted: into.submitted + t.submitted,
  finished: into.finished + t.finished,
  attempts: into.attempts + t.attempts,
  retries: into.retries + t.retries,
  workerMs: into.workerMs + t.workerMs,
  cost: add(into.cost, t.cost),
});

/** Four significant digits: the figures are estimates, and cents of a cent matter per job. */
const usd = (x: number) => Number(x.toPrecision(4));

function view(t: Tally) {
  const total = sumOf(t.cost);
  return {
    submitted: t.submitted,
    finished: t.finished,
    attempts: t.attempts,
    retries: t.retries,
    workerSeconds: Number((t.workerMs / 1000).toFixed(3)),
    costUsd: usd(total),
    costPerJobUsd: t.finished ? usd(total / t.finished) : null,
    breakdownUsd: Object.fromEntries(Object.entries(t.cost).map(([k, v]) => [k, usd(v)])),
  };
}

/** Hours in AWS's billing month. */
export const hoursPerMonth = 730;

/**
 * GET /analytics/cost: the range's cost in total, per queue and per (queue, type), per finished
 * job (completed or dead), and the month it projects to at the range's hourly rate.
 */
export function costReport(buckets: readonly StoredBucket[], range: { from: Date; to: Date }) {
  let total = emptyTally();
  const queues = new Map<string, Tally>();
  const types = new Map<string, Tally>();
  for (const b of buckets) {
    const t = tallyOf(b);
    total = addTally(total, t);
    queues.set(b.queue, addTally(queues.get(b.queue) ?? emptyTally(), t));
    const key = `${b.queue}\u0000${b.type}`;
    types.set(key, addTally(types.get(key) ?? emptyTally(), t));
  }
  const hours = (range.to.getTime() - range.from.getTime()) / 3_600_000;
  const perMonth = hoursPerMonth / hours;
  const byCost = <T extends { costUsd: number }>(a: T, b: T) => b.costUsd - a.costUsd;
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    total: view(total),
    monthlyProjection: {
      costUsd: usd(sumOf(total.cost) * perMonth),
      jobs: Math.round(total.finished * perMonth),
      basis: `the range's ${Number(hours.toFixed(2))} h at the same rate for ${hoursPerMonth} h`,
    },
    queues: [...queues.entries()]
      .map(([queue, t]) => ({
        queue,
        kind: kindOf(queue),
        workerMemoryMb: workerMemoryMb(queue),
        ...view(t),
      }))
      .sort(byCost),
    types: [...types.entries()]
      .map(([key, t]) => {
        const [queue = '', type = ''] = key.split('\u0000');
        return { queue, type, ...view(t) };
      })
      .sort(byCost),
    prices: listPrices,
    usagePerKind: usageOf,
    limits: [
      'usage per job and attempt is the bench’s measurement (docs/cost-model.md), not each job’s own calls',
      'compute is the measured run time of each attempt; the worker’s own calls around it and cold starts are not in it',
      'SQS receives (idle polling), CloudWatch logs, S3 objects of job outputs and the monitoring stack are not counted',
    ],
  };
}
