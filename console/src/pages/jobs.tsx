/** Jobs: the list by queue, state and type, live; an id opens the drawer. */
import { useState } from 'preact/hooks';
import { jobStatuses } from '../../../functions/domain/jobs.ts';
import { get, query } from '../api.ts';
import { useLiveData, useSession } from '../hooks.ts';
import { Choice } from '../parts/choice.tsx';
import { dateTime, stateClass } from '../parts/format.ts';
import type { Job, QueueInfo } from '../types.ts';

export function JobsPage(props: { readonly params: URLSearchParams }) {
  const { openJob } = useSession();
  const [filters, setFilters] = useState({
    queue: props.params.get('queue') ?? '',
    status: props.params.get('status') ?? '',
    type: props.params.get('type') ?? '',
  });
  const [search, setSearch] = useState('');
  const [more, setMore] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const queues = useLiveData(
    () => get<QueueInfo[]>('/queues'),
    [],
    () => false,
  );
  const types = [...new Set((queues.data ?? []).flatMap((q) => q.jobTypes))].sort();
  const page = useLiveData(
    async () => {
      const answer = await get<{ jobs: Job[]; nextCursor: string | null }>(
        `/jobs${query({ ...filters, limit: 50 })}`,
      );
      setMore([]);
      setCursor(answer.nextCursor);
      return answer.jobs;
    },
    [filters.queue, filters.status, filters.type],
    (e) => e.type.startsWith('job.') && e.type !== 'job.progress',
    1500,
  );
  const loadMore = async () => {
    if (!cursor) return;
    const answer = await get<{ jobs: Job[]; nextCursor: string | null }>(
      `/jobs${query({ ...filters, limit: 50, cursor })}`,
    );
    setMore((shown) => [...shown, ...answer.jobs]);
    setCursor(answer.nextCursor);
  };
  const jobs = [...(page.data ?? []), ...more];
  return (
    <div>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          if (search.trim()) openJob(search.trim());
        }}
      >
        <Choice
          label="Queue"
          value={filters.queue}
          options={(queues.data ?? []).map((q) => q.name)}
          onChange={(queue) => setFilters({ ...filters, queue })}
        />
        <Choice
          label="State"
          value={filters.status}
          options={jobStatuses}
          onChange={(status) => setFilters({ ...filters, status })}
        />
        <Choice
          label="Type"
          value={filters.type}
          options={types}
          onChange={(type) => setFilters({ ...filters, type })}
        />
        <label>
          Job id
          <input
            type="search"
            placeholder="job_… or ord_….step"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Open</button>
      </form>
      {page.error && <p class="error">{page.error}</p>}
      <table class="grid" aria-label="Jobs">
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">State</th>
            <th scope="col">Queue</th>
            <th scope="col">Type</th>
            <th scope="col">Attempts</th>
            <th scope="col">Submitted</th>
            <th scope="col">Error</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.jobId} data-job={job.jobId} data-status={job.status}>
              <td>
                <button type="button" class="link" onClick={() => openJob(job.jobId)}>
                  {job.jobId}
                </button>
              </td>
              <td>
                <span class={`state ${stateClass(job.status)}`}>{job.status}</span>
              </td>
              <td>{job.queue}</td>
              <td>{job.type}</td>
              <td>
                {job.attempts}/{job.maxAttempts}
              </td>
              <td>{dateTime(job.createdAt)}</td>
              <td class="clip">{job.error ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page.data && jobs.length === 0 && <p class="muted">No jobs match.</p>}
      {cursor && (
        <button type="button" onClick={() => void loadMore()}>
          Load more
        </button>
      )}
    </div>
  );
}
