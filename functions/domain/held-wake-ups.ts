/**
 * The sweep's backstop for wake-ups held out of reach. SQS hides a batch's messages from the
 * moment it hands them to an invocation; the job worker hides them again for 30 s before its first
 * claim, and hands back at once those it does not start (shared/sqs-batch.ts). An invocation that
 * dies between the two (a crash, an out-of-memory kill, a timeout) leaves the batch's messages
 * hidden for the band queue's visibility timeout — 16 minutes — and the jobs behind them wait that
 * long, however idle the workers.
 *
 * Once a minute the dispatcher looks at each band of each job queue. A job waiting to start
 * (queued, delayed, a retry) or running unlisted with its lease long out (an attempt whose worker
 * died in its first second, and whose wake-up is held), due for longer than `heldAfterMs` while
 * the band queue holds no message a worker can take now (none visible), has no wake-up within
 * reach: it is sent a new one. A held wake-up that comes back later finds its job taken and is
 * absorbed. Delayed messages do not count: each is a job's own wake-up, due at that job's due
 * time, so none belongs to a job overdue by minutes, and none brings another job back.
 * A band with visible messages is left alone: its workers are behind (or paused), and its overdue
 * jobs' wake-ups are most likely among them. A held one there is found by the band's workers, who
 * look for jobs of the band overdue that long every 10 s (job-lifecycle.ts, claimBest), or, in a
 * paused band, after the resume.
 */
import { dispatchOf, type JobDispatch } from './job-intake.ts';
import { type FollowUpPorts, isUnlistedAttempt, logEntry } from './job-lifecycle.ts';
import { type PriorityBand, priorityBands } from './job-queues.ts';
import { type JobRecord, waitingToStartBy } from './jobs.ts';
import { wakeUpHeldAfterMs } from './ready-ahead-memo.ts';

/** Due this long ago with no visible message in its band: the job's wake-up is held (or gone). */
export const defaultHeldAfterMs = wakeUpHeldAfterMs;

export interface HeldWakeUpPorts {
  readonly queues: readonly string[];
  /** Jobs of the band on the ready index due at or before `dueBy`, at most `limit` a priority. */
  overdue(queue: string, band: PriorityBand, dueBy: Date, limit: number): Promise<readonly string[]>;
  /** Messages of the band's queue a worker can take now (visible; approximate). */
  visibleMessages(queue: string, band: PriorityBand): Promise<number>;
  rows(jobIds: readonly string[]): Promise<ReadonlyMap<string, JobRecord>>;
  /** Sends the wake-ups; returns the job ids whose send failed. */
  send(wakeUps: readonly JobDispatch[]): Promise<ReadonlySet<string>>;
  readonly logs: FollowUpPorts['logs'];
  readonly clock: { now(): Date };
  readonly actor: string;
}

export interface HeldWakeUpSweep {
  /** Bands that had a job overdue, and those of them whose queue held no visible message. */
  readonly overdueBands: number;
  readonly emptyBands: number;
  /** Jobs sent a new wake-up. */
  readonly resent: number;
  /** Sends that failed, and bands that could not be looked at (each tried again next minute). */
  readonly failed: number;
  readonly failedBands: number;
}

/**
 * Whether the row's own wake-up is what would bring it on: startable and due (waiting, delayed, a
 * retry), or running unlisted and lost.
 */
function needsWakeUp(job: JobRecord, dueBy: Date): boolean {
  if (job.kind !== 'job' || job.waitingOn) return false;
  return (
    waitingToStartBy(job, dueBy) || (isUnlistedAttempt(job) && (job.leaseExpiresAt ?? 0) <= dueBy.getTime())
  );
}

export async function resendHeldWakeUps(
  ports: HeldWakeUpPorts,
  options: { readonly heldAfterMs?: number; readonly perPriority?: number } = {},
): Promise<HeldWakeUpSweep> {
  const now = ports.clock.now();
  const dueBy = new Date(now.getTime() - (options.heldAfterMs ?? defaultHeldAfterMs));
  let overdueBands = 0;
  let emptyBands = 0;
  let failedBands = 0;
  const held: JobRecord[] = [];
  for (const queue of ports.queues) {
    for (const { name: band } of priorityBands) {
      // One band's failure (a throttled read) leaves the others to be looked at.
      try {
        const overdue = await ports.overdue(queue, band, dueBy, options.perPriority ?? 25);
        if (overdue.length === 0) continue;
        overdueBands++;
        // Read only for a band with overdue work: a busy band answers here and is left alone.
        if ((await ports.visibleMessages(queue, band)) > 0) continue;
        emptyBands++;
        const rows = await ports.rows(overdue);
        for (const job of rows.values()) if (needsWakeUp(job, dueBy)) held.push(job);
      } catch {
        failedBands++;
      }
    }
  }
  if (held.length === 0) return { overdueBands, emptyBands, resent: 0, failed: 0, failedBands };
  const failed = await ports.send(held.map((job) => dispatchOf(job, 0)));
  const sent = held.filter((job) => !failed.has(job.jobId));
  // The wake-ups are out: a log line that cannot be written does not undo them.
  await Promise.allSettled(
    sent.map((job) =>
      ports.logs.append(
        job.jobId,
        logEntry(
          ports,
          job,
          'WARN',
          `Wake-up sent again: due since ${job.runAt ?? job.createdAt}, ${job.status === 'RUNNING' ? 'its unlisted attempt lost' : job.status.toLowerCase()}, ` +
            'and its band queue held no message: its own was held by an invocation that stopped',
        ),
      ),
    ),
  );
  return { overdueBands, emptyBands, resent: sent.length, failed: failed.size, failedBands };
}
