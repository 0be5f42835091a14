/**
 * The job model shared by robot steps and (later) standalone jobs. Every change of `status` is a
 * conditional write in the job store, so a duplicate delivery or a late worker cannot move a job
 * backwards.
 */
import type { FailureMark } from './adaptive-retry.ts';
import type { Backoff } from './backoff.ts';
import type { JobProgress } from './job-progress.ts';
import { redact } from './secrets.ts';

export const jobStatuses = [
  'PENDING',
  'QUEUED',
  'RUNNING',
  'RETRYING',
  'COMPLETED',
  'FAILED',
  'DEAD',
  'CANCELLED',
] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** A job in one of these states starts at a claim once it is due (and waits on nothing). */
export const startableJobStatuses: readonly JobStatus[] = ['QUEUED', 'PENDING', 'FAILED', 'RETRYING'];

/**
 * Waiting to start and due at or before `dueBy` (queued, delayed or a retry, waiting on nothing):
 * what a job whose wake-up is held looks like (held-wake-ups.ts, job-lifecycle.ts claimBest).
 */
export const waitingToStartBy = (
  job: Pick<JobRecord, 'status' | 'waitingOn' | 'runAt' | 'createdAt'>,
  dueBy: Date,
): boolean =>
  startableJobStatuses.includes(job.status) &&
  !job.waitingOn &&
  (job.runAt ?? job.createdAt) <= dueBy.toISOString();

/** A job in one of these states never runs again on its own. */
export const finishedJobStatuses: readonly JobStatus[] = ['COMPLETED', 'DEAD', 'CANCELLED'];

export interface JobRecord {
  readonly jobId: string;
  /** A robot assembly step (driven by a workflow) or a standalone job (driven by the engine). */
  readonly kind: 'step' | 'job';
  readonly queue: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly attempts: number;
  readonly maxAttempts: number;
  readonly priority: number;
  readonly orderId?: string;
  readonly robotType?: string;
  readonly stepName?: string;
  readonly workerId?: string;
  /** Hash of the Step Functions task token of the current attempt: the attempt's identity. */
  readonly attemptToken?: string;
  /** Robot steps: the newest dispatch seen (domain/step-attempt.ts), and its task token while it runs. */
  readonly dispatchSeq?: number;
  readonly taskToken?: string;
  readonly leaseExpiresAt?: number;
  /**
   * The job's `ready` partition while it waits — and while an attempt runs unlisted, its first
   * second (job-lifecycle.ts, `listRunningAfterMs`): RUNNING with a readyKey is such an attempt.
   */
  readonly readyKey?: string;
  /** The listing index's key, `<queue>#<STATUS>` (adapters/jobs-table.ts): absent while unlisted. */
  readonly queueStatus?: string;
  readonly createdAt: string;
  readonly updatedAt?: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
  readonly deadAt?: string;
  readonly lastError?: string;
  /** Standalone jobs: each failed attempt's error class (the adaptive retry policy's evidence). */
  readonly failures?: readonly FailureMark[];
  readonly result?: Record<string, unknown>;
  // Standalone jobs (kind 'job') only:
  readonly payload?: Record<string, unknown>;
  readonly backoff?: Backoff;
  /** When the next attempt may start (ISO): the delay, or the backoff after a failed attempt. */
  readonly runAt?: string;
  readonly timeoutMs?: number;
  readonly dependsOn?: readonly string[];
  /** Dependencies not yet COMPLETED; absent when none (DynamoDB string set). */
  readonly waitingOn?: ReadonlySet<string>;
  /** Jobs waiting for this one. */
  readonly dependents?: ReadonlySet<string>;
  /** Dependents submitted after this job had finished: shown in its graph, released by nothing. */
  readonly lateDependents?: ReadonlySet<string>;
  readonly batchId?: string;
  /**
   * The one log line of a short attempt that completed, written with the settle instead of as an
   * item of the log table when the row stays within a write unit (`settledLineFits`); the log
   * shows it in its place (`jobLogOf`).
   */
  readonly settledLine?: JobLogEntry;
  readonly idempotencyKey?: string;
  readonly failedAt?: string;
  readonly cancelledAt?: string;
  readonly cancelReason?: string;
  readonly cancelRequestedAt?: string;
  readonly manualRetries?: number;
  /** Follow-up work (a queue send, dependents to settle) not yet confirmed done; see job-store. */
  readonly dispatchAt?: string;
  readonly discardedAt?: string;
  /** A rate-limit start slot this job holds (epoch ms), from when it was put back in line. */
  readonly rateSlotAt?: number;
  readonly expiresAt?: number;
  /** The running attempt's progress (domain/job-progress.ts); cleared when an attempt starts. */
  readonly progress?: JobProgress;
}

export interface JobLogEntry {
  readonly timestamp: string;
  readonly level: 'INFO' | 'WARN' | 'ERROR';
  readonly message: string;
  readonly attempt: number;
  readonly workerId: string;
}

/**
 * What the API shows of a job: internal bookkeeping (token hash, lease) stays inside, and secret
 * payload fields read "[redacted]" (those whose names say so, and the type's `secretPaths`).
 */
export function publicJobView(job: JobRecord, secretPaths: readonly string[] = []) {
  const {
    attemptToken: _token,
    taskToken: _taskToken,
    dispatchSeq: _dispatchSeq,
    leaseExpiresAt: _lease,
    dispatchAt: _dispatch,
    lastError,
    waitingOn,
    dependents: released,
    lateDependents,
    // Shown in the job's log (GET /jobs/{id}/logs).
    settledLine: _line,
    ...rest
  } = job as JobRecord & Record<string, unknown>;
  const dependents =
    released || lateDependents ? new Set([...(released ?? []), ...(lateDependents ?? [])]) : undefined;
  for (const internal of [
    'queueStatus',
    'leaseShard',
    'dispatchShard',
    'band',
    'sortKey',
    'readyKey',
    'readyRank',
    // The adaptive retry policy's evidence; the log says the same in words.
    'failures',
  ])
    delete rest[internal];
  return {
    ...rest,
    ...(rest.payload !== undefined ? { payload: redact(rest.payload, secretPaths) } : {}),
    ...(waitingOn ? { waitingOn: [...waitingOn].sort() } : {}),
    ...(dependents ? { dependents: [...dependents].sort() } : {}),
    ...(lastError ? { error: lastError } : {}),
  };
}

/** A job's log: the lines of the log table, and the line its settle kept on the row, in time order. */
export function jobLogOf(
  entries: readonly JobLogEntry[],
  job: Pick<JobRecord, 'settledLine'>,
): JobLogEntry[] {
  if (!job.settledLine) return [...entries];
  return [...entries, job.settledLine].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
}

const utf8 = new TextEncoder();

/**
 * An item's size as DynamoDB bills it (docs: "Item sizes and formats"): each attribute's name in
 * UTF-8 bytes plus its value — a string's UTF-8 bytes, a number's ~1 byte per two significant
 * digits plus one, 1 for a boolean or null, 3 plus its elements (each 1 more) for a list or map,
 * a set's members. Rounded up where AWS's rule is approximate.
 */
export function itemSizeOf(item: Readonly<Record<string, unknown>>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item))
    if (value !== undefined) size += utf8.encode(name).length + valueSizeOf(value);
  return size;
}

function valueSizeOf(value: unknown): number {
  if (typeof value === 'string') return utf8.encode(value).length;
  if (typeof value === 'number')
    return 2 + Math.ceil(String(Math.abs(value)).replace(/[.e+-]/g, '').length / 2);
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + 1 + valueSizeOf(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueSizeOf(v), 0);
  if (typeof value === 'object')
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (n, [name, v]) => (v === undefined ? n : n + 1 + utf8.encode(name).length + valueSizeOf(v)),
        0,
      )
    );
  return 0;
}

/**
 * The most a row may weigh (as DynamoDB counts it, `itemSizeOf`) for a completed attempt's line to
 * ride on its settle: within one write unit (1 KB) on the table and on the listing index, whose
 * projection is the whole row, the line costs no write unit, where an item of its own in the log
 * table costs one. The margin covers a number's rounding and the attributes the settle changes
 * that the estimate does not see.
 */
export const settledLineBudget = 1000;

/** A job with dependents gets the follow-up marker with its settle (`dispatchAt`, `dispatchShard`). */
const followUpMarkerBytes = 64;

/** Whether the row, settled with `line` and these fields, stays within `settledLineBudget`. */
export function settledLineFits(
  row: JobRecord,
  settled: Readonly<Record<string, unknown>>,
  line: JobLogEntry,
): boolean {
  const size =
    itemSizeOf({ ...row, ...settled, queueStatus: `${row.queue}#COMPLETED`, settledLine: line }) +
    (row.dependents?.size ? followUpMarkerBytes : 0);
  return size <= settledLineBudget;
}

/** Deterministic so that the workflow, the workers and the API agree on it without a lookup. */
export const stepJobId = (orderId: string, stepName: string): string => `${orderId}.${stepName}`;

/** The order and step a step job id names (order ids have no dot), if it has the shape of one. */
export function parseStepJobId(jobId: string): { orderId: string; stepName: string } | undefined {
  const dot = jobId.indexOf('.');
  if (dot <= 0 || dot === jobId.length - 1) return undefined;
  return { orderId: jobId.slice(0, dot), stepName: jobId.slice(dot + 1) };
}
