/**
 * What the analytics learn from a job row's change (the jobs table's stream, before and after):
 * a job or robot step entering the table was submitted; a change of state to COMPLETED, FAILED
 * (an attempt failed, a retry is scheduled) or DEAD counts as such, with its run time (start to
 * completion of the last attempt) and its wait (due time to start). Every writer of the row is
 * covered — the worker's settle, lease recovery, the workflow's own DEAD record — without any of
 * them writing a metric: the counts come from the data, once per change, off the job path.
 */
import { type RetryLesson, retryLessonsOf } from './adaptive-retry.ts';
import { errorClassId, errorClassOf, errorLabelLength } from './error-classes.ts';
import type { JobRecord } from './jobs.ts';
import type { MetricDelta } from './throughput.ts';

export type JobRowImage = Partial<
  Pick<
    JobRecord,
    | 'kind'
    | 'queue'
    | 'type'
    | 'status'
    | 'createdAt'
    | 'startedAt'
    | 'completedAt'
    | 'runAt'
    | 'deadAt'
    | 'failedAt'
    | 'updatedAt'
    | 'priority'
    | 'waitingOn'
    | 'failures'
    | 'payload'
    | 'attempts'
    | 'lastError'
    | 'batchId'
  >
> & {
  /** The listing index's partition (`<queue>#<state>`; `#DISCARDED` once a dead job is discarded). */
  readonly queueStatus?: string;
};

export interface JobRowChange {
  readonly before?: JobRowImage;
  readonly after?: JobRowImage;
  /** When the change was written (the stream record's creation time). */
  readonly at: Date;
}

export const isJobRow = <T extends JobRowImage>(
  row: T | undefined,
): row is T & { queue: string; type: string } =>
  (row?.kind === 'job' || row?.kind === 'step') &&
  typeof row.queue === 'string' &&
  typeof row.type === 'string';

const ms = (iso: string | undefined) => (iso === undefined ? Number.NaN : Date.parse(iso));
const dateOr = (iso: string | undefined, fallback: Date) =>
  Number.isNaN(ms(iso)) ? fallback : new Date(ms(iso));

/** The metric the change makes, if any (a heartbeat, a claim or a removal makes none). */
export function metricDeltaOf(change: JobRowChange): MetricDelta | undefined {
  const { before, after } = change;
  if (!isJobRow(after)) return undefined;
  const base = { queue: after.queue, type: after.type };
  if (!before) return { ...base, at: dateOr(after.createdAt, change.at), submitted: 1 };
  if (before.status === after.status) return undefined;
  switch (after.status) {
    case 'COMPLETED': {
      const runMs = ms(after.completedAt) - ms(after.startedAt);
      const waitMs = ms(after.startedAt) - ms(after.runAt ?? after.createdAt);
      return {
        ...base,
        at: dateOr(after.completedAt, change.at),
        completed: 1,
        ...(Number.isFinite(runMs) ? { runMs: Math.max(0, runMs) } : {}),
        ...(Number.isFinite(waitMs) ? { waitMs: Math.max(0, waitMs) } : {}),
        ...(after.payload ? { payloadBytes: Buffer.byteLength(JSON.stringify(after.payload)) } : {}),
        ...attemptOf(after),
      };
    }
    case 'FAILED': {
      const at = dateOr(after.failedAt ?? after.updatedAt, change.at);
      return { ...base, at, failed: 1, ...endedAttempt(before, after, at) };
    }
    case 'DEAD': {
      const at = dateOr(after.deadAt ?? after.updatedAt, change.at);
      return { ...base, at, failed: 1, dead: 1, ...endedAttempt(before, after, at) };
    }
    default:
      return undefined;
  }
}

const attemptOf = (row: JobRowImage) =>
  typeof row.attempts === 'number' && row.attempts >= 1 ? { attempt: row.attempts } : {};

/**
 * What a failed attempt adds when this change ended it (the row was RUNNING): its number, how
 * long it ran, its backoff until the retry is due, and its error class. A workflow's DEAD
 * record after a FAILED attempt ends no attempt: that one was counted when it failed.
 */
function endedAttempt(before: JobRowImage, after: JobRowImage, at: Date) {
  if (before.status !== 'RUNNING') return {};
  const ranMs = at.getTime() - ms(after.startedAt);
  const delayMs = ms(after.runAt) - at.getTime();
  const cls = after.lastError ? errorClassOf(after.lastError) : undefined;
  return {
    ...attemptOf(after),
    ...(Number.isFinite(ranMs) ? { failedRunMs: Math.max(0, ranMs) } : {}),
    ...(after.status === 'FAILED' && after.kind === 'job' && Number.isFinite(delayMs)
      ? { retryDelayMs: Math.max(0, delayMs) }
      : {}),
    ...(cls ? { errorClass: { id: errorClassId(cls.key), label: cls.key.slice(0, errorLabelLength) } } : {}),
  };
}

/** A standalone job's move into COMPLETED or DEAD teaches the adaptive retry policy its failures. */
export function retryLessonsOfChange(change: JobRowChange): RetryLesson[] {
  const { before, after } = change;
  if (!isJobRow(after) || after.kind !== 'job' || !after.failures?.length) return [];
  if (before?.status === after.status || !after.status) return [];
  const at = dateOr(after.completedAt ?? after.deadAt, change.at);
  return retryLessonsOf({ ...after, status: after.status }, at);
}
