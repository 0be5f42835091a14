import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { rowNeedsWrite, type WrittenRow } from '#domain/worker-status';
import { dynamo, isConditionFailure } from './aws-clients.ts';

export interface WorkerIdentity {
  readonly workerId: string;
  readonly line: string;
  readonly functionName: string;
  readonly startedAt: string;
}

/**
 * The workers table has one row per execution environment. Rows expire by TTL, so a worker that
 * disappears leaves no permanent trace; `lastHeartbeatAt` tells whether it is alive.
 */
export class WorkerRegistry {
  private written: WrittenRow | undefined;
  /** Counts of finished jobs not yet in the row: they go with its next write. */
  private readonly pending = { jobsProcessed: 0, failures: 0 };

  constructor(
    private readonly tableName: string,
    private readonly identity: WorkerIdentity,
    private readonly ttlSeconds: number,
  ) {}

  /** On start of the execution environment: the worker exists, idle. */
  register(): Promise<void> {
    return this.beat({ status: 'idle', currentJobId: null });
  }

  busy(jobId: string): Promise<void> {
    return this.beat({ status: 'busy', currentJobId: jobId });
  }

  idle(outcome: 'completed' | 'failed'): Promise<void> {
    this.pending[outcome === 'completed' ? 'jobsProcessed' : 'failures']++;
    return this.beat({ status: 'idle', currentJobId: null });
  }

  /**
   * At the end of an invocation, before Lambda may freeze the environment: the counts of the jobs
   * it finished that no write has carried yet.
   */
  flush(): Promise<void> {
    if (this.pending.jobsProcessed + this.pending.failures === 0) return Promise.resolve();
    return this.beat({ status: 'idle', currentJobId: null }, true);
  }

  /** Writes the row when `rowNeedsWrite` says so (on change that matters, and by time), or forced. */
  private async beat(
    state: { status: 'idle' | 'busy'; currentJobId: string | null },
    force = false,
  ): Promise<void> {
    const now = new Date();
    if (!force && !rowNeedsWrite(this.written, state.status, now.getTime())) return;
    const counts = { ...this.pending };
    const counters = Object.entries(counts).filter(([, n]) => n > 0);
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { workerId: this.identity.workerId },
        UpdateExpression:
          [
            'SET #status = :status, currentJobId = :job, lastHeartbeatAt = :now, expiresAt = :expires',
            'line = :line, functionName = :fn, startedAt = if_not_exists(startedAt, :started)',
            'memoryUsedMb = :memory',
          ].join(', ') +
          (counters.length > 0 ? ` ADD ${counters.map(([name]) => `${name} :${name}`).join(', ')}` : ''),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': state.status,
          ':job': state.currentJobId,
          ':now': now.toISOString(),
          ':expires': Math.floor(now.getTime() / 1000) + this.ttlSeconds,
          ':line': this.identity.line,
          ':fn': this.identity.functionName,
          ':started': this.identity.startedAt,
          // rss() alone: memoryUsage() also walks the heap's spaces, on every row write.
          ':memory': Math.round(process.memoryUsage.rss() / 1_048_576),
          ...Object.fromEntries(counters.map(([name, n]) => [`:${name}`, n])),
        },
      }),
    );
    this.written = { status: state.status, at: now.getTime() };
    for (const [name, n] of counters) this.pending[name as keyof typeof this.pending] -= n;
  }
}

/**
 * Marks a worker lost when the job dispatcher settles an attempt whose lease ran out: only a
 * row silent since before the lease expired (a worker that wrote since keeps its word; its row
 * may say idle, as a short job's start is not always written). The row's change is the
 * worker.lost event. Its next heartbeat, if it ever comes, overwrites it.
 */
export async function markWorkerLost(
  tableName: string,
  workerId: string,
  silentSince: Date,
  now: Date,
): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: tableName,
        Key: { workerId },
        UpdateExpression: 'SET #status = :lost, lostAt = :now',
        ConditionExpression: '#status <> :lost AND lastHeartbeatAt < :silentSince',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':lost': 'lost',
          ':now': now.toISOString(),
          ':silentSince': silentSince.toISOString(),
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
