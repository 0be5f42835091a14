/**
 * Workers: per queue its workers (id, status, current job, uptime, memory), scale up/down or
 * back to the autoscaler, pause/resume, and the scaling decisions.
 */
import { useState } from 'preact/hooks';
import { call, get, query } from '../api.ts';
import { useLiveData, useMay, useSession, useTick } from '../hooks.ts';
import { Choice } from '../parts/choice.tsx';
import { duration, time } from '../parts/format.ts';
import type { QueueWorkers } from '../types.ts';

interface ScalingEvent {
  readonly queue: string;
  readonly at: string;
  readonly from: number;
  readonly to: number;
  readonly by: string;
  readonly reason: string;
  readonly source: string;
}

export function WorkersPage(props: { readonly params: URLSearchParams }) {
  const [queue, setQueue] = useState(props.params.get('queue') ?? '');
  const status = useLiveData(
    () => get<{ queues: QueueWorkers[] }>(`/workers/status${query({ queue })}`),
    [queue],
    (e) =>
      e.type === 'job.started' ||
      e.type === 'job.completed' ||
      e.type.startsWith('worker.') ||
      e.type.startsWith('queue.') ||
      e.type === 'scaling.changed',
    1500,
  );
  const events = useLiveData(
    () => get<{ events: ScalingEvent[] }>(`/workers/scaling-events${query({ queue })}`),
    [queue],
    (e) => e.type === 'scaling.changed',
    500,
  );
  const reload = () => {
    status.reload();
    events.reload();
  };
  return (
    <div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Choice
          label="Queue"
          value={queue}
          options={(status.data?.queues ?? []).map((q) => q.queue)}
          onChange={setQueue}
        />
      </form>
      {status.error && <p class="error">{status.error}</p>}
      {(status.data?.queues ?? []).map((q) => (
        <QueueWorkersCard key={q.queue} queue={q} onChanged={reload} />
      ))}
      <h2>Scaling events</h2>
      <table class="grid" aria-label="Scaling events">
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Queue</th>
            <th scope="col">From → to</th>
            <th scope="col">By</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        <tbody>
          {(events.data?.events ?? []).slice(0, 30).map((e) => (
            <tr key={`${e.queue}${e.at}`}>
              <td>{time(e.at)}</td>
              <td>{e.queue}</td>
              <td>
                {e.from} → {e.to}
              </td>
              <td>{e.by}</td>
              <td>{e.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function QueueWorkersCard(props: { readonly queue: QueueWorkers; readonly onChanged: () => void }) {
  const { openJob } = useSession();
  const mayOperate = useMay('admin');
  const now = useTick(5000);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const { queue, summary, workers } = props.queue;
  const act = async (label: string, path: string, body?: unknown) => {
    try {
      await call('POST', path, body);
      setNotice(`${label}: done`);
      props.onChanged();
    } catch (failure) {
      setNotice(`${label}: ${(failure as Error).message}`);
    }
  };
  const scaleTo = (concurrency: number) =>
    act(`Scale to ${concurrency}`, '/workers/scale', {
      queue,
      concurrency,
      reason: 'from the console',
    });
  return (
    <section class="card" data-queue={queue} aria-label={`Workers of ${queue}`}>
      <header>
        <h2>{queue}</h2>
        <span data-testid="concurrency">concurrency {summary.configuredConcurrency}</span> ·{' '}
        {summary.scaling.mode}
        {summary.scaling.bounds ? ` (${summary.scaling.bounds.min}–${summary.scaling.bounds.max})` : ''} ·{' '}
        {summary.busy} busy, {summary.idle} idle, {summary.lost} lost
        {summary.paused ? <span class="state wait"> paused</span> : null}
      </header>
      {mayOperate && (
        <div class="actions">
          <button
            type="button"
            onClick={() => void scaleTo(summary.configuredConcurrency + 1)}
            aria-label={`Scale ${queue} up`}
          >
            Scale up
          </button>
          <button
            type="button"
            disabled={summary.configuredConcurrency <= 1}
            onClick={() => void scaleTo(summary.configuredConcurrency - 1)}
            aria-label={`Scale ${queue} down`}
          >
            Scale down
          </button>
          {summary.scaling.mode !== 'auto' && (
            <button
              type="button"
              onClick={() => void act('Autoscale', '/workers/scale', { queue, mode: 'auto' })}
            >
              Autoscale
            </button>
          )}
          {summary.paused ? (
            <button type="button" onClick={() => void act('Resume', `/queues/${queue}/resume`)}>
              Resume
            </button>
          ) : (
            <button
              type="button"
              onClick={() =>
                void act('Pause', `/queues/${queue}/pause`, { reason: 'paused from the console' })
              }
            >
              Pause
            </button>
          )}
        </div>
      )}
      {notice && <p class="notice">{notice}</p>}
      {workers.length > 0 && (
        <table class="grid" aria-label={`Workers of ${queue}`}>
          <thead>
            <tr>
              <th scope="col">Worker</th>
              <th scope="col">Status</th>
              <th scope="col">Current job</th>
              <th scope="col">Uptime</th>
              <th scope="col">Memory</th>
              <th scope="col">Jobs</th>
              <th scope="col">Failures</th>
            </tr>
          </thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.workerId}>
                <td>
                  <code>{w.workerId}</code>
                </td>
                <td>
                  <span class={`state ${w.status === 'busy' ? 'run' : w.status === 'lost' ? 'bad' : 'ok'}`}>
                    {w.status}
                  </span>
                </td>
                <td>
                  {w.currentJobId ? (
                    <button type="button" class="link" onClick={() => openJob(w.currentJobId as string)}>
                      {w.currentJobId}
                    </button>
                  ) : (
                    '—'
                  )}
                </td>
                <td>{duration(now - Date.parse(w.startedAt))}</td>
                <td>{w.memoryUsedMb === null ? '—' : `${w.memoryUsedMb} MB`}</td>
                <td>{w.jobsProcessed}</td>
                <td>{w.failures}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
