/** Operator pauses beside maintenance windows: a queue takes work only when neither holds it. */
import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow } from '../../functions/domain/maintenance.ts';
import { type MaintenancePorts, maintenanceTick } from '../../functions/domain/maintenance-tick.ts';
import {
  type PausePorts,
  pauseQueues,
  type QueuePause,
  resumeQueues,
} from '../../functions/domain/queue-pause.ts';

const t0 = Date.parse('2026-12-01T10:00:00.000Z');

/** The reports queue's window, begun a minute ago and ending a minute from now. */
const activeWindow = {
  windowId: 'mw1',
  queue: 'reports',
  kind: 'inspection',
  startAt: new Date(t0 - 60_000).toISOString(),
  endAt: new Date(t0 + 60_000).toISOString(),
  timezone: 'UTC',
  createdAt: new Date(t0 - 120_000).toISOString(),
  activeOccurrence: new Date(t0 - 60_000).toISOString(),
} as MaintenanceWindow;

function factory(windows: MaintenanceWindow[] = []) {
  let now = t0;
  const pauses = new Map<string, QueuePause>();
  const enabled = new Map<string, boolean>();
  const ports: PausePorts = {
    pauses: {
      pauses: async () => pauses,
      pause: async (p) => {
        if (pauses.has(p.queue)) return false;
        pauses.set(p.queue, p);
        return true;
      },
      resume: async (q) => pauses.delete(q),
    },
    windows: { windows: async () => windows },
    queues: {
      setEnabled: async (q, on) => {
        enabled.set(q, on);
      },
    },
    clock: { now: () => new Date(now) },
  };
  return { ports, pauses, enabled, windows, advance: (ms: number) => (now += ms) };
}

describe('queue pauses', () => {
  it('disables a queue and records who paused it and why; a second pause changes nothing', async () => {
    const f = factory();
    const [first] = await pauseQueues(['reports'], 'key:ops', 'stuck renderer', f.ports);
    expect(first).toEqual({
      queue: 'reports',
      paused: true,
      changed: true,
      inMaintenance: false,
      pausedAt: new Date(t0).toISOString(),
      pausedBy: 'key:ops',
      reason: 'stuck renderer',
    });
    f.advance(5_000);
    const [again] = await pauseQueues(['reports'], 'key:other', undefined, f.ports);
    expect(again).toMatchObject({
      changed: false,
      pausedBy: 'key:ops',
      pausedAt: new Date(t0).toISOString(),
    });
    expect(f.enabled.get('reports')).toBe(false);
  });

  it('resumes a paused queue, and says when there was nothing to resume', async () => {
    const f = factory();
    await pauseQueues(['reports', 'media'], 'key:ops', undefined, f.ports);
    const outcomes = await resumeQueues(['reports', 'default'], f.ports);
    expect(outcomes.map((o) => [o.queue, o.changed])).toEqual([
      ['reports', true],
      ['default', false],
    ]);
    expect(f.enabled.get('reports')).toBe(true);
    expect(f.pauses.has('media')).toBe(true);
  });

  it('leaves a queue in a maintenance window disabled when it is resumed', async () => {
    const window = activeWindow;
    const f = factory([window]);
    await pauseQueues(['reports'], 'key:ops', undefined, f.ports);
    const [resumed] = await resumeQueues(['reports'], f.ports);
    expect(resumed).toMatchObject({ paused: false, inMaintenance: true });
    expect(f.enabled.get('reports')).toBe(false);
  });

  it('keeps a paused queue paused when its maintenance window ends', async () => {
    let window = activeWindow;
    const f = factory();
    await pauseQueues(['reports'], 'key:ops', undefined, f.ports);
    const ticks: MaintenancePorts = {
      windows: {
        windows: async () => [window],
        transitionWindow: async (_seen, next) => {
          window = next;
          return true;
        },
        markWindowTimer: async () => undefined,
      },
      queues: f.ports.queues,
      pauses: f.ports.pauses,
      submit: async () => ({ jobId: 'job_m' }),
      timers: { arm: async () => undefined },
      clock: { now: () => new Date(t0 + 61_000) },
    };
    const outcomes = await maintenanceTick(ticks);
    expect(outcomes).toEqual([{ windowId: 'mw1', queue: 'reports', action: 'resumed' }]);
    expect(f.enabled.get('reports')).toBe(false);
    // Once the operator resumes, it takes work again.
    await resumeQueues(['reports'], { ...f.ports, windows: { windows: async () => [window] } });
    expect(f.enabled.get('reports')).toBe(true);
  });
});
