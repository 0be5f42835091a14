/**
 * Live job counts by queue, priority band and state, kept from the jobs table's stream, so that
 * `GET /jobs/stats` and `GET /jobs/queue` read a few items instead of walking the backlog row by
 * row: their cost depends on the number of queues and how far ahead delays reach, not on how
 * many jobs there are.
 *
 * - A row counts under its state while it is in it: each change takes the row away as it was and
 *   adds it as it is (the two cancel when a write moves nothing counted, e.g. a heartbeat).
 * - A waiting row (QUEUED, PENDING, RETRYING, FAILED) with unfinished dependencies is blocked.
 * - No write happens when a delay runs out, so a waiting row with a due time is also counted in
 *   the minute it becomes due: when read, the rows due in a minute still ahead are delayed, the
 *   others waiting (a row due later in the current minute reads as waiting: at most a minute
 *   early). The minutes are kept per hour, and only the hours from now on are read.
 * - Rows created before the counts began (`since`: the stream's first record the recorder saw)
 *   were never added, so their changes are not counted; readers count those rows one by one
 *   (`tallyRow`) until retention removes them. A fresh table has none.
 *
 * The recorder applies each stream batch at least once: a batch retried after its counts landed
 * (an ambiguous write, a crash before returning) counts twice. `GET /jobs/stats?exact=true`
 * recounts every row.
 */

import { isJobRow, type JobRowChange, type JobRowImage } from './job-changes.ts';
import { classify, emptyBand, type JobFacts } from './job-overview.ts';
import { bandNames, bandOf, type PriorityBand } from './job-queues.ts';
import { type JobStatus, jobStatuses } from './jobs.ts';

/** The states a job waits in for its turn (or its dependencies, or its retry). */
export const waitingStatuses: readonly JobStatus[] = ['QUEUED', 'PENDING', 'RETRYING', 'FAILED'];

/** A row's counter: `<queue>|<band>|<status>`, with `|blocked` when it waits on dependencies. */
export const stateKey = (queue: string, band: PriorityBand, status: JobStatus, blocked = false): string =>
  `${queue}|${band}|${status}${blocked ? '|blocked' : ''}`;

export interface CountChanges {
  /** Rows added (+) and taken away (−), by state key. */
  readonly states: Readonly<Record<string, number>>;
  /** Due minutes, per hour (ISO start of the hour): `<queue>|<band>|<status>|<minute 00–59>`. */
  readonly due: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

const minuteMs = 60_000;
const hourMs = 3_600_000;

/** The hour (ISO) a due time falls in, and its counter there. */
export function dueSlot(queue: string, band: PriorityBand, status: JobStatus, dueMs: number) {
  const hour = Math.floor(dueMs / hourMs) * hourMs;
  const minute = Math.floor((dueMs - hour) / minuteMs);
  return {
    hour: new Date(hour).toISOString(),
    key: `${queue}|${band}|${status}|${String(minute).padStart(2, '0')}`,
  };
}

/** Where a row is counted, if it is a job or step row in a counted state. */
function placeOf(row: JobRowImage | undefined) {
  if (!isJobRow(row) || !row.status) return undefined;
  // A discarded dead job left the dead-letter queue (and its listing partition).
  if (row.queueStatus?.endsWith('#DISCARDED')) return undefined;
  const band = bandOf(row.priority ?? 5);
  const waiting = waitingStatuses.includes(row.status);
  const blocked = waiting && (row.waitingOn?.size ?? 0) > 0;
  const state = stateKey(row.queue, band, row.status, blocked);
  const dueMs = row.runAt ? Date.parse(row.runAt) : Number.NaN;
  if (!waiting || blocked || Number.isNaN(dueMs)) return { state };
  return { state, due: dueSlot(row.queue, band, row.status, dueMs) };
}

/** What a batch of row changes does to the counts; rows created before `sinceMs` are left out. */
export function countChangesOf(changes: readonly JobRowChange[], sinceMs: number): CountChanges {
  const states: Record<string, number> = {};
  const due: Record<string, Record<string, number>> = {};
  const add = (row: JobRowImage | undefined, n: number) => {
    const place = placeOf(row);
    if (!place) return;
    states[place.state] = (states[place.state] ?? 0) + n;
    if (place.due) {
      const hour = due[place.due.hour] ?? {};
      hour[place.due.key] = (hour[place.due.key] ?? 0) + n;
      due[place.due.hour] = hour;
    }
  };
  for (const change of changes) {
    const createdAt = Date.parse(change.after?.createdAt ?? change.before?.createdAt ?? '');
    if (!(createdAt >= sinceMs)) continue;
    add(change.before, -1);
    add(change.after, 1);
  }
  const nonZero = (r: Record<string, number>) =>
    Object.fromEntries(Object.entries(r).filter(([, n]) => n !== 0));
  const dueHours = Object.entries(due)
    .map(([hour, counts]) => [hour, nonZero(counts)] as const)
    .filter(([, counts]) => Object.keys(counts).length > 0);
  return { states: nonZero(states), due: Object.fromEntries(dueHours) };
}

/**
 * When the counts begin, proposed by the recorder's first batch: the second of its earliest
 * record. Every row created from then on had its creation in the stream; a row created earlier
 * (before the stream existed, or trimmed from it) is counted from its row by the readers.
 */
export const countsEpochOf = (changes: readonly JobRowChange[]): number =>
  Math.floor(
    Math.min(
      ...changes.map((c) => {
        // A row's creation time comes from its writer, a moment before the record's (whole
        // second) time: a row entering in this batch must not fall before the epoch. A waiting
        // job has no listing entry to be counted from (jobs-table.ts, queuedThroughReady).
        const created = !c.before && c.after?.createdAt ? Date.parse(c.after.createdAt) : Number.NaN;
        return Number.isNaN(created) ? c.at.getTime() : Math.min(created, c.at.getTime());
      }),
    ) / 1000,
  ) * 1000;

/** The counts as read back: the state counters and the due minutes of the hours from now on. */
export interface StoredCounts {
  readonly since?: number;
  readonly states: Readonly<Record<string, number>>;
  readonly due: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface StateCount {
  total: number;
  blocked: number;
  delayed: number;
}
/** Counts by `<queue>|<band>|<status>`. */
export type StateTally = Map<string, StateCount>;

const countOf = (tally: StateTally, key: string): StateCount => {
  let count = tally.get(key);
  if (!count) {
    count = { total: 0, blocked: 0, delayed: 0 };
    tally.set(key, count);
  }
  return count;
};

/** The stored counts as a tally at `now`: which due rows are still delayed is decided here. */
export function tallyOfCounts(counts: StoredCounts, now: Date): StateTally {
  const tally: StateTally = new Map();
  for (const [key, n] of Object.entries(counts.states)) {
    const blocked = key.endsWith('|blocked');
    const count = countOf(tally, blocked ? key.slice(0, -'|blocked'.length) : key);
    count.total += n;
    if (blocked) count.blocked += n;
  }
  const thisMinute = Math.floor(now.getTime() / minuteMs) * minuteMs;
  for (const [hour, minutes] of Object.entries(counts.due)) {
    for (const [key, n] of Object.entries(minutes)) {
      const cut = key.lastIndexOf('|');
      const minuteStart = Date.parse(hour) + Number(key.slice(cut + 1)) * minuteMs;
      if (minuteStart > thisMinute) countOf(tally, key.slice(0, cut)).delayed += n;
    }
  }
  // Counts applied twice by a retried batch must not make a view negative or inconsistent.
  for (const count of tally.values()) {
    count.total = Math.max(0, count.total);
    count.blocked = Math.min(Math.max(0, count.blocked), count.total);
    count.delayed = Math.min(Math.max(0, count.delayed), count.total - count.blocked);
  }
  return tally;
}

/** Adds a row read from the table (one created before the counts began, or an exact recount). */
export function tallyRow(tally: StateTally, row: JobFacts & { queue: string }, now: Date): void {
  const count = countOf(tally, `${row.queue}|${bandOf(row.priority ?? 5)}|${row.status}`);
  count.total++;
  if (!waitingStatuses.includes(row.status)) return;
  const kind = classify(row, now.getTime());
  if (kind === 'blocked') count.blocked++;
  if (kind === 'delayed') count.delayed++;
}

export interface QueueStats {
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  dead: number;
  delayed: number;
  blocked: number;
  cancelled: number;
}

export const emptyStats = (): QueueStats => ({
  waiting: 0,
  active: 0,
  completed: 0,
  failed: 0,
  dead: 0,
  delayed: 0,
  blocked: 0,
  cancelled: 0,
});

const stateOf = (tally: StateTally, queue: string, band: PriorityBand, status: JobStatus): StateCount =>
  tally.get(`${queue}|${band}|${status}`) ?? { total: 0, blocked: 0, delayed: 0 };

/**
 * A queue's counts by state (GET /jobs/stats): waiting, delayed and blocked are the jobs not yet
 * started (FAILED, an attempt failed with a retry scheduled, is its own count).
 */
export function statsOf(tally: StateTally, queue: string): QueueStats {
  const stats = emptyStats();
  for (const band of bandNames) {
    for (const status of ['QUEUED', 'PENDING', 'RETRYING'] as const) {
      const c = stateOf(tally, queue, band, status);
      stats.blocked += c.blocked;
      stats.delayed += c.delayed;
      stats.waiting += c.total - c.blocked - c.delayed;
    }
    stats.active += stateOf(tally, queue, band, 'RUNNING').total;
    stats.failed += stateOf(tally, queue, band, 'FAILED').total;
    stats.completed += stateOf(tally, queue, band, 'COMPLETED').total;
    stats.dead += stateOf(tally, queue, band, 'DEAD').total;
    stats.cancelled += stateOf(tally, queue, band, 'CANCELLED').total;
  }
  return stats;
}

/** A queue per priority band (GET /jobs/queue); the oldest wait is read separately. */
export function bandCountsOf(tally: StateTally, queue: string) {
  return Object.fromEntries(
    bandNames.map((band) => {
      const counts = emptyBand();
      for (const status of waitingStatuses) {
        const c = stateOf(tally, queue, band, status);
        counts.blocked += c.blocked;
        counts.delayed += c.delayed;
        counts.waiting += c.total - c.blocked - c.delayed;
      }
      counts.running = stateOf(tally, queue, band, 'RUNNING').total;
      counts.dead = stateOf(tally, queue, band, 'DEAD').total;
      return [band, counts];
    }),
  ) as Record<PriorityBand, ReturnType<typeof emptyBand>>;
}

/** Where the counting reads: the stored counts, and rows of a queue and state from the table. */
export interface CountingPorts {
  storedCounts(now: Date): Promise<StoredCounts>;
  /** Rows of a queue and state, only those created before `before` (ISO) when it is given. */
  rows(queue: string, status: JobStatus, before?: string): AsyncIterable<JobFacts & { queue: string }>;
}

/**
 * The counts of the given queues at `now`: the stored counts, plus the rows created before they
 * began. `exact` recounts every row (its cost grows with the jobs kept; for audits and tests).
 */
export async function countJobs(
  ports: CountingPorts,
  queues: readonly string[],
  now: Date,
  exact = false,
): Promise<StateTally> {
  const stored = exact ? undefined : await ports.storedCounts(now);
  const tally = stored ? tallyOfCounts(stored, now) : new Map<string, StateCount>();
  // Nothing recorded yet: every row predates the counts.
  const before = stored?.since === undefined ? undefined : new Date(stored.since).toISOString();
  const wanted = new Set(queues);
  for (const key of [...tally.keys()]) if (!wanted.has(key.slice(0, key.indexOf('|')))) tally.delete(key);
  await Promise.all(
    queues.flatMap((queue) =>
      jobStatuses.map(async (status) => {
        for await (const row of ports.rows(queue, status, before))
          tallyRow(tally, { ...row, queue, status }, now);
      }),
    ),
  );
  return tally;
}
