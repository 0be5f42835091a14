/**
 * DynamoDB's TTL for the local data planes: dynalite does not implement it and moto never
 * expires rows. Every minute, rows whose TTL attribute (epoch seconds) is in the past are
 * deleted, table by table, as AWS's TTL process does (AWS within days; here within a minute).
 */
import { BatchWriteItemCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

export interface TtlTable {
  readonly name: string;
  readonly attribute: string;
  readonly keys: readonly string[];
}

/**
 * A sweep reads each table in small pages with a pause between them: one Scan of 1,000 rows with
 * a filter held moto (one Python process) for seconds late in a test run, long enough for API
 * calls beside it to pass their 10 s timeout (found in CI: POST /orders answering 500 in the
 * seconds after each minute's sweep began on the big tables).
 */
export interface SweepPacing {
  readonly pageSize: number;
  readonly pauseMs: number;
}
export const defaultPacing: SweepPacing = { pageSize: 100, pauseMs: 50 };

export class TtlSweeper {
  private timer: NodeJS.Timeout | undefined;
  /** The sweep under way: the minute tick skips a turn, an asked-for sweep waits and runs next. */
  private current: Promise<number> | undefined;

  constructor(
    private readonly dynamodb: DynamoDBClient,
    private readonly tables: readonly TtlTable[],
    private readonly log: (line: string) => void,
    private readonly pacing: SweepPacing = defaultPacing,
  ) {}

  start(everyMs = 60_000): void {
    this.timer = setInterval(() => {
      if (this.current) return;
      void this.sweep().catch((e: Error) => this.log(`[ttl] sweep failed: ${e.message}`));
    }, everyMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Deletes what has expired by `nowSeconds`; returns how many rows. A sweep asked for while
   * another runs waits for it and then sweeps itself (it answered 0 before, a flaky test's cause).
   */
  async sweep(nowSeconds = Math.floor(Date.now() / 1000)): Promise<number> {
    while (this.current) await this.current.catch(() => 0);
    const run = this.sweepOnce(nowSeconds);
    this.current = run;
    try {
      return await run;
    } finally {
      if (this.current === run) this.current = undefined;
    }
  }

  private async sweepOnce(nowSeconds: number): Promise<number> {
    let deleted = 0;
    for (const table of this.tables) {
      let startKey: Record<string, never> | undefined;
      do {
        const page = await this.dynamodb.send(
          new ScanCommand({
            TableName: table.name,
            FilterExpression: '#ttl < :now',
            ProjectionExpression: table.keys.map((_, i) => `#k${i}`).join(', '),
            ExpressionAttributeNames: {
              '#ttl': table.attribute,
              ...Object.fromEntries(table.keys.map((k, i) => [`#k${i}`, k])),
            },
            ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
            ExclusiveStartKey: startKey,
            Limit: this.pacing.pageSize,
          }),
        );
        const items = page.Items ?? [];
        for (let i = 0; i < items.length; i += 25) {
          let requests = items.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } }));
          while (requests.length > 0) {
            const { UnprocessedItems } = await this.dynamodb.send(
              new BatchWriteItemCommand({ RequestItems: { [table.name]: requests } }),
            );
            requests = (UnprocessedItems?.[table.name] ?? []) as typeof requests;
          }
        }
        deleted += items.length;
        startKey = page.LastEvaluatedKey as Record<string, never> | undefined;
        // Let the data plane serve everyone else between pages.
        if (startKey) await new Promise((resolve) => setTimeout(resolve, this.pacing.pauseMs));
      } while (startKey);
    }
    if (deleted > 0) this.log(`[ttl] deleted ${deleted} expired row(s)`);
    return deleted;
  }
}
