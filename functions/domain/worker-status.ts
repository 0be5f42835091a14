/**
 * A worker's status from its row: busy with a heartbeat older than the lease means lost (its
 * environment died or froze mid-job); otherwise what it last said. Idle environments do not
 * heartbeat (Lambda freezes them between invocations), so idle workers are "idle" until their
 * row expires.
 */
export const lostAfterMs = 45_000;

export interface WorkerFacts {
  readonly status: 'idle' | 'busy';
  readonly lastHeartbeatAt: string;
}

export const workerStatus = (row: WorkerFacts, now: number): 'idle' | 'busy' | 'lost' =>
  row.status === 'busy' && now - Date.parse(row.lastHeartbeatAt) > lostAfterMs ? 'lost' : row.status;

/** Workers that count as active: busy, or idle but seen within this span. */
export const activeWithinMs = 15 * 60_000;
