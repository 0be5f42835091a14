/**
 * Lambda's own polling of its event sources: its count depends on idle time, not on the work,
 * and a stream's reads cost nothing on AWS. Cost figures report it apart.
 */
export const pollingActions: ReadonlySet<string> = new Set([
  'sqs:ReceiveMessage',
  'streams:GetRecords',
  'streams:GetShardIterator',
  'streams:DescribeStream',
]);

/** Counts every AWS API call the local cloud serves, by service and action: the cost model's input. */
export class CallCounter {
  private readonly counts = new Map<string, number>();

  record(service: string, action: string): void {
    const key = `${service}:${action}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Calls made between two snapshots. */
  static difference(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
    return Object.fromEntries(
      Object.entries(after)
        .map(([key, n]) => [key, n - (before[key] ?? 0)] as const)
        .filter(([, n]) => n > 0),
    );
  }
}
