/**
 * One pass over the maintenance windows (every minute, and right after a window is created or
 * deleted): pause a queue whose window began — disable its event source mappings and submit the
 * window's maintenance job — and resume it when the window ends. Transitions are
 * compare-and-set on the window row, so concurrent ticks act once.
 */
import type { JobRequest } from './job-submission.ts';
import { type MaintenanceWindow, windowAction } from './maintenance.ts';

export interface MaintenancePorts {
  readonly windows: {
    windows(): Promise<MaintenanceWindow[]>;
    transitionWindow(window: MaintenanceWindow, next: MaintenanceWindow): Promise<boolean>;
  };
  readonly queues: { setEnabled(queue: string, enabled: boolean): Promise<void> };
  readonly submit: (job: JobRequest) => Promise<{ jobId: string }>;
  readonly clock: { now(): Date };
}

export interface TickOutcome {
  readonly windowId: string;
  readonly queue: string;
  readonly action: 'paused' | 'resumed';
  readonly jobId?: string;
}

export async function maintenanceTick(ports: MaintenancePorts, only?: string): Promise<TickOutcome[]> {
  const outcomes: TickOutcome[] = [];
  const now = ports.clock.now();
  for (const window of await ports.windows.windows()) {
    if (only && window.windowId !== only) continue;
    const action = windowAction(window, now);
    if (action.kind === 'pause') {
      const won = await ports.windows.transitionWindow(window, {
        ...window,
        activeOccurrence: action.occurrence,
        history: [
          ...(window.history ?? []),
          { occurrence: action.occurrence, pausedAt: now.toISOString() },
        ].slice(-20),
      });
      if (!won) continue;
      await ports.queues.setEnabled(window.queue, false);
      const { jobId } = await ports.submit({
        // Never on the queue being paused.
        queue: window.queue === 'default' ? 'notifications' : 'default',
        type: 'run_maintenance',
        payload: { windowId: window.windowId, target: window.queue, kind: window.kind, phaseMs: 200 },
        priority: 0,
        dependsOn: [],
        idempotencyKey: `maintenance:${window.windowId}:${action.occurrence}`,
      });
      await ports.windows.transitionWindow(
        { ...window, activeOccurrence: action.occurrence },
        {
          ...window,
          activeOccurrence: action.occurrence,
          maintenanceJobId: jobId,
          history: [
            ...(window.history ?? []),
            { occurrence: action.occurrence, pausedAt: now.toISOString(), jobId },
          ].slice(-20),
        },
      );
      outcomes.push({ windowId: window.windowId, queue: window.queue, action: 'paused', jobId });
    } else if (action.kind === 'resume') {
      const history = (window.history ?? []).map((h) =>
        h.occurrence === window.activeOccurrence ? { ...h, resumedAt: now.toISOString() } : h,
      );
      const { activeOccurrence: _active, ...rest } = window;
      const won = await ports.windows.transitionWindow(window, { ...rest, history, ...(action.next ?? {}) });
      if (!won) continue;
      await ports.queues.setEnabled(window.queue, true);
      outcomes.push({ windowId: window.windowId, queue: window.queue, action: 'resumed' });
    }
  }
  return outcomes;
}
