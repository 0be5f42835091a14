/**
 * The adaptive retry policy's evidence (domain/adaptive-retry.ts), in the metrics table. Items:
 * pk `retry-evidence#<type>#<errorClass>`, sk `<day>#<attempt>`, counters `retried`, `recovered`
 * and the time-to-recovery histogram's buckets `r<bucket>`; kept for two weeks. The analytics
 * recorder adds a stream batch's lessons (one write per type, class, attempt and day touched);
 * a worker reads one class's last week in one query when an adaptive attempt fails, and keeps
 * it for a minute.
 */
import { evidenceOf, type LessonTally, type RetryEvidence } from '#domain/adaptive-retry';
import type { Histogram } from '#domain/histogram';
import { addCounters } from './metrics-store.ts';
import { queryPartition } from './operations-store.ts';

const keepDays = 14;
const windowDays = 7;
const cacheMs = 60_000;
const cacheEntries = 500;

const partitionOf = (type: string, errorClass: string) => `retry-evidence#${type}#${errorClass}`;

export class RetryEvidenceStore {
  private readonly cache = new Map<string, { until: number; evidence: RetryEvidence }>();

  constructor(
    private readonly tableName: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async add(tallies: readonly LessonTally[]): Promise<void> {
    await Promise.all(
      tallies.map((t) => {
        const counters: Record<string, number> = { retried: t.retried, recovered: t.recovered };
        for (const [bucket, count] of Object.entries(t.recovery)) counters[`r${bucket}`] = count;
        return addCounters(
          this.tableName,
          { pk: partitionOf(t.type, t.errorClass), sk: `${t.day}#${String(t.attempt).padStart(2, '0')}` },
          counters,
          Math.floor(Date.parse(t.day) / 1000) + keepDays * 86_400,
        );
      }),
    );
  }

  /** One type's evidence about one error class over the last week (cached for a minute). */
  async of(type: string, errorClass: string): Promise<RetryEvidence> {
    const key = partitionOf(type, errorClass);
    const now = this.clock();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.evidence;
    const from = new Date(now - (windowDays - 1) * 86_400_000).toISOString().slice(0, 10);
    // At most 7 days × 25 attempts.
    const items = await queryPartition(this.tableName, key, 1000, false, from);
    const tallies = items.map((item) => {
      const recovery: Histogram = {};
      for (const [name, value] of Object.entries(item))
        if (/^r\d+$/.test(name)) recovery[Number(name.slice(1))] = Number(value);
      return {
        attempt: Number(String(item.sk).split('#')[1]),
        retried: Number(item.retried ?? 0),
        recovered: Number(item.recovered ?? 0),
        recovery,
      };
    });
    const evidence = evidenceOf(tallies);
    if (this.cache.size >= cacheEntries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, { until: now + cacheMs, evidence });
    return evidence;
  }
}
