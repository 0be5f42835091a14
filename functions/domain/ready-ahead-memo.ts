/**
 * What a worker last learnt from the ready index: "nothing runnable in this band is more urgent
 * than priority p" (claimBest's query came back empty). For a short while after, a job of
 * priority p or better needs no query of its own — nothing better than p was waiting, so nothing
 * better than it was either — and a drain of same-priority jobs asks the index once per window
 * instead of once per job (the query was 0.85 of a no-op job's AWS calls). The price: a more
 * urgent job that arrives inside the window may wait behind the jobs this worker starts in it.
 */
import type { PriorityBand } from './job-queues.ts';

/** How long an empty answer of the ready index is trusted. */
export const readyAheadMemoMs = 200;

/**
 * Due this long ago and still waiting in its band: the job's wake-up is held (or gone). An
 * invocation that dies after SQS handed it a batch and before the worker hid it leaves its
 * wake-ups hidden for the band queue's visibility timeout (16 minutes); held-wake-ups.ts sends
 * new ones for a band with no visible message, and a worker of a band that is busy looks for
 * such jobs itself every `heldLookEveryMs` (job-lifecycle.ts, claimBest).
 */
export const wakeUpHeldAfterMs = 120_000;

/**
 * How often a worker environment looks for jobs of its band whose wake-up is held: one query per
 * priority of the band in each window, and in a long backlog — where the band's oldest jobs are
 * overdue anyway — one job taken oldest first and one wake-up put back in line.
 */
export const heldLookEveryMs = 10_000;

export class ReadyAheadMemo {
  private readonly nothingBetter = new Map<string, { priority: number; at: number }>();
  private readonly lookedForHeld = new Map<string, number>();

  constructor(
    private readonly windowMs = readyAheadMemoMs,
    private readonly heldLookMs = heldLookEveryMs,
  ) {}

  /** Whether it is time to look for held jobs in the band again; if so, the look is counted as made. */
  lookForHeld(queue: string, band: PriorityBand, now: Date): boolean {
    const key = `${queue}#${band}`;
    const last = this.lookedForHeld.get(key);
    if (last !== undefined && now.getTime() - last < this.heldLookMs) return false;
    this.lookedForHeld.set(key, now.getTime());
    return true;
  }

  /** Whether the index is known to hold nothing more urgent than `priority` in the band now. */
  known(queue: string, band: PriorityBand, priority: number, now: Date): boolean {
    const seen = this.nothingBetter.get(`${queue}#${band}`);
    return seen !== undefined && priority <= seen.priority && now.getTime() - seen.at < this.windowMs;
  }

  /** The index held nothing more urgent than `priority` in the band at `now`. */
  note(queue: string, band: PriorityBand, priority: number, now: Date): void {
    this.nothingBetter.set(`${queue}#${band}`, { priority, at: now.getTime() });
  }

  /** Something was found or claimed ahead: what was known no longer holds. */
  forget(queue: string, band: PriorityBand): void {
    this.nothingBetter.delete(`${queue}#${band}`);
  }
}
