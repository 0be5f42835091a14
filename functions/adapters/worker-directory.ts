import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './aws-clients.ts';

export interface WorkerRow {
  readonly workerId: string;
  readonly line: string;
  readonly functionName: string;
  readonly status: 'idle' | 'busy' | 'lost';
  readonly currentJobId: string | null;
  readonly startedAt: string;
  readonly lastHeartbeatAt: string;
  readonly jobsProcessed?: number;
  readonly failures?: number;
  readonly memoryUsedMb?: number;
}

/** Reads the workers table by queue (GSI byLine, newest heartbeat first). */
export class WorkerDirectory {
  constructor(private readonly tableName: string) {}

  async seenSince(queue: string, since: string): Promise<WorkerRow[]> {
    const rows: WorkerRow[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await dynamo().send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'byLine',
          KeyConditionExpression: 'line = :queue AND lastHeartbeatAt >= :since',
          ExpressionAttributeValues: { ':queue': queue, ':since': since },
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      rows.push(...((page.Items ?? []) as WorkerRow[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return rows;
  }
}
