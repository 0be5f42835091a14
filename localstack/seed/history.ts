/**
 * A month of factory history, generated: what `npm run seed-history` (localstack/seed-history.ts)
 * writes into a running local factory so that the analytics, the failure model, the SLA report
 * and the DLQ have a past to speak of. Pure and deterministic for a seed; nothing here does I/O.
 *
 * Every queue gets arrivals with a daily rhythm (busy in working hours, quiet at night), a
 * weekly one (weekends at under half), a slow growth over the month and some noise:
 * - notifications, media and reports: the failure-prediction bench's jobs
 *   (localstack/bench/prediction-workload.ts: mail to a bounce domain fails, images over ~5,000
 *   px fail, a partner's webhooks fail in its nightly maintenance, reports nearly always succeed),
 *   with their true chances and drawn outcomes, so the failure model trained on them has a
 *   ground truth;
 * - default: fail_sometimes, webhook_call, send_email, delayed_message and run_maintenance with
 *   the errors those types really raise;
 * - the production lines: robot orders whose steps run along the catalog's dependency graph,
 *   with the shared rig's calibration drifting now and then.
 * Each attempt waits in line for a time drawn from a log-normal whose median grows with the
 * hour's load (so busy hours are where an SLA is missed), fails or not as its type does, and is
 * retried after its type's backoff up to its attempt budget, as the job engine and the
 * workflows would. A partner's three-hour outage nine days ago fails webhook attempts with 503s.
 *
 * The metric deltas are made by the analytics recorder's own function (metricDeltaOf, from
 * the row changes each job makes), so the buckets hold exactly what the recorder would have
 * written. Finished job rows are made for the last week of the job queues (the trainer reads
 * one week; finished rows are kept seven days) and for every dead job of the month (the DLQ
 * keeps them thirty days). Those rows are inserted into the jobs table, whose stream the
 * recorder follows: it counts their submission itself, so their `submitted` delta is left out
 * here.
 */
import type { Backoff } from '../../functions/domain/backoff.ts';
import { defaultBackoff, retryDelayMs } from '../../functions/domain/backoff.ts';
import { attemptsAllowed, robotTypes } from '../../functions/domain/catalog.ts';
import { type JobRowImage, metricDeltaOf } from '../../functions/domain/job-changes.ts';
import { failureClassOf } from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { lineForJobType } from '../../functions/domain/production-lines.ts';
import type { MetricDelta } from '../../functions/domain/throughput.ts';
import { jobTypes } from '../../functions/job-types/index.ts';
import { historyJob } from '../bench/prediction-workload.ts';
import { seededRandom } from '../bench/retry-workload.ts';

const hourMs = 3_600_000;
const dayMs = 86_400_000;

export interface HistoryOptions {
  /** The history ends here (jobs still running at `now` are left out). */
  readonly now: Date;
  /** @default 30 */
  readonly days?: number;
  /** @default 2026 */
  readonly seed?: number;
  /** Multiplies every arrival rate. @default 1 */
  readonly scale?: number;
  /** Finished job rows are made for this many last days (the factory keeps them 7). @default 7 */
  readonly rowDays?: number;
  /** Dead job rows are made for this many last days (the DLQ keeps them 30). @default 30 */
  readonly deadRowDays?: number;
}

/** A finished job row, as the job store leaves it (listing key and expiry included). */
export type SeededRow = JobRecord & { readonly queueStatus: string; readonly expiresAt: number };

/** A completed robot order (its hour bucket: GET /analytics/throughput's orders). */
export interface SeededOrder {
  readonly robotType: string;
  readonly completedAt: Date;
  readonly assemblyMs: number;
}

export interface HistoryDay {
  /** The day's start (UTC), ISO. */
  readonly day: string;
  /** Jobs and robot steps submitted that day. */
  readonly jobs: number;
  readonly orders: number;
  /** What the analytics recorder would have recorded (row jobs' submissions left out). */
  readonly deltas: readonly MetricDelta[];
  readonly rows: readonly SeededRow[];
  readonly completedOrders: readonly SeededOrder[];
}

/** Relative arrivals by UTC hour: working hours busy, the night quiet. */
const workingDay = [
  0.25, 0.2, 0.18, 0.18, 0.2, 0.3, 0.5, 0.8, 1.0, 1.1, 1.15, 1.15, 1.1, 1.15, 1.2, 1.15, 1.05, 0.9, 0.75, 0.6,
  0.5, 0.4, 0.35, 0.3,
];
/** Background work runs around the clock, a little busier by day. */
const aroundTheClock = [
  0.6, 0.55, 0.55, 0.55, 0.6, 0.65, 0.75, 0.9, 1.0, 1.05, 1.1, 1.1, 1.05, 1.1, 1.1, 1.05, 1.0, 0.95, 0.9,
  0.85, 0.8, 0.75, 0.7, 0.65,
];
/** Relative arrivals by day of the week (Sunday first). */
const week = [0.4, 1.0, 1.05, 1.05, 1.0, 0.9, 0.45];

interface Stream {
  /** Jobs (or orders) on an average weekday. */
  readonly perDay: number;
  readonly shape: readonly number[];
}
const streams = {
  /** The prediction bench's jobs: notifications, media and reports. */
  predicted: { perDay: 450, shape: workingDay },
  /** The default queue's background work. */
  background: { perDay: 500, shape: aroundTheClock },
  /** Robot orders (their steps run on the production lines). */
  orders: { perDay: 40, shape: workingDay },
} as const satisfies Record<string, Stream>;

/** Median wait in line (ms) in a quiet hour, per queue; it grows with the hour's load. */
const quietWaitMs: Record<string, number> = {
  notifications: 200,
  default: 150,
  media: 400,
  reports: 900,
};
const lineWaitMs = 250;

/** The partner outages: webhook attempts fail with a 503 while they last. */
interface Outage {
  readonly from: number;
  readonly to: number;
  readonly queues: readonly string[];
  readonly failShare: number;
}

export const outageError = (url: string) => `Webhook ${url} answered 503: Service Unavailable`;

/** The partner's outage in a history ending at `now`: nine days before, 13:00–16:00 UTC. */
export function outagesOf(now: Date): Outage[] {
  const nineDaysAgo = Math.floor((now.getTime() - 9 * dayMs) / dayMs) * dayMs;
  return [
    {
      from: nineDaysAgo + 13 * hourMs,
      to: nineDaysAgo + 16 * hourMs,
      queues: ['notifications', 'default'],
      failShare: 0.7,
    },
  ];
}

/** Arrivals an hour (before noise) of a stream: its rhythm, the weekday and the month's growth. */
function meanArrivals(stream: Stream, at: number, start: number, span: number, scale: number): number {
  const date = new Date(at);
  const shape = stream.shape;
  const shapeSum = shape.reduce((a, b) => a + b, 0);
  const growth = 0.9 + 0.2 * ((at - start) / span);
  return (
    ((stream.perDay * (shape[date.getUTCHours()] ?? 1)) / shapeSum) *
    (week[date.getUTCDay()] ?? 1) *
    growth *
    scale
  );
}

/** The busiest hour of a stream's week, before growth and noise: where the load is 1. */
const peakOf = (stream: Stream) =>
  (Math.max(...stream.shape) / stream.shape.reduce((a, b) => a + b, 0)) * Math.max(...week) * stream.perDay;

function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = random(); p > limit; p *= random()) k++;
  return k;
}

function normal(random: () => number): number {
  const u = Math.max(random(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const logNormal = (random: () => number, median: number, sigma: number) =>
  median * Math.exp(sigma * normal(random));

/** One attempt: when it started and ended, and its error if it failed. */
interface Attempt {
  readonly due: number;
  readonly start: number;
  readonly end: number;
  readonly error?: string;
}

/** A job's life as the engine (or a workflow) ran it. */
interface SimulatedJob {
  readonly jobId: string;
  readonly kind: 'job' | 'step';
  readonly queue: string;
  readonly type: string;
  readonly priority: number;
  readonly payload?: Record<string, unknown>;
  readonly backoff?: Backoff;
  readonly createdAt: number;
  readonly maxAttempts: number;
  readonly attempts: readonly Attempt[];
  readonly outcome: 'COMPLETED' | 'DEAD';
  readonly orderId?: string;
  readonly stepName?: string;
  readonly robotType?: string;
}

interface AttemptPlan {
  readonly due: number;
  readonly maxAttempts: number;
  /** Wait in line before an attempt starts. */
  readonly wait: () => number;
  /** Run time of attempt n; `failed` when it fails. */
  readonly run: (n: number, failed: boolean) => number;
  /** The error of attempt n starting at `start`, or undefined when it succeeds. */
  readonly error: (n: number, start: number) => string | undefined;
  /** A permanent error ends the job at once (PermanentJobError). */
  readonly permanent?: (error: string) => boolean;
  /** The delay after failed attempt n before the next is due. */
  readonly delay: (n: number) => number;
}

function runAttempts(plan: AttemptPlan): { attempts: Attempt[]; outcome: 'COMPLETED' | 'DEAD' } {
  const attempts: Attempt[] = [];
  let due = plan.due;
  for (let n = 1; ; n++) {
    const start = Math.round(due + plan.wait());
    const error = plan.error(n, start);
    const end = start + Math.max(1, Math.round(plan.run(n, error !== undefined)));
    attempts.push({ due, start, end, ...(error ? { error } : {}) });
    if (!error) return { attempts, outcome: 'COMPLETED' };
    if (n >= plan.maxAttempts || plan.permanent?.(error)) return { attempts, outcome: 'DEAD' };
    due = end + Math.round(plan.delay(n));
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The row changes a job made and the metric delta each gives (metricDeltaOf, the recorder's
 * own function): its submission, each failed attempt, and its end.
 */
export function deltasOf(job: SimulatedJob, options: { submitted: boolean }): MetricDelta[] {
  const base = { kind: job.kind, queue: job.queue, type: job.type } as const;
  const changes: { before?: JobRowImage; after: JobRowImage; at: number }[] = [];
  const first = job.attempts[0];
  if (options.submitted)
    changes.push({
      after: {
        ...base,
        status: job.kind === 'step' ? 'RUNNING' : 'QUEUED',
        createdAt: iso(job.createdAt),
        runAt: iso(first?.due ?? job.createdAt),
      },
      at: job.createdAt,
    });
  const running: JobRowImage = { ...base, status: 'RUNNING' };
  job.attempts.forEach((attempt, i) => {
    const n = i + 1;
    const last = n === job.attempts.length;
    const common = { ...base, attempts: n, startedAt: iso(attempt.start), createdAt: iso(job.createdAt) };
    if (!attempt.error) {
      changes.push({
        before: running,
        after: {
          ...common,
          status: 'COMPLETED',
          completedAt: iso(attempt.end),
          runAt: iso(attempt.due),
          ...(job.payload ? { payload: job.payload } : {}),
        },
        at: attempt.end,
      });
      return;
    }
    if (last && job.kind === 'job') {
      changes.push({
        before: running,
        after: { ...common, status: 'DEAD', deadAt: iso(attempt.end), lastError: attempt.error },
        at: attempt.end,
      });
      return;
    }
    const next = job.attempts[n];
    changes.push({
      before: running,
      after: {
        ...common,
        status: 'FAILED',
        failedAt: iso(attempt.end),
        ...(next ? { runAt: iso(next.due) } : {}),
        lastError: attempt.error,
      },
      at: attempt.end,
    });
    // A step that used its retries: the workflow's own DEAD record after the failed attempt.
    if (last)
      changes.push({
        before: { ...base, status: 'FAILED' },
        after: { ...common, status: 'DEAD', deadAt: iso(attempt.end), lastError: attempt.error },
        at: attempt.end,
      });
  });
  return changes.flatMap((c) => metricDeltaOf({ ...c, at: new Date(c.at) }) ?? []);
}

/** The finished row the job store leaves for a standalone job. */
export function rowOf(job: SimulatedJob, retention: { finishedDays: number; deadDays: number }): SeededRow {
  const last = job.attempts[job.attempts.length - 1] as Attempt;
  const failures = job.attempts.flatMap((a, i) =>
    a.error ? [{ n: i + 1, c: failureClassOf(a.error), at: iso(a.end) }] : [],
  );
  const lastError = [...job.attempts].reverse().find((a) => a.error)?.error;
  const dead = job.outcome === 'DEAD';
  return {
    jobId: job.jobId,
    kind: 'job',
    queue: job.queue,
    type: job.type,
    status: job.outcome,
    queueStatus: `${job.queue}#${job.outcome}`,
    attempts: job.attempts.length,
    maxAttempts: job.maxAttempts,
    priority: job.priority,
    createdAt: iso(job.createdAt),
    updatedAt: iso(last.end),
    startedAt: iso(last.start),
    runAt: iso(last.due),
    ...(dead ? { deadAt: iso(last.end) } : { completedAt: iso(last.end) }),
    ...(lastError ? { lastError } : {}),
    ...(failures.length ? { failures: failures.slice(-25) } : {}),
    ...(job.payload ? { payload: job.payload } : {}),
    ...(job.backoff ? { backoff: job.backoff } : {}),
    expiresAt: Math.floor(last.end / 1000) + (dead ? retention.deadDays : retention.finishedDays) * 86_400,
  };
}

const backoffOf = (type: string): Backoff => ({ ...defaultBackoff, ...jobTypes.get(type)?.defaults.backoff });
const maxAttemptsOf = (type: string) => jobTypes.get(type)?.defaults.maxAttempts ?? 3;

/** An id of the job engine's shape (`job_` + creation time base 36 + 12 hex digits), from the seed. */
const jobIdAt = (random: () => number, at: number) =>
  `job_${at.toString(36)}${Array.from({ length: 12 }, () => Math.floor(random() * 16).toString(16)).join('')}`;

/**
 * The errors of the prediction bench's jobs: a job whose drawn outcome is failure fails every
 * attempt with its type's cause (an oversized image at once: the renderer refuses it for good);
 * one that succeeds fails first now and then with a transient error.
 */
function predictedErrors(
  type: string,
  payload: Record<string, unknown>,
  at: Date,
): { permanent: string; transient: string; transientShare: number; refusedAtOnce?: boolean } {
  switch (type) {
    case 'send_email':
      return {
        permanent:
          payload.domain === 'bounce.test'
            ? `Recipient ${String(payload.to)} rejected: 550 5.1.1 mailbox unavailable`
            : 'SMTP relay mail.example.net refused the connection',
        transient: 'SMTP relay mail.example.net timed out after 10000 ms',
        transientShare: 0.03,
      };
    case 'webhook_call': {
      const hour = at.getUTCHours();
      const url = String(payload.url);
      return {
        permanent:
          hour >= 2 && hour < 4
            ? `Webhook ${url} answered 503: partner maintenance window`
            : `Webhook ${url} answered 422: unknown order reference`,
        transient: `Webhook ${url} failed: no answer within 10000 ms`,
        transientShare: 0.06,
      };
    }
    case 'process_image': {
      const width = Number(payload.width);
      return width > 5000
        ? {
            permanent: `Image of ${width} px is wider than the renderer limit of 5000 px`,
            transient: 'Renderer ran out of memory (1536 MB)',
            transientShare: 0.02,
            refusedAtOnce: true,
          }
        : {
            permanent: 'Renderer ran out of memory (1536 MB)',
            transient: 'Renderer ran out of memory (1536 MB)',
            transientShare: 0.02,
          };
    }
    default:
      return {
        permanent: 'Report query timed out after 300000 ms',
        transient: 'Report query timed out after 300000 ms',
        transientShare: 0.04,
      };
  }
}

/** The default queue's types: share of arrivals, run time, and each attempt's failure. */
interface BackgroundType {
  readonly type: string;
  readonly share: number;
  readonly payload: (random: () => number) => Record<string, unknown>;
  readonly runMs: (random: () => number, payload: Record<string, unknown>) => number;
  /** The error of one attempt (undefined: it succeeds); `doomed` is drawn once per job. */
  readonly error: (
    random: () => number,
    payload: Record<string, unknown>,
    n: number,
    doomed: boolean,
  ) => string | undefined;
  /** Share of jobs whose every attempt fails (a cause no retry fixes). */
  readonly doomedShare?: number;
  /** Delay before the job is first due (delayed messages). */
  readonly delayMs?: (random: () => number) => number;
}

const hooksUrl = 'https://hooks.example.com/orders';
const backgroundTypes: readonly BackgroundType[] = [
  {
    type: 'fail_sometimes',
    share: 0.4,
    payload: (random) => ({
      probability: [0, 0, 0, 0.05, 0.1, 0.3, 0.6][Math.floor(random() * 7)] ?? 0,
      workMs: Math.round(logNormal(random, 600, 0.6)),
    }),
    runMs: (random, payload) => Number(payload.workMs) + 3 + random() * 10,
    error: (random, payload, n) => {
      const roll = random();
      const probability = Number(payload.probability);
      return roll < probability
        ? `Unlucky attempt ${n}: rolled ${roll.toFixed(3)} < ${probability}`
        : undefined;
    },
  },
  {
    type: 'webhook_call',
    share: 0.22,
    payload: () => ({ url: hooksUrl, method: 'POST', body: { event: 'robot.shipped' } }),
    runMs: (random) => logNormal(random, 180, 0.5),
    doomedShare: 0.01,
    error: (random, _payload, _n, doomed) =>
      doomed
        ? `Webhook ${hooksUrl} answered 410: Gone`
        : random() < 0.04
          ? `Webhook ${hooksUrl} failed: no answer within 10000 ms`
          : undefined,
  },
  {
    type: 'send_email',
    share: 0.22,
    payload: (random) => {
      const to = `customer${Math.floor(random() * 5000)}@example.com`;
      return { to, cc: [], subject: 'Your robot order', body: 'Thank you for your order.' };
    },
    runMs: (random) => logNormal(random, 90, 0.4),
    doomedShare: 0.015,
    error: (_random, payload, _n, doomed) =>
      doomed ? `Recipient ${String(payload.to)} rejected: 550 5.1.1 mailbox unavailable` : undefined,
  },
  {
    type: 'delayed_message',
    share: 0.15,
    payload: () => ({ message: 'Follow up with the customer', holdMs: 0 }),
    runMs: (random) => 2 + random() * 6,
    delayMs: (random) => Math.round(60_000 + random() * 2 * hourMs),
    error: () => undefined,
  },
  {
    type: 'run_maintenance',
    share: 0.01,
    payload: () => ({ line: 'calibration', kind: 'calibration' }),
    runMs: (random) => logNormal(random, 45_000, 0.3),
    error: (random) =>
      random() < 0.05 ? 'Maintenance lock on line calibration is held by another run' : undefined,
  },
];

/** The entry whose share of [0, 1) holds `roll`. */
function pickByShare<T extends { readonly share: number }>(entries: readonly T[], roll: number): T {
  let below = 0;
  for (const entry of entries) {
    below += entry.share;
    if (roll < below) return entry;
  }
  return entries[entries.length - 1] as T;
}

/** Step failures per attempt, by job type (the shared rig's calibration drifts most). */
const stepErrors: Record<string, { share: number; error: string }> = {
  fabricate_parts: { share: 0.01, error: 'Material feed jammed at station 4' },
  install_software: { share: 0.02, error: 'Firmware image checksum mismatch after flashing' },
  calibrate: { share: 0.06, error: 'Calibration drift 0.42 mm exceeds the 0.30 mm tolerance on rig 3' },
};

/**
 * The history, one UTC day at a time (the first day starts `days` before `now`, the last ends
 * at `now`), so that a writer can write and report as it goes.
 */
export function* historyDays(options: HistoryOptions): Generator<HistoryDay> {
  const days = options.days ?? 30;
  const scale = options.scale ?? 1;
  const now = options.now.getTime();
  const start = Math.floor((now - days * dayMs) / hourMs) * hourMs;
  const span = now - start;
  const random = seededRandom(options.seed ?? 2026);
  const outages = outagesOf(options.now);
  const retention = { finishedDays: 7, deadDays: 30 };
  const rowsFrom = now - (options.rowDays ?? retention.finishedDays) * dayMs;
  const deadRowsFrom = now - (options.deadRowDays ?? retention.deadDays) * dayMs;
  const outageAt = (queue: string, at: number) =>
    outages.find((o) => o.queues.includes(queue) && at >= o.from && at < o.to);
  /**
   * The wait in line of a queue at an hour whose load (0–1 of its peak) is `load`: five times
   * the quiet median at the peak, where the SLAs are missed.
   */
  const wait = (median: number, load: number) => () =>
    logNormal(random, median * (1 + 4 * Math.min(1, load) ** 4), 0.8);
  let orderSeq = 0;

  for (let dayStart = Math.floor(start / dayMs) * dayMs; dayStart < now; dayStart += dayMs) {
    const deltas: MetricDelta[] = [];
    const rows: SeededRow[] = [];
    const completedOrders: SeededOrder[] = [];
    let jobs = 0;
    let orders = 0;
    /** Keeps a job that ended before now: its deltas, and its row when the factory keeps one. */
    const keep = (job: SimulatedJob) => {
      const end = job.attempts[job.attempts.length - 1]?.end ?? job.createdAt;
      if (end >= now) return false;
      const row =
        job.kind === 'job' && (job.createdAt >= rowsFrom || (job.outcome === 'DEAD' && end >= deadRowsFrom));
      deltas.push(...deltasOf(job, { submitted: !row }));
      if (row) rows.push(rowOf(job, retention));
      jobs++;
      return true;
    };
    for (let hour = Math.max(dayStart, start); hour < Math.min(dayStart + dayMs, now); hour += hourMs) {
      const noise = () => Math.exp(0.15 * normal(random));
      const arrivals = (stream: Stream) =>
        poisson(random, meanArrivals(stream, hour, start, span, scale) * noise());
      const loadOf = (stream: Stream) => meanArrivals(stream, hour, start, span, 1) / peakOf(stream);
      const at = () => hour + Math.floor(random() * hourMs);

      // The prediction bench's jobs, outcomes drawn from their ground truth.
      const predictedLoad = loadOf(streams.predicted);
      for (let i = arrivals(streams.predicted); i > 0; i--) {
        const createdAt = at();
        const { sample, succeeded, runMs } = historyJob(random, new Date(createdAt));
        const payload = sample.payload ?? {};
        const errors = predictedErrors(sample.type, payload, new Date(createdAt));
        const maxAttempts = maxAttemptsOf(sample.type);
        const backoff = backoffOf(sample.type);
        const transientFailures = succeeded
          ? random() < errors.transientShare
            ? Math.min(maxAttempts - 1, random() < 0.3 ? 2 : 1)
            : 0
          : 0;
        const { attempts, outcome } = runAttempts({
          due: createdAt,
          maxAttempts,
          wait: wait(quietWaitMs[sample.queue] ?? 200, predictedLoad),
          run: (_n, failed) => (failed ? runMs * (0.3 + random() * 0.7) : runMs),
          error: (n, startAt) => {
            const outage = sample.type === 'webhook_call' ? outageAt(sample.queue, startAt) : undefined;
            if (outage && random() < outage.failShare) return outageError(String(payload.url));
            if (!succeeded) return errors.permanent;
            return n <= transientFailures ? errors.transient : undefined;
          },
          permanent: (error) => errors.refusedAtOnce === true && error === errors.permanent,
          delay: (n) => retryDelayMs(backoff, n, random),
        });
        keep({
          jobId: jobIdAt(random, createdAt),
          kind: 'job',
          queue: sample.queue,
          type: sample.type,
          priority: sample.priority ?? 5,
          payload,
          backoff,
          createdAt,
          maxAttempts,
          attempts,
          outcome,
        });
      }

      // The default queue's background work.
      const backgroundLoad = loadOf(streams.background);
      for (let i = arrivals(streams.background); i > 0; i--) {
        const createdAt = at();
        const kind = pickByShare(backgroundTypes, random());
        const payload = kind.payload(random);
        const doomed = random() < (kind.doomedShare ?? 0);
        const maxAttempts = maxAttemptsOf(kind.type);
        const backoff = backoffOf(kind.type);
        const { attempts, outcome } = runAttempts({
          due: createdAt + (kind.delayMs?.(random) ?? 0),
          maxAttempts,
          wait: wait(quietWaitMs.default as number, backgroundLoad),
          run: () => kind.runMs(random, payload),
          error: (n, startAt) => {
            const outage = kind.type === 'webhook_call' ? outageAt('default', startAt) : undefined;
            if (outage && random() < outage.failShare) return outageError(hooksUrl);
            return kind.error(random, payload, n, doomed);
          },
          delay: (n) => retryDelayMs(backoff, n, random),
        });
        keep({
          jobId: jobIdAt(random, createdAt),
          kind: 'job',
          queue: 'default',
          type: kind.type,
          priority: 5,
          payload,
          backoff,
          createdAt,
          maxAttempts,
          attempts,
          outcome,
        });
      }

      // Robot orders: each step when its dependencies are done, on its line, with the step's retry policy.
      const lineLoad = loadOf(streams.orders);
      for (let i = arrivals(streams.orders); i > 0; i--) {
        const orderedAt = at();
        const pick = random();
        const robotType = robotTypes[pick < 0.25 ? 0 : pick < 0.7 ? 1 : 2] ?? robotTypes[0];
        if (!robotType) break;
        const orderId = `ord_${orderedAt.toString(36)}${(orderSeq++ % 1296).toString(36).padStart(2, '0')}`;
        const finished = new Map<string, number>();
        let failed = false;
        let steps = 0;
        for (const step of robotType.steps) {
          const due = Math.max(orderedAt, ...step.dependsOn.map((d) => finished.get(d) ?? orderedAt));
          const failure = stepErrors[step.jobType];
          const { attempts, outcome } = runAttempts({
            due,
            maxAttempts: attemptsAllowed(step),
            wait: wait(lineWaitMs, lineLoad),
            run: () => logNormal(random, step.durationMs, 0.25),
            error: () => (failure && random() < failure.share ? failure.error : undefined),
            delay: (n) => {
              const delay = step.retry.intervalSeconds * 1000 * step.retry.backoffRate ** (n - 1);
              return step.retry.jitter === 'FULL' ? random() * delay : delay;
            },
          });
          const kept = keep({
            jobId: `${orderId}.${step.name}`,
            kind: 'step',
            queue: lineForJobType(step.jobType) ?? 'assembly',
            type: step.jobType,
            priority: 5,
            createdAt: due,
            maxAttempts: attemptsAllowed(step),
            attempts,
            outcome,
            orderId,
            stepName: step.name,
            robotType: robotType.name,
          });
          steps++;
          if (!kept || outcome === 'DEAD') {
            failed = true;
            break;
          }
          finished.set(step.name, attempts[attempts.length - 1]?.end ?? due);
        }
        if (steps > 0) orders++;
        if (!failed) {
          const completedAt = Math.max(...finished.values());
          completedOrders.push({
            robotType: robotType.name,
            completedAt: new Date(completedAt),
            assemblyMs: completedAt - orderedAt,
          });
        }
      }
    }
    yield { day: iso(dayStart), jobs, orders, deltas, rows, completedOrders };
  }
}
