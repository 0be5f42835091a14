/**
 * The job drawer: everything about one job — payload, result and output, error, its timeline
 * (submitted → started → finished), every attempt with its log lines, progress — live, with
 * Retry, Cancel and "Similar jobs".
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, download, get } from '../api.ts';
import { useLiveData, useMay, useSession } from '../hooks.ts';
import type { Job, JobLog } from '../types.ts';
import { dateTime, duration, stateClass, time } from './format.ts';

const finished = ['COMPLETED', 'DEAD', 'CANCELLED'];

export function JobDrawer(props: { readonly jobId: string; readonly onClose: () => void }) {
  const { jobId } = props;
  const { openJob } = useSession();
  const mayAct = useMay('developer');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const panel = useRef<HTMLDivElement>(null);
  const job = useLiveData(
    () => get<Job>(`/jobs/${encodeURIComponent(jobId)}`),
    [jobId],
    (e) => e.jobId === jobId,
    300,
  );
  const logs = useLiveData(
    () => get<{ logs: JobLog[] }>(`/jobs/${encodeURIComponent(jobId)}/logs`),
    [jobId],
    (e) => e.jobId === jobId && e.type !== 'job.progress',
    500,
  );
  useEffect(() => {
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') props.onClose();
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [props.onClose]);
  const act = async (label: string, method: string, path: string) => {
    try {
      await call(method, path);
      setNotice(`${label}: done`);
      job.reload();
    } catch (failure) {
      setNotice(`${label}: ${(failure as Error).message}`);
    }
  };
  const j = job.data;
  // A job worker writes its attempts' lines in batches, up to about a second after the job's
  // state, and a finished job sends no more events: its log is read once more a moment later.
  const isFinished = j !== undefined && finished.includes(j.status);
  const reloadLogs = logs.reload;
  useEffect(() => {
    if (!isFinished) return;
    const later = setTimeout(reloadLogs, 1500);
    return () => clearTimeout(later);
  }, [isFinished, reloadLogs]);
  const attempts = new Map<number, JobLog[]>();
  for (const line of logs.data?.logs ?? []) {
    const n = line.attempt ?? 0;
    attempts.set(n, [...(attempts.get(n) ?? []), line]);
  }
  const end = j?.completedAt ?? j?.deadAt ?? j?.cancelledAt;
  return (
    <div class="drawer" ref={panel} tabIndex={-1} aria-label={`Job ${jobId}`} aria-modal="true" role="dialog">
      <header>
        <h2>
          Job <code>{jobId}</code>
        </h2>
        <button type="button" onClick={props.onClose} aria-label="Close the job drawer">
          ✕
        </button>
      </header>
      {job.error && <p class="error">{job.error}</p>}
      {j && (
        <>
          <p>
            <span class={`state ${stateClass(j.status)}`} data-testid="drawer-status">
              {j.status}
            </span>{' '}
            {j.type} on <b>{j.queue}</b> · attempt {j.attempts} of {j.maxAttempts}
            {j.priority !== undefined ? ` · priority ${j.priority}` : ''}
            {j.orderId ? (
              <>
                {' '}
                · order <a href={`#/orders?order=${j.orderId}`}>{j.orderId}</a>
              </>
            ) : null}
          </p>
          {j.progress && !finished.includes(j.status) && (
            <div class="progress">
              <progress max={100} value={j.progress.percent} aria-label="Progress" /> {j.progress.percent}%{' '}
              {j.progress.message ?? ''}
            </div>
          )}
          <div class="actions">
            {mayAct && (j.status === 'DEAD' || j.status === 'FAILED') && (
              <button type="button" onClick={() => act('Retry', 'POST', `/jobs/${jobId}/retry`)}>
                Retry
              </button>
            )}
            {mayAct && !finished.includes(j.status) && (
              <button type="button" class="danger" onClick={() => act('Cancel', 'DELETE', `/jobs/${jobId}`)}>
                Cancel
              </button>
            )}
            <a
              class="button"
              href={`#/jobs?queue=${j.queue}&type=${j.type}&status=${j.status}`}
              onClick={() => props.onClose()}
            >
              Similar jobs
            </a>
          </div>
          {notice && <p class="notice">{notice}</p>}
          <h3>Timeline</h3>
          <ol class="timeline">
            <li>submitted {dateTime(j.createdAt)}</li>
            {j.startedAt && (
              <li>
                started {dateTime(j.startedAt)} (waited{' '}
                {duration(Date.parse(j.startedAt) - Date.parse(j.createdAt))})
              </li>
            )}
            {end && (
              <li class={stateClass(j.status)}>
                {j.status.toLowerCase()} {dateTime(end)}
                {j.startedAt ? ` (ran ${duration(Date.parse(end) - Date.parse(j.startedAt))})` : ''}
              </li>
            )}
          </ol>
          {j.error && (
            <>
              <h3>Error</h3>
              <pre class="error-text">{j.error}</pre>
            </>
          )}
          <h3>Payload</h3>
          <pre>{JSON.stringify(j.payload ?? null, null, 2)}</pre>
          {j.result && (
            <>
              <h3>Result</h3>
              <pre>{JSON.stringify(j.result, null, 2)}</pre>
              {j.result.artifactKey && (
                <button type="button" onClick={() => void download(`/jobs/${jobId}/output`)}>
                  Open output
                </button>
              )}
            </>
          )}
          {j.dependsOn && j.dependsOn.length > 0 && (
            <>
              <h3>Depends on</h3>
              <ul>
                {j.dependsOn.map((id) => (
                  <li key={id}>
                    <button type="button" class="link" onClick={() => openJob(id)}>
                      {id}
                    </button>
                  </li>
                ))}
              </ul>
            </>
          )}
          <h3>Attempts and logs</h3>
          {attempts.size === 0 && <p class="muted">No log lines yet.</p>}
          {[...attempts.entries()].map(([n, lines]) => (
            <section key={n} class="attempt">
              <h4>{n ? `Attempt ${n}` : 'Before the first attempt'}</h4>
              <ul class="log">
                {lines.map((line, i) => (
                  <li key={i} class={`level-${line.level}`}>
                    <time>{time(line.timestamp)}</time> <b>{line.level}</b> {line.message}
                  </li>
                ))}
              </ul>
            </section>
          ))}
        </>
      )}
    </div>
  );
}
