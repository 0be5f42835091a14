/**
 * Schedules: the cron schedules (their next runs, pause/resume, delete, a form to create one)
 * and the maintenance windows of the production lines (a form to plan one, cancel). Creating
 * and changing schedules needs a developer key, windows an admin key (infra/factory-stack.ts);
 * a key that may not act sees no buttons.
 */
import { useEffect, useState } from 'preact/hooks';
import { call, get } from '../api.ts';
import { useAction, useLiveData, useMay, useSession } from '../hooks.ts';
import { dateTime } from '../parts/format.ts';
import type { FactoryEvent, QueueInfo } from '../types.ts';

/** GET /scheduled-jobs: each schedule with its next three runs (none while paused). */
interface Schedule {
  readonly scheduleId: string;
  readonly name: string;
  readonly cron: string;
  readonly timezone: string;
  readonly job: { readonly queue?: string; readonly type?: string; readonly [key: string]: unknown };
  readonly paused: boolean;
  readonly createdAt: string;
  readonly lastOccurrence: string;
  readonly lastJobId?: string;
  readonly nextRuns: readonly string[];
}

/** GET /factory/maintenance (domain/maintenance.ts MaintenanceWindow, with its state). */
interface MaintenanceWindow {
  readonly windowId: string;
  readonly queue: string;
  readonly kind: string;
  readonly startAt: string;
  readonly endAt: string;
  readonly cron?: string;
  readonly timezone: string;
  readonly durationMinutes: number;
  readonly note?: string;
  readonly createdBy?: string;
  readonly activeOccurrence?: string;
  readonly maintenanceJobId?: string;
  readonly state: 'scheduled' | 'active' | 'completed';
}

/** domain/maintenance.ts maintenanceKinds. */
const maintenanceKinds = ['inspection', 'calibration', 'repair', 'software_update', 'cleaning'] as const;

const stateClasses: Record<MaintenanceWindow['state'], string> = {
  active: 'run',
  scheduled: 'wait',
  completed: 'ok',
};

const movesQueues = (e: FactoryEvent) => e.type === 'queue.paused' || e.type === 'queue.resumed';

/** Every IANA zone the browser knows, to pick from (the API checks the one given). */
const timeZones: readonly string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

/**
 * Reloads once the soonest of `times` has passed: a window starts or ends, a schedule's next
 * run is due, and no event says so. A few seconds late, for the timer or ticker to have acted.
 */
function useReloadAfter(times: readonly string[], reload: () => void): void {
  const now = Date.now();
  const soonest = times
    .map(Date.parse)
    .filter((t) => t > now)
    .sort((a, b) => a - b)[0];
  useEffect(() => {
    if (soonest === undefined) return;
    // setTimeout holds at most 2^31 − 1 ms (~24 days); a later time is reached by a later render.
    const timer = setTimeout(reload, Math.min(soonest - Date.now() + 5000, 2 ** 31 - 1));
    return () => clearTimeout(timer);
  }, [soonest, reload]);
}

export function SchedulesPage(_props: { readonly params: URLSearchParams }) {
  const queues = useLiveData(
    () => get<QueueInfo[]>('/queues'),
    [],
    () => false,
  );
  return (
    <div class="schedules">
      {queues.error && <p class="error">{queues.error}</p>}
      <CronSchedules queues={queues.data ?? []} />
      <MaintenanceWindows queues={queues.data ?? []} />
    </div>
  );
}

function CronSchedules(props: { readonly queues: readonly QueueInfo[] }) {
  const { openJob } = useSession();
  const mayChange = useMay('developer');
  const schedules = useLiveData(
    async () => (await get<{ schedules: Schedule[] }>('/scheduled-jobs')).schedules,
    [],
    movesQueues,
  );
  useReloadAfter(
    (schedules.data ?? []).flatMap((s) => s.nextRuns.slice(0, 1)),
    schedules.reload,
  );
  const { busy, error: actionError, run } = useAction<string>();
  const act = (scheduleId: string, method: 'PATCH' | 'DELETE', body?: unknown) =>
    run(
      scheduleId,
      async () => void (await call(method, `/scheduled-jobs/${encodeURIComponent(scheduleId)}`, body)),
      schedules.reload,
    );
  const list = [...(schedules.data ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="schedules-title">
      <h2 id="schedules-title">Cron schedules</h2>
      {schedules.error && <p class="error">{schedules.error}</p>}
      {actionError && (
        <p class="error" role="alert">
          {actionError}
        </p>
      )}
      <table class="grid" aria-label="Cron schedules">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Cron</th>
            <th scope="col">Time zone</th>
            <th scope="col">Queue / type</th>
            <th scope="col">State</th>
            <th scope="col">Next runs</th>
            <th scope="col">Last job</th>
            {mayChange && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {list.map((s) => {
            const nameId = `schedule-${s.scheduleId}`;
            return (
              <tr key={s.scheduleId} data-schedule={s.scheduleId} data-paused={String(s.paused)}>
                <th scope="row" id={nameId}>
                  {s.name}
                </th>
                <td>
                  <code>{s.cron}</code>
                </td>
                <td>{s.timezone}</td>
                <td>
                  {s.job.queue ?? '—'} / {s.job.type ?? '—'}
                </td>
                <td data-col="paused">
                  {s.paused ? <span class="state wait">paused</span> : <span class="state ok">active</span>}
                </td>
                <td data-col="next-runs">
                  {s.nextRuns.length === 0
                    ? '—'
                    : s.nextRuns.map((run) => (
                        <div key={run}>
                          <time dateTime={run}>{dateTime(run)}</time>
                        </div>
                      ))}
                </td>
                <td>
                  {s.lastJobId ? (
                    <button type="button" class="link" onClick={() => openJob(s.lastJobId as string)}>
                      {s.lastJobId}
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
                {mayChange && (
                  <td>
                    <div class="actions">
                      <button
                        type="button"
                        aria-describedby={nameId}
                        disabled={busy === s.scheduleId}
                        onClick={() => void act(s.scheduleId, 'PATCH', { paused: !s.paused })}
                      >
                        {s.paused ? 'Resume' : 'Pause'}
                      </button>
                      <button
                        type="button"
                        class="danger"
                        aria-describedby={nameId}
                        disabled={busy === s.scheduleId}
                        onClick={() => void act(s.scheduleId, 'DELETE')}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {schedules.data && list.length === 0 && <p class="muted">No cron schedules.</p>}
      {mayChange && <NewSchedule queues={props.queues} onCreated={schedules.reload} />}
    </section>
  );
}

function NewSchedule(props: { readonly queues: readonly QueueInfo[]; readonly onCreated: () => void }) {
  // Production lines take their steps from orders, never a submitted job.
  const jobQueues = props.queues.filter((q) => q.kind === 'job-queue');
  const [form, setForm] = useState({
    name: '',
    cron: '',
    timezone: 'UTC',
    queue: '',
    type: '',
    payload: '{}',
  });
  const { busy, error, notice, run } = useAction();
  // Until one is picked: the first queue, and the first type the queue takes.
  const queue = jobQueues.find((q) => q.name === form.queue) ?? jobQueues[0];
  const types = queue?.jobTypes ?? [];
  const type = types.includes(form.type) ? form.type : (types[0] ?? '');
  const set = (key: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const create = (event: Event) => {
    event.preventDefault();
    return run(true, async () => {
      let payload: unknown;
      try {
        payload = JSON.parse(form.payload || '{}');
      } catch (failure) {
        throw new Error(`The payload is not valid JSON: ${(failure as Error).message}`);
      }
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
        throw new Error('The payload must be a JSON object.');
      // The API checks the cron, the zone and the job (its queue takes the type, the payload fits):
      // the form adds no rules of its own and shows the API's answer.
      const created = await call<Schedule>('POST', '/scheduled-jobs', {
        name: form.name,
        cron: form.cron,
        timezone: form.timezone,
        job: { queue: queue?.name ?? form.queue, type, payload },
      });
      setForm({ ...form, name: '', cron: '', payload: '{}' });
      props.onCreated();
      return `Created ${created.name}${created.nextRuns[0] ? `, first run ${dateTime(created.nextRuns[0])}` : ''}.`;
    });
  };
  return (
    <form class="filters" aria-labelledby="new-schedule-title" onSubmit={create}>
      <h3 id="new-schedule-title" style={{ flexBasis: '100%', margin: '8px 0 0' }}>
        New schedule
      </h3>
      <label>
        Name
        <input value={form.name} onInput={set('name')} aria-required="true" />
      </label>
      <label>
        Cron
        <input
          value={form.cron}
          onInput={set('cron')}
          placeholder="0 2 * * *"
          aria-required="true"
          spellcheck={false}
        />
      </label>
      <label>
        Time zone
        <input
          value={form.timezone}
          onInput={set('timezone')}
          list="schedule-time-zones"
          spellcheck={false}
        />
        <datalist id="schedule-time-zones">
          {timeZones.map((z) => (
            <option key={z} value={z} />
          ))}
        </datalist>
      </label>
      <label>
        Queue
        <select value={queue?.name ?? ''} onChange={set('queue')}>
          {jobQueues.map((q) => (
            <option key={q.name}>{q.name}</option>
          ))}
        </select>
      </label>
      <label>
        Type
        <select value={type} onChange={set('type')}>
          {types.map((t) => (
            <option key={t}>{t}</option>
          ))}
        </select>
      </label>
      <label>
        Payload (JSON)
        <textarea value={form.payload} onInput={set('payload')} rows={3} cols={40} spellcheck={false} />
      </label>
      <button type="submit" disabled={busy}>
        Create schedule
      </button>
      {error && (
        <p class="error" role="alert" style={{ flexBasis: '100%' }}>
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status" style={{ flexBasis: '100%' }}>
          {notice}
        </p>
      )}
    </form>
  );
}

function MaintenanceWindows(props: { readonly queues: readonly QueueInfo[] }) {
  const { openJob } = useSession();
  const mayPlan = useMay('admin');
  const windows = useLiveData(
    async () => (await get<{ windows: MaintenanceWindow[] }>('/factory/maintenance')).windows,
    [],
    movesQueues,
  );
  const now = Date.now();
  useReloadAfter(
    (windows.data ?? []).flatMap((w) => {
      if (w.state === 'completed') return [];
      const next = Date.parse(w.state === 'active' ? w.endAt : w.startAt);
      // Due but not acted on yet (the ticker runs each minute): look again shortly.
      return [new Date(Math.max(next, now + 10_000)).toISOString()];
    }),
    windows.reload,
  );
  const { busy, error: actionError, run } = useAction<string>();
  const cancel = (windowId: string) =>
    run(
      windowId,
      async () => void (await call('DELETE', `/factory/maintenance/${encodeURIComponent(windowId)}`)),
      windows.reload,
    );
  const order: Record<MaintenanceWindow['state'], number> = { active: 0, scheduled: 1, completed: 2 };
  const list = [...(windows.data ?? [])].sort(
    (a, b) => order[a.state] - order[b.state] || a.startAt.localeCompare(b.startAt),
  );
  return (
    <section aria-labelledby="maintenance-title">
      <h2 id="maintenance-title">Maintenance windows</h2>
      {windows.error && <p class="error">{windows.error}</p>}
      {actionError && (
        <p class="error" role="alert">
          {actionError}
        </p>
      )}
      <table class="grid" aria-label="Maintenance windows">
        <thead>
          <tr>
            <th scope="col">Line</th>
            <th scope="col">Kind</th>
            <th scope="col">Start</th>
            <th scope="col">End</th>
            <th scope="col">Repeats</th>
            <th scope="col">State</th>
            <th scope="col">Maintenance job</th>
            {mayPlan && <th scope="col">Actions</th>}
          </tr>
        </thead>
        <tbody>
          {list.map((w) => {
            const lineId = `window-${w.windowId}`;
            return (
              <tr key={w.windowId} data-window={w.windowId} data-state={w.state}>
                <th scope="row" id={lineId}>
                  {w.queue}
                </th>
                <td>{w.kind}</td>
                <td>
                  <time dateTime={w.startAt}>{dateTime(w.startAt)}</time>
                </td>
                <td>
                  <time dateTime={w.endAt}>{dateTime(w.endAt)}</time>
                </td>
                <td>
                  {w.cron ? (
                    <>
                      <code>{w.cron}</code> {w.timezone}
                    </>
                  ) : (
                    'once'
                  )}
                </td>
                <td data-col="state">
                  <span class={`state ${stateClasses[w.state]}`}>{w.state}</span>
                </td>
                <td>
                  {w.maintenanceJobId ? (
                    <button type="button" class="link" onClick={() => openJob(w.maintenanceJobId as string)}>
                      {w.maintenanceJobId}
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
                {mayPlan && (
                  <td>
                    {/* A finished one-off window has nothing left to cancel. */}
                    {w.state !== 'completed' && (
                      <button
                        type="button"
                        class="danger"
                        aria-describedby={lineId}
                        disabled={busy === w.windowId}
                        onClick={() => void cancel(w.windowId)}
                      >
                        Cancel window
                      </button>
                    )}
                  </td>
                )}
              </tr>
            );
          })}
        </tbody>
      </table>
      {windows.data && list.length === 0 && <p class="muted">No maintenance windows.</p>}
      {mayPlan && <NewWindow queues={props.queues} onCreated={windows.reload} />}
    </section>
  );
}

function NewWindow(props: { readonly queues: readonly QueueInfo[]; readonly onCreated: () => void }) {
  const lines = props.queues.filter((q) => q.kind === 'production-line');
  const [form, setForm] = useState({
    line: '',
    kind: 'inspection',
    durationMinutes: '30',
    startAt: '',
    cron: '',
    timezone: 'UTC',
  });
  const { busy, error, notice, run } = useAction();
  const line = lines.some((l) => l.name === form.line) ? form.line : (lines[0]?.name ?? '');
  const set = (key: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const plan = (event: Event) => {
    event.preventDefault();
    return run(true, async () => {
      const cron = form.cron.trim();
      const created = await call<MaintenanceWindow & { started: boolean }>('POST', '/factory/maintenance', {
        line,
        kind: form.kind,
        durationMinutes: Number(form.durationMinutes),
        // datetime-local is the browser's local time; the API wants an instant.
        ...(form.startAt ? { startAt: new Date(form.startAt).toISOString() } : {}),
        ...(cron ? { cron, timezone: form.timezone } : {}),
      });
      setForm({ ...form, startAt: '', cron: '' });
      props.onCreated();
      return created.started
        ? `${created.queue} is paused for ${created.kind} until ${dateTime(created.endAt)}.`
        : `${created.kind} on ${created.queue} planned from ${dateTime(created.startAt)}.`;
    });
  };
  return (
    <form class="filters" aria-labelledby="new-window-title" onSubmit={plan}>
      <h3 id="new-window-title" style={{ flexBasis: '100%', margin: '8px 0 0' }}>
        New maintenance window
      </h3>
      <label>
        Line
        <select value={line} onChange={set('line')}>
          {lines.map((l) => (
            <option key={l.name}>{l.name}</option>
          ))}
        </select>
      </label>
      <label>
        Kind
        <select value={form.kind} onChange={set('kind')}>
          {maintenanceKinds.map((k) => (
            <option key={k}>{k}</option>
          ))}
        </select>
      </label>
      <label>
        Duration (minutes)
        <input
          type="number"
          min={1}
          max={7 * 24 * 60}
          step={1}
          value={form.durationMinutes}
          onInput={set('durationMinutes')}
        />
      </label>
      <label>
        Starts at (empty: now)
        <input type="datetime-local" value={form.startAt} onInput={set('startAt')} />
      </label>
      <label>
        Repeats (cron, optional)
        <input value={form.cron} onInput={set('cron')} placeholder="0 3 * * 0" spellcheck={false} />
      </label>
      {form.cron.trim() && (
        <label>
          Time zone of the cron
          <input
            value={form.timezone}
            onInput={set('timezone')}
            list="window-time-zones"
            spellcheck={false}
          />
          <datalist id="window-time-zones">
            {timeZones.map((z) => (
              <option key={z} value={z} />
            ))}
          </datalist>
        </label>
      )}
      <button type="submit" disabled={busy || !line}>
        Schedule window
      </button>
      {error && (
        <p class="error" role="alert" style={{ flexBasis: '100%' }}>
          {error}
        </p>
      )}
      {notice && (
        <p class="notice" role="status" style={{ flexBasis: '100%' }}>
          {notice}
        </p>
      )}
    </form>
  );
}
