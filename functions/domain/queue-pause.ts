/**
 * Operator pauses of queues and production lines (POST /queues/{queue}/pause, …/resume, and all
 * at once). A paused queue's event source mappings are disabled, as during a maintenance window:
 * running jobs finish, queued ones wait in SQS (a robot step waits with its order, which is not
 * failed by the wait), submissions are still accepted. Pauses and windows are independent: a
 * queue takes work only when it is neither paused nor in a window, so a window that ends keeps a
 * paused queue paused, and a resume during a window leaves the window in charge.
 */
import type { MaintenanceWindow } from './maintenance.ts';

export interface QueuePause {
  readonly queue: string;
  readonly pausedAt: string;
  readonly pausedBy: string;
  readonly reason?: string;
}

export interface PausePorts {
  readonly pauses: {
    pauses(): Promise<ReadonlyMap<string, QueuePause>>;
    /** Records the pause unless one is recorded; false when the queue was already paused. */
    pause(pause: QueuePause): Promise<boolean>;
    /** Removes the pause; false when there was none. */
    resume(queue: string): Promise<boolean>;
  };
  readonly windows: { windows(): Promise<MaintenanceWindow[]> };
  readonly queues: { setEnabled(queue: string, enabled: boolean): Promise<void> };
  readonly clock: { now(): Date };
}

export interface PauseOutcome {
  readonly queue: string;
  readonly paused: boolean;
  /** Whether this call changed it (false: it already was). */
  readonly changed: boolean;
  /** A maintenance window holds the queue too: it takes work again only when the window ends. */
  readonly inMaintenance: boolean;
  readonly pausedAt?: string;
  readonly pausedBy?: string;
  readonly reason?: string;
}

/** Whether a queue may take work: neither paused by an operator nor in a maintenance window. */
export const takesWork = (
  queue: string,
  pauses: ReadonlyMap<string, QueuePause>,
  windows: readonly MaintenanceWindow[],
) => !pauses.has(queue) && !windows.some((w) => w.queue === queue && w.activeOccurrence !== undefined);

const inWindow = (queue: string, windows: readonly MaintenanceWindow[]) =>
  windows.some((w) => w.queue === queue && w.activeOccurrence !== undefined);

export async function pauseQueues(
  queues: readonly string[],
  by: string,
  reason: string | undefined,
  ports: PausePorts,
): Promise<PauseOutcome[]> {
  const pausedAt = ports.clock.now().toISOString();
  const windows = await ports.windows.windows();
  return Promise.all(
    queues.map(async (queue) => {
      const pause: QueuePause = { queue, pausedAt, pausedBy: by, ...(reason ? { reason } : {}) };
      const changed = await ports.pauses.pause(pause);
      // Disabled again even when already paused: a retried request repairs a half-done pause.
      await ports.queues.setEnabled(queue, false);
      const stored = changed ? pause : (await ports.pauses.pauses()).get(queue);
      return { ...stored, queue, paused: true, changed, inMaintenance: inWindow(queue, windows) };
    }),
  );
}

export async function resumeQueues(queues: readonly string[], ports: PausePorts): Promise<PauseOutcome[]> {
  const windows = await ports.windows.windows();
  return Promise.all(
    queues.map(async (queue) => {
      const changed = await ports.pauses.resume(queue);
      const inMaintenance = inWindow(queue, windows);
      if (!inMaintenance) await ports.queues.setEnabled(queue, true);
      return { queue, paused: false, changed, inMaintenance };
    }),
  );
}
