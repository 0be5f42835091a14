/**
 * Job progress (like Bull's `updateProgress`): a job type's handler calls
 * `context.progress(percent, message?)` as often as it likes; the job row gets the latest at most
 * once a second (a conditional write on the attempt, as the heartbeat is), and the row's change
 * is published as `job.progress` (domain/factory-events.ts). A report that is superseded before
 * its turn is never written; the last one is written when its turn comes, or, when the attempt
 * completes first, with the settlement.
 */
export interface JobProgress {
  /** 0–100, whole numbers. */
  readonly percent: number;
  readonly message?: string;
  readonly at: string;
}

/** At most one progress write per job and second. */
export const progressEveryMs = 1_000;

export interface ProgressReporter {
  report(percent: number, message?: string): void;
  /**
   * Stops: a report waiting for its turn is not written by the reporter; a write under way is
   * waited for. Returns the last report, for the settlement to carry.
   */
  close(): Promise<JobProgress | undefined>;
}

const reporterClosed = Object.freeze(new Error('progress reporter closed'));

export function progressReporter(
  write: (progress: JobProgress) => Promise<void>,
  clock: { now(): Date; sleep(ms: number, signal: AbortSignal): Promise<void> },
  everyMs = progressEveryMs,
): ProgressReporter {
  // Ends a report's wait for its turn. Aborted only when one waits: an abort without a reason
  // builds a DOMException, and nearly every attempt closes its reporter with nothing waiting.
  const stop = new AbortController();
  let closed = false;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let pending: JobProgress | undefined;
  let latest: JobProgress | undefined;
  let waiting = false;
  let writing: Promise<void> = Promise.resolve();
  const flush = () => {
    if (!pending || closed) return;
    const progress = pending;
    pending = undefined;
    lastWriteAt = clock.now().getTime();
    // Progress is a courtesy: a failed write never fails the job.
    writing = writing.then(() => write(progress)).catch(() => undefined);
  };
  return {
    report(percent, message) {
      if (closed || !Number.isFinite(percent)) return;
      const now = clock.now();
      pending = {
        percent: Math.min(100, Math.max(0, Math.round(percent))),
        ...(message ? { message: message.slice(0, 200) } : {}),
        at: now.toISOString(),
      };
      latest = pending;
      const wait = lastWriteAt + everyMs - now.getTime();
      if (wait <= 0) return flush();
      if (waiting) return;
      waiting = true;
      void clock.sleep(wait, stop.signal).then(
        () => {
          waiting = false;
          flush();
        },
        () => undefined,
      );
    },
    async close() {
      closed = true;
      if (waiting) stop.abort(reporterClosed);
      pending = undefined;
      await writing;
      return latest;
    },
  };
}
