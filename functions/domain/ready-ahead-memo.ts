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

export class ReadyAheadMemo {
  private readonly nothingBetter = new Map<string, { priority: number; at: number }>();

  constructor(private readonly windowMs = readyAheadMemoMs) {}

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
