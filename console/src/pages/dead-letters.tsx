/**
 * Dead letters: DEAD jobs filtered by error text, type and date; select some or all shown and
 * Retry or Delete them in bulk; export the filtered list as CSV.
 */
import { useState } from 'preact/hooks';
import { call, download, get, query } from '../api.ts';
import { useLiveData, useMay, useSession } from '../hooks.ts';
import { Choice } from '../parts/choice.tsx';
import { dateTime } from '../parts/format.ts';
import type { Job, QueueInfo } from '../types.ts';

export function DeadLettersPage() {
  const { openJob } = useSession();
  const mayRetry = useMay('developer');
  const mayDelete = useMay('admin');
  const [filters, setFilters] = useState({ type: '', errorContains: '', since: '' });
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const queues = useLiveData(
    () => get<QueueInfo[]>('/queues'),
    [],
    () => false,
  );
  const types = [...new Set((queues.data ?? []).flatMap((q) => q.jobTypes))].sort();
  const server = { type: filters.type, errorContains: filters.errorContains };
  const dead = useLiveData(
    () => get<{ jobs: Job[]; nextCursor: string | null }>(`/dlq${query({ ...server, limit: 200 })}`),
    [filters.type, filters.errorContains],
    (e) => e.type === 'job.dead' || e.type === 'job.retried' || e.type === 'job.cancelled',
    1500,
  );
  // The date is narrowed here: the API filters by queue, type and error text.
  const since = filters.since ? Date.parse(filters.since) : 0;
  const jobs = (dead.data?.jobs ?? []).filter(
    (j) => !since || Date.parse(j.deadAt ?? j.updatedAt ?? '') >= since,
  );
  const chosen = jobs.filter((j) => selected.has(j.jobId)).map((j) => j.jobId);
  const toggle = (jobId: string) => {
    const next = new Set(selected);
    if (next.has(jobId)) next.delete(jobId);
    else next.add(jobId);
    setSelected(next);
  };
  const retry = async () => {
    try {
      const answer = await call<{ retried?: number; jobs?: unknown[] }>('POST', '/dlq/retry', {
        jobIds: chosen,
      });
      setNotice(`Retried ${answer?.retried ?? chosen.length} jobs`);
      setSelected(new Set());
      dead.reload();
    } catch (failure) {
      setNotice(`Retry: ${(failure as Error).message}`);
    }
  };
  const remove = async () => {
    if (!confirm(`Delete ${chosen.length} dead jobs for good?`)) return;
    const results = await Promise.allSettled(
      chosen.map((id) => call('DELETE', `/dlq/${encodeURIComponent(id)}`)),
    );
    const failed = results.filter((r) => r.status === 'rejected').length;
    setNotice(`Deleted ${chosen.length - failed} jobs${failed ? `, ${failed} refused` : ''}`);
    setSelected(new Set());
    dead.reload();
  };
  const set = (key: keyof typeof filters) => (e: Event) =>
    setFilters({ ...filters, [key]: (e.currentTarget as HTMLInputElement).value });
  return (
    <div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Error text
          <input type="search" value={filters.errorContains} onChange={set('errorContains')} />
        </label>
        <Choice
          label="Type"
          value={filters.type}
          options={types}
          onChange={(type) => setFilters({ ...filters, type })}
        />
        <label>
          Dead since
          <input type="date" value={filters.since} onChange={set('since')} />
        </label>
        <button
          type="button"
          onClick={() => void download(`/dlq/export${query(server)}`, 'dead-letters.csv')}
        >
          Export CSV
        </button>
      </form>
      {(mayRetry || mayDelete) && (
        <div class="actions">
          <button
            type="button"
            onClick={() =>
              setSelected(chosen.length === jobs.length ? new Set() : new Set(jobs.map((j) => j.jobId)))
            }
          >
            {chosen.length === jobs.length && jobs.length ? 'Select none' : 'Select all'}
          </button>
          {mayRetry && (
            <button type="button" disabled={!chosen.length} onClick={() => void retry()}>
              Retry selected ({chosen.length})
            </button>
          )}
          {mayDelete && (
            <button type="button" class="danger" disabled={!chosen.length} onClick={() => void remove()}>
              Delete selected ({chosen.length})
            </button>
          )}
        </div>
      )}
      {notice && (
        <p class="notice" role="status">
          {notice}
        </p>
      )}
      {dead.error && <p class="error">{dead.error}</p>}
      <table class="grid" aria-label="Dead letters">
        <thead>
          <tr>
            {(mayRetry || mayDelete) && <th scope="col">Select</th>}
            <th scope="col">Job</th>
            <th scope="col">Queue</th>
            <th scope="col">Type</th>
            <th scope="col">Attempts</th>
            <th scope="col">Dead at</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <tr key={j.jobId} data-job={j.jobId}>
              {(mayRetry || mayDelete) && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`Select ${j.jobId}`}
                    checked={selected.has(j.jobId)}
                    onChange={() => toggle(j.jobId)}
                  />
                </td>
              )}
              <td>
                <button type="button" class="link" onClick={() => openJob(j.jobId)}>
                  {j.jobId}
                </button>
              </td>
              <td>{j.queue}</td>
              <td>{j.type}</td>
              <td>
                {j.attempts}/{j.maxAttempts}
              </td>
              <td>{dateTime(j.deadAt)}</td>
              <td class="clip">{j.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {dead.data && jobs.length === 0 && <p class="muted">The dead-letter queue is empty.</p>}
      <Causes type={filters.type} />
    </div>
  );
}

interface Cause {
  readonly errorClass: string;
  readonly count: number;
  readonly lastSeen: string | null;
  readonly types: readonly string[];
  readonly sample: { readonly jobId: string; readonly error: string };
}

/** The dead jobs by error class (GET /dlq/causes): what to fix first. */
function Causes(props: { readonly type: string }) {
  const { openJob } = useSession();
  const causes = useLiveData(
    () => get<{ causes: Cause[] }>(`/dlq/causes${query({ type: props.type })}`),
    [props.type],
    (e) => e.type === 'job.dead' || e.type === 'job.retried',
    3000,
  );
  if (!causes.data?.causes.length) return null;
  return (
    <section aria-labelledby="causes-title">
      <h2 id="causes-title">Causes</h2>
      <table class="grid" aria-label="Dead letters by error class">
        <thead>
          <tr>
            <th scope="col">Error class</th>
            <th scope="col">Jobs</th>
            <th scope="col">Types</th>
            <th scope="col">Last seen</th>
            <th scope="col">Latest</th>
          </tr>
        </thead>
        <tbody>
          {causes.data.causes.slice(0, 20).map((c) => (
            <tr key={c.errorClass}>
              <td class="clip">{c.errorClass}</td>
              <td>{c.count}</td>
              <td>{c.types.join(', ')}</td>
              <td>{dateTime(c.lastSeen)}</td>
              <td>
                <button type="button" class="link" onClick={() => openJob(c.sample.jobId)}>
                  {c.sample.jobId}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
