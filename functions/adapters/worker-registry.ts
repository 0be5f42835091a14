import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws-clients.ts';

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
    return this.beat(
      { status: 'idle', currentJobId: null },
      outcome === 'completed' ? 'jobsProcessed' : 'failures',
    );
  }

  private async beat(
    state: { status: string; currentJobId: string | null },
    counter?: string,
  ): Promise<void> {
    const now = new Date();
    await dynamo().send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { workerId: this.identity.workerId },
        UpdateExpression:
          [
            'SET #status = :status, currentJobId = :job, lastHeartbeatAt = :now, expiresAt = :expires',
            'line = :line, functionName = :fn, startedAt = if_not_exists(startedAt, :started)',
            'memoryUsedMb = :memory',
          ].join(', ') + (counter ? ` ADD ${counter} :one` : ''),
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': state.status,
          ':job': state.currentJobId,
          ':now': now.toISOString(),
          ':expires': Math.floor(now.getTime() / 1000) + this.ttlSeconds,
          ':line': this.identity.line,
          ':fn': this.identity.functionName,
          ':started': this.identity.startedAt,
          ':memory': Math.round(process.memoryUsage().rss / 1_048_576),
          ...(counter ? { ':one': 1 } : {}),
        },
      }),
    );
  }
}
