/**
 * What an operator sees of the queues: per queue and priority band, how many jobs wait (ready
 * to run), are delayed (runAt ahead, incl. backoff), blocked (dependencies), running, dead, and
 * how long the oldest waiting job has waited.
 */
import { bandNames, bandOf, type PriorityBand } from './job-queues.ts';
import type { JobRecord, JobStatus } from './jobs.ts';

export interface BandCounts {
  waiting: number;
  delayed: number;
  blocked: number;
  running: number;
  dead: number;
  oldestWaitingAgeMs: number | null;
}

/** Live states: the ones whose rows are read one by one (the backlog); DEAD is counted. */
export const liveStatuses: readonly JobStatus[] = ['QUEUED', 'PENDING', 'RETRYING', 'FAILED', 'RUNNING'];

export type JobFacts = Pick<JobRecord, 'status' | 'priority' | 'runAt' | 'createdAt' | 'updatedAt'> & {
  waitingOn?: ReadonlySet<string>;
};

export function classify(job: JobFacts, now: number): keyof Omit<BandCounts, 'dead' | 'oldestWaitingAgeMs'> {
  if (job.status === 'RUNNING') return 'running';
  if (job.waitingOn && job.waitingOn.size > 0) return 'blocked';
  if (job.runAt && Date.parse(job.runAt) > now) return 'delayed';
  return 'waiting';
}

export const emptyBand = (): BandCounts => ({
  waiting: 0,
  delayed: 0,
  blocked: 0,
  running: 0,
  dead: 0,
  oldestWaitingAgeMs: null,
});

export function tallyBands(jobs: Iterable<JobFacts>, now: number): Record<PriorityBand, BandCounts> {
  const bands = Object.fromEntries(bandNames.map((b) => [b, emptyBand()])) as Record<
    PriorityBand,
    BandCounts
  >;
  for (const job of jobs) {
    const band = bands[bandOf(job.priority ?? 5)];
    const kind = classify(job, now);
    band[kind]++;
    if (kind === 'waiting') {
      // Waiting since it became runnable: its runAt, or when it was queued.
      const since = Date.parse(job.runAt ?? job.createdAt);
      const age = Math.max(0, now - since);
      band.oldestWaitingAgeMs = Math.max(band.oldestWaitingAgeMs ?? 0, age);
    }
  }
  return bands;
}
