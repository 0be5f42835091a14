/**
 * GET /analytics/retries: what retrying buys and costs, from the metric buckets' counts of
 * attempts by number (`ac<n>`: attempt n completed its job, `af<n>`: attempt n failed; the
 * analytics recorder counts them from the jobs table's stream, domain/job-changes.ts) and the
 * sums beside them (run time of retry attempts, of failed attempts, backoff waited).
 *
 * - success rate of attempt n = completed at n ÷ (completed at n + failed at n): the chance
 *   that an attempt that got to run as the n-th succeeded;
 * - a retry is any attempt after the first; it recovered its job if it completed, it was
 *   wasted if it failed too;
 * - time: run time of retry attempts, run time of every failed attempt, backoff between a
 *   failure and its retry's due time;
 * - cost: each retry's calls at the cost model's per-attempt usage, plus its run time as Lambda
 *   GB-seconds (domain/cost-model.ts).
 */
import { computeCost, retryAttemptCost } from './cost-model.ts';
import { maxCountedAttempt, type StoredBucket } from './throughput.ts';

interface Counts {
  completed: number[];
  failed: number[];
  finishedCompleted: number;
  dead: number;
  retryRunMs: number;
  failedRunMs: number;
  retryDelayMs: number;
  retryCost: number;
}

const emptyCounts = (): Counts => ({
  completed: Array(maxCountedAttempt + 1).fill(0),
  failed: Array(maxCountedAttempt + 1).fill(0),
  finishedCompleted: 0,
  dead: 0,
  retryRunMs: 0,
  failedRunMs: 0,
  retryDelayMs: 0,
  retryCost: 0,
});

function addBucket(into: Counts, b: StoredBucket): void {
  const c = b.counters;
  let retries = 0;
  for (let n = 1; n <= maxCountedAttempt; n++) {
    const completed = c[`ac${n}`] ?? 0;
    const failed = c[`af${n}`] ?? 0;
    into.completed[n] = (into.completed[n] ?? 0) + completed;
    into.failed[n] = (into.failed[n] ?? 0) + failed;
    if (n >= 2) retries += completed + failed;
  }
  into.finishedCompleted += c.completed ?? 0;
  into.dead += c.dead ?? 0;
  into.retryRunMs += c.retryRunMsSum ?? 0;
  into.failedRunMs += c.failedRunMsSum ?? 0;
  into.retryDelayMs += c.retryDelayMsSum ?? 0;
  into.retryCost += retries * retryAttemptCost(b.queue) + computeCost(c.retryRunMsSum ?? 0, b.queue);
}

const rate = (part: number, whole: number) => (whole ? Number((part / whole).toFixed(4)) : null);

function view(c: Counts) {
  const attempts = [];
  let retries = 0;
  let recovered = 0;
  for (let n = 1; n <= maxCountedAttempt; n++) {
    const completed = c.completed[n] ?? 0;
    const failed = c.failed[n] ?? 0;
    if (n >= 2) {
      retries += completed + failed;
      recovered += completed;
    }
    if (completed + failed === 0) continue;
    attempts.push({
      attempt: n === maxCountedAttempt ? `${n}+` : String(n),
      completed,
      failed,
      successRate: rate(completed, completed + failed),
    });
  }
  return {
    attempts,
    firstAttemptSuccessRate: rate(c.completed[1] ?? 0, (c.completed[1] ?? 0) + (c.failed[1] ?? 0)),
    /** Of the jobs that finished (completed or dead), the share that completed, retries included. */
    eventualSuccessRate: rate(c.finishedCompleted, c.finishedCompleted + c.dead),
    retries: {
      count: retries,
      recovered,
      wasted: retries - recovered,
      runSeconds: Number((c.retryRunMs / 1000).toFixed(3)),
      failedAttemptRunSeconds: Number((c.failedRunMs / 1000).toFixed(3)),
      backoffSeconds: Number((c.retryDelayMs / 1000).toFixed(3)),
      costUsd: Number(c.retryCost.toPrecision(4)),
    },
  };
}

/** The whole range's retry analysis, and per (queue, type), the types retried most first. */
export function retryReport(buckets: readonly StoredBucket[], range: { from: Date; to: Date }) {
  const total = emptyCounts();
  const byType = new Map<string, Counts>();
  for (const b of buckets) {
    addBucket(total, b);
    const key = `${b.queue}\u0000${b.type}`;
    const counts = byType.get(key) ?? emptyCounts();
    addBucket(counts, b);
    byType.set(key, counts);
  }
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    ...view(total),
    types: [...byType.entries()]
      .map(([key, counts]) => {
        const [queue = '', type = ''] = key.split('\u0000');
        return { queue, type, ...view(counts) };
      })
      .filter((t) => t.attempts.length > 0)
      .sort((a, b) => b.retries.count - a.retries.count || a.type.localeCompare(b.type)),
  };
}
