/**
 * One pass over the maintenance windows (every minute as the safety net, right after a window is
 * created, and when a window's precise timer fires): pause a queue whose window began — disable
 * its event source mappings and submit the window's maintenance job — and resume it when the
 * window ends; then arm the timer of the window's next transition if it comes within the timer
 * horizon. Transitions are compare-and-set on the window row, so concurrent ticks act once.
 */
import type { JobRequest } from './job-submission.ts';
import { type MaintenanceWindow, nextTransition, windowAction } from './maintenance.ts';
import type { QueuePause } from './queue-pause.ts';
import { type TimerPort, withinHorizon } from './timers.ts';

export interface MaintenancePorts {
  readonly windows: {
    windows(): Promise<MaintenanceWindow[]>;
    transitionWindow(window: MaintenanceWindow, next: MaintenanceWindow): Promise<boolean>;
    markWindowTimer(windowId: string, at: string): Promise<void>;
  };
  readonly timers: TimerPort;
  readonly queues: { setEnabled(queue: string, enabled: boolean): Promise<void> };
  /** Operator pauses (domain/queue-pause.ts): a window that ends hands a paused queue back paused. */
  readonly pauses: { pauses(): Promise<ReadonlyMap<string, QueuePause>> };
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
    const after = await transition(window, now, ports, outcomes);
    if (after) await armTimer(after, ports);
  }
  return outcomes;
}

async function armTimer(window: MaintenanceWindow, ports: MaintenancePorts): Promise<void> {
  const at = nextTransition(window, ports.clock.now());
  if (!at || !withinHorizon(at, ports.clock.now()) || window.timerFor === at.toISOString()) return;
  await ports.timers.arm({ kind: 'maintenance', id: window.windowId, at: at.toISOString() });
  await ports.windows.markWindowTimer(window.windowId, at.toISOString());
}

/** The window as it is after this tick's transition (undefined when another ticker won it). */
async function transition(
  window: MaintenanceWindow,
  now: Date,
  ports: MaintenancePorts,
  outcomes: TickOutcome[],
): Promise<MaintenanceWindow | undefined> {
  const action = windowAction(window, now);
  if (action.kind === 'pause') {
    const paused: MaintenanceWindow = {
      ...window,
      activeOccurrence: action.occurrence,
      history: [
        ...(window.history ?? []),
        { occurrence: action.occurrence, pausedAt: now.toISOString() },
      ].slice(-20),
    };
    if (!(await ports.windows.transitionWindow(window, paused))) return undefined;
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
    const withJob: MaintenanceWindow = {
      ...paused,
      maintenanceJobId: jobId,
      history: (paused.history ?? []).map((h) => (h.occurrence === action.occurrence ? { ...h, jobId } : h)),
    };
    await ports.windows.transitionWindow(paused, withJob);
    outcomes.push({ windowId: window.windowId, queue: window.queue, action: 'paused', jobId });
    return withJob;
  }
  if (action.kind === 'resume') {
    const history = (window.history ?? []).map((h) =>
      h.occurrence === window.activeOccurrence ? { ...h, resumedAt: now.toISOString() } : h,
    );
    const { activeOccurrence: _active, ...rest } = window;
    const resumed: MaintenanceWindow = { ...rest, history, ...(action.next ?? {}) };
    if (!(await ports.windows.transitionWindow(window, resumed))) return undefined;
    if (!(await ports.pauses.pauses()).has(window.queue)) await ports.queues.setEnabled(window.queue, true);
    outcomes.push({ windowId: window.windowId, queue: window.queue, action: 'resumed' });
    return resumed;
  }
  return window;
}
