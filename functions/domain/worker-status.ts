/**
 * A worker's status from its row: busy with a heartbeat older than the lease means lost (its
 * environment died or froze mid-job); otherwise what it last said. Idle environments do not
 * heartbeat (Lambda freezes them between invocations), so idle workers are "idle" until their
 * row expires.
 */
export const lostAfterMs = 45_000;

export interface WorkerFacts {
  /** 'lost' once the job dispatcher found its lease run out (the row says so until it beats again). */
  readonly status: 'idle' | 'busy' | 'lost';
  readonly lastHeartbeatAt: string;
}

export const workerStatus = (row: WorkerFacts, now: number): 'idle' | 'busy' | 'lost' =>
  row.status === 'busy' && now - Date.parse(row.lastHeartbeatAt) > lostAfterMs ? 'lost' : row.status;

/** Workers that count as active: busy, or idle but seen within this span. */
export const activeWithinMs = 15 * 60_000;

/** How long a row may say idle while a short job runs: the busy writes it saves. */
export const rowRefreshMs = 5_000;

export interface WrittenRow {
  readonly status: 'idle' | 'busy';
  readonly at: number;
}

/**
 * Whether a worker's row must be written now. Writing it busy and idle around every job cost two
 * writes per job, and its end alone one. Now a start is written only when the row is older than
 * `rowRefreshMs`, and an end only when the row says busy (a busy row left behind would read as
 * lost) or is that old: the finished jobs' counts wait for the invocation's end, which writes
 * them once (WorkerRegistry.flush). A batch of short jobs writes once per invocation — a tenth of
 * a write per job with ten wake-ups an invocation; a long job shows busy after at most one period
 * (its heartbeat writes then) and idle as it ends. A row may say idle while a short job runs, for
 * that long.
 */
export function rowNeedsWrite(
  written: WrittenRow | undefined,
  next: 'idle' | 'busy',
  now: number,
  refreshMs = rowRefreshMs,
): boolean {
  return !written || now - written.at >= refreshMs || (next === 'idle' && written.status === 'busy');
}
