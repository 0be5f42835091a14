/**
 * Overview: per queue and production line — waiting, running, completed and failed today,
 * typical run time, workers, paused, health — and the live activity feed.
 */
import { useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLiveData, useLiveEvents, useSession } from '../hooks.ts';
import { duration, stateClass, time } from '../parts/format.ts';
import type { FactoryEvent, QueueView, ThroughputBucket } from '../types.ts';

interface Today {
  readonly completed: number;
  readonly failed: number;
  readonly p50: number | null;
}

const startOfDay = () => {
  const day = new Date();
  day.setUTCHours(0, 0, 0, 0);
  return day.toISOString();
};

/** Green: flowing. Yellow: paused, failures today, or jobs waiting over 30 s. Red: a fifth failing, or waiting over 5 min. */
export function healthOf(view: QueueView, today: Today | undefined): 'green' | 'yellow' | 'red' {
  const finished = (today?.completed ?? 0) + (today?.failed ?? 0);
  const failing = finished ? (today?.failed ?? 0) / finished : 0;
  const waited = view.oldestWaitingAgeMs ?? 0;
  if (failing > 0.2 || waited > 300_000) return 'red';
  if (view.paused || (today?.failed ?? 0) > 0 || waited > 30_000) return 'yellow';
  return 'green';
}

const movesCounts = (e: FactoryEvent) => e.type.startsWith('job.') || e.type.startsWith('queue.');

export function OverviewPage() {
  const queues = useLiveData(
    () => get<{ queues: QueueView[] }>('/jobs/queue'),
    [],
    (e) => movesCounts(e) && e.type !== 'job.progress',
  );
  const workers = useLiveData(
    () => get<{ queues: { queue: string; workers: number }[] }>('/metrics/workers'),
    [],
    (e) => e.type === 'job.started' || e.type.startsWith('worker.') || e.type === 'scaling.changed',
    3000,
  );
  const names = queues.data?.queues.map((q) => q.queue) ?? [];
  const today = useLiveData(
    async () => {
      const from = startOfDay();
      const entries = await Promise.all(
        names.map(async (queue) => {
          const { totals } = await get<{ totals: ThroughputBucket }>(
            `/analytics/throughput${query({ granularity: 'day', queue, from })}`,
          );
          // `failed` counts failed attempts, the last one of a dead job included.
          return [
            queue,
            { completed: totals.completed, failed: totals.failed, p50: totals.runTimeMs.p50 },
          ] as const;
        }),
      );
      return new Map<string, Today>(entries);
    },
    [names.join()],
    (e) => ['job.completed', 'job.failed', 'job.dead'].includes(e.type),
    5000,
  );
  const workersOf = new Map((workers.data?.queues ?? []).map((w) => [w.queue, w]));
  return (
    <div class="overview">
      {queues.error && <p class="error">{queues.error}</p>}
      <table class="grid" aria-label="Queues and production lines">
        <thead>
          <tr>
            <th scope="col">Queue</th>
            <th scope="col">Health</th>
            <th scope="col">Waiting</th>
            <th scope="col">Running</th>
            <th scope="col">Completed today</th>
            <th scope="col">Failed today</th>
            <th scope="col">Typical run (p50)</th>
            <th scope="col">Workers</th>
          </tr>
        </thead>
        <tbody>
          {(queues.data?.queues ?? []).map((q) => {
            const t = today.data?.get(q.queue);
            const health = healthOf(q, t);
            const w = workersOf.get(q.queue);
            return (
              <tr key={q.queue} data-queue={q.queue}>
                <th scope="row">
                  <a href={`#/jobs?queue=${q.queue}`}>{q.queue}</a>
                  <small>{q.kind === 'production-line' ? ' line' : ''}</small>
                  {q.paused ? (
                    <span class="state wait" data-col="paused">
                      {' '}
                      paused
                    </span>
                  ) : null}
                </th>
                <td>
                  <span class={`health ${health}`} title={`health: ${health}`}>
                    {health}
                  </span>
                </td>
                <td data-col="waiting">
                  {q.waiting + q.delayed + q.blocked}
                  {q.oldestWaitingAgeMs ? <small> oldest {duration(q.oldestWaitingAgeMs)}</small> : null}
                </td>
                <td data-col="running">{q.running}</td>
                <td data-col="completed">{t?.completed ?? '…'}</td>
                <td data-col="failed">{t?.failed ?? '…'}</td>
                <td>{duration(t?.p50)}</td>
                {/* Active execution environments; how many run a job right now is the Running column
                    (a worker's row is not rewritten for every short job). */}
                <td>{w ? `${w.workers} active` : '…'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <ActivityFeed />
    </div>
  );
}

/** The last events as they happen: what changed, which job or order, its new state. */
function ActivityFeed() {
  const { openJob } = useSession();
  const [events, setEvents] = useState<FactoryEvent[]>([]);
  useLiveEvents((event) => setEvents((shown) => [event, ...shown].slice(0, 60)));
  return (
    <section class="feed" aria-labelledby="feed-title">
      <h2 id="feed-title">Activity</h2>
      {events.length === 0 && <p class="muted">Waiting for the next event…</p>}
      <ul aria-live="polite">
        {events.map((e) => {
          const state = String(e.data.status ?? e.type.split('.')[1] ?? '');
          return (
            <li key={e.id} data-type={e.type} data-job={e.jobId}>
              <time>{time(e.at)}</time> <span class="event-type">{e.type}</span>{' '}
              {e.jobId ? (
                <button type="button" class="link" onClick={() => openJob(e.jobId as string)}>
                  {e.jobId}
                </button>
              ) : e.orderId ? (
                <a href={`#/orders?order=${e.orderId}`}>{e.orderId}</a>
              ) : (
                <span>{e.queue}</span>
              )}{' '}
              <span class={`state ${stateClass(state)}`}>{state}</span>
              {e.type === 'job.progress' && typeof e.data.percent === 'number' ? ` ${e.data.percent}%` : ''}
            </li>
          );
        })}
      </ul>
    </section>
  );
}
