/**
 * How far a batch has come, without an index entry per job: the analytics recorder counts the
 * jobs table's stream into one counter item per batch (a job leaving a state takes one away, a
 * job entering one adds one), and `GET /job-batches/{id}` reads that item. A job of a batch was
 * an entry in a `byBatch` index before, rewritten by every change of state: 3 write units per
 * job, for a view read now and then.
 *
 * The stream is read at least once: a batch of changes applied twice counts twice. So the counts
 * are clamped to the batch's size, and `finished` — what a caller waits for — is never taken from
 * them alone: when the counters say every job has finished, the jobs' rows are read and counted
 * (`exact`), and the answer is theirs; so it is when the counters have been quiet a while (an
 * undercount must not keep a batch unfinished for good). Pending jobs are not counted at all: they are what the
 * other states leave of the total, so a new batch reads right before its first change lands.
 */
import type { JobRowChange } from './job-changes.ts';
import type { JobStatus } from './jobs.ts';

export const batchCountNames = ['running', 'completed', 'failed', 'dead', 'cancelled'] as const;
export type BatchCountName = (typeof batchCountNames)[number];
export type BatchCounts = Readonly<Record<BatchCountName, number>>;

/** Where a job in this state counts; PENDING, QUEUED and RETRYING are pending. */
export function batchCountOf(status: JobStatus | undefined): BatchCountName | undefined {
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'COMPLETED':
      return 'completed';
    case 'FAILED':
      return 'failed';
    case 'DEAD':
      return 'dead';
    case 'CANCELLED':
      return 'cancelled';
    default:
      return undefined;
  }
}

const finishedCounts: readonly BatchCountName[] = ['completed', 'dead', 'cancelled'];

/**
 * What a stream batch does to each batch's counters: batch id → non-zero changes. A row's removal
 * (retention) changes nothing: a batch keeps the count of what its jobs reached.
 */
export function batchCountChangesOf(
  changes: readonly JobRowChange[],
): Record<string, Partial<Record<BatchCountName, number>>> {
  const byBatch: Record<string, Partial<Record<BatchCountName, number>>> = {};
  for (const { before, after } of changes) {
    const batchId = after?.batchId;
    if (!batchId) continue;
    const from = batchCountOf(before?.status);
    const to = batchCountOf(after.status);
    if (from === to) continue;
    const counts = byBatch[batchId] ?? {};
    if (from) counts[from] = (counts[from] ?? 0) - 1;
    if (to) counts[to] = (counts[to] ?? 0) + 1;
    byBatch[batchId] = counts;
  }
  for (const [batchId, counts] of Object.entries(byBatch)) {
    for (const name of batchCountNames) if (counts[name] === 0) delete counts[name];
    if (Object.keys(counts).length === 0) delete byBatch[batchId];
  }
  return byBatch;
}

export interface BatchProgress extends BatchCounts {
  readonly total: number;
  readonly pending: number;
  readonly finished: boolean;
  /** 0–100: the finished jobs' share. */
  readonly progress: number;
}

/** The progress that counts say: each clamped at zero and, together, at the batch's size. */
export function progressOfCounts(total: number, counted: Partial<BatchCounts>): BatchProgress {
  let room = total;
  const counts = {} as Record<BatchCountName, number>;
  // Finished states first: a double count must not crowd them out of the total.
  for (const name of [...finishedCounts, 'failed', 'running'] as const) {
    const n = Math.min(Math.max(0, Math.trunc(counted[name] ?? 0)), room);
    counts[name] = n;
    room -= n;
  }
  const finishedJobs = counts.completed + counts.dead + counts.cancelled;
  return {
    total,
    ...counts,
    pending: room,
    finished: finishedJobs === total,
    progress: total ? Math.floor((finishedJobs / total) * 100) : 100,
  };
}

/**
 * The progress the rows say. A row gone (retention) counts as the counters say of it; a batch
 * without counters (made before them) shows the rows there are, its missing ones in no state.
 */
export function progressOfRows(
  total: number,
  statuses: readonly JobStatus[],
  counted: Partial<BatchCounts> | undefined,
): BatchProgress {
  const exact: Record<BatchCountName, number> = {
    running: 0,
    completed: 0,
    failed: 0,
    dead: 0,
    cancelled: 0,
  };
  for (const status of statuses) {
    const name = batchCountOf(status);
    if (name) exact[name] += 1;
  }
  const unfinished = statuses.length - finishedCounts.reduce((n, name) => n + exact[name], 0);
  if (statuses.length >= total) return progressOfCounts(total, exact);
  const rows = progressOfCounts(total, exact);
  if (!counted) return { ...rows, pending: rows.pending - (total - statuses.length) };
  const fromCounts = progressOfCounts(total, counted);
  // Rows are missing: the counts speak for them, but a row still unfinished is not.
  return unfinished > 0 ? { ...fromCounts, finished: false } : fromCounts;
}

/**
 * Counters that have not moved for this long while the batch is unfinished are checked against
 * the rows: a stream batch applied twice can take one too many from a state a job left (a dead
 * job retried), and records the consumer gave up on count nothing — an undercount would
 * otherwise keep `finished` false for good.
 */
export const quietCountersMs = 30_000;

export interface StoredBatchCounts {
  readonly counts: Partial<BatchCounts>;
  /** When a change last landed in them (epoch ms). */
  readonly updatedAt?: number;
}

export interface BatchProgressPorts {
  /** The batch's counters, or undefined when the batch was made before they were kept. */
  readonly counted: () => Promise<StoredBatchCounts | undefined>;
  /** The states of the batch's jobs whose rows are still there. */
  readonly statuses: () => Promise<JobStatus[]>;
}

/**
 * A batch's progress: from its counters, and from its rows when the counters say it has finished,
 * have been quiet for `quietCountersMs` while it has not, or were never kept for it.
 */
export async function batchProgress(
  batch: { readonly total: number; readonly createdAt: string },
  ports: BatchProgressPorts,
  options: { readonly exact?: boolean; readonly now: Date },
): Promise<BatchProgress> {
  const counted = await ports.counted();
  if (counted && !options.exact) {
    const fromCounts = progressOfCounts(batch.total, counted.counts);
    const lastChange = counted.updatedAt ?? Date.parse(batch.createdAt);
    const quiet = options.now.getTime() - lastChange >= quietCountersMs;
    if (!fromCounts.finished && !quiet) return fromCounts;
  }
  return progressOfRows(batch.total, await ports.statuses(), counted?.counts);
}
