/** Timeline: a Gantt of executions by queue over a chosen range; a bar opens its job. */
import { useMemo, useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLiveData, useSession } from '../hooks.ts';
import { Chart, type ChartOptions } from '../parts/chart.tsx';
import { duration, stateClass, stateColours } from '../parts/format.ts';

interface Execution {
  readonly jobId: string;
  readonly queue: string;
  readonly type: string;
  readonly status: string;
  readonly start: string | null;
  readonly end: string | null;
  readonly attempts: number;
}

const ranges = [
  { label: 'last 15 minutes', ms: 15 * 60_000 },
  { label: 'last hour', ms: 3_600_000 },
  { label: 'last 6 hours', ms: 6 * 3_600_000 },
  { label: 'last 24 hours', ms: 24 * 3_600_000 },
];

export function TimelinePage() {
  const { openJob } = useSession();
  const [rangeMs, setRangeMs] = useState(ranges[1]?.ms ?? 3_600_000);
  const [queue, setQueue] = useState('');
  const timeline = useLiveData(
    () => {
      const to = new Date();
      const from = new Date(to.getTime() - rangeMs);
      return get<{ jobs: Execution[]; truncated: boolean; from: string; to: string }>(
        `/metrics/jobs/timeline${query({ from: from.toISOString(), to: to.toISOString(), queue, limit: 2000 })}`,
      );
    },
    [rangeMs, queue],
    (e) =>
      e.type === 'job.started' ||
      e.type === 'job.completed' ||
      e.type === 'job.dead' ||
      e.type === 'job.failed',
    3000,
  );
  const bars = (timeline.data?.jobs ?? []).filter((j) => j.start);
  const options = useMemo<ChartOptions>(() => {
    const queues = [...new Set(bars.map((b) => b.queue))].sort();
    const now = Date.now();
    // The axis fits the executions (a minute of work in a 24-hour range would be a hairline);
    // the zoom slider and the range select widen or narrow it.
    const earliest = Math.min(...bars.map((b) => Date.parse(b.start as string)));
    const from = Number.isFinite(earliest)
      ? Math.max(Date.parse(timeline.data?.from ?? ''), earliest - Math.max(2000, (now - earliest) * 0.05))
      : Date.parse(timeline.data?.from ?? '');
    return {
      grid: { left: 110, right: 20, top: 10, bottom: 60 },
      tooltip: {
        formatter: (p: { data: { value: [number, number, number, string] } }) => {
          const job = bars[p.data.value[3] as unknown as number];
          return job
            ? `${job.jobId}<br/>${job.type} · ${job.status}<br/>${duration(p.data.value[2] - p.data.value[1])}`
            : '';
        },
      },
      xAxis: { type: 'time', min: from, max: now },
      yAxis: { type: 'category', data: queues },
      dataZoom: [
        { type: 'slider', xAxisIndex: 0 },
        { type: 'inside', xAxisIndex: 0 },
      ],
      series: [
        {
          type: 'custom',
          encode: { x: [1, 2], y: 0 },
          renderItem: (
            _params: unknown,
            api: {
              value: (i: number) => number;
              coord: (v: [number, number]) => [number, number];
              size: (v: [number, number]) => [number, number];
              style: () => Record<string, unknown>;
            },
          ) => {
            const lane = api.value(0);
            const [x0, y] = api.coord([api.value(1), lane]);
            const [x1] = api.coord([api.value(2), lane]);
            const height = api.size([0, 1])[1] * 0.6;
            return {
              type: 'rect',
              shape: { x: x0, y: y - height / 2, width: Math.max(x1 - x0, 2), height },
              style: api.style(),
            };
          },
          data: bars.map((b, i) => ({
            value: [
              queues.indexOf(b.queue),
              Date.parse(b.start as string),
              b.end ? Date.parse(b.end) : now,
              i,
            ],
            itemStyle: { color: stateColours[stateClass(b.status)] },
          })),
        },
      ],
    };
  }, [timeline.data]);
  return (
    <div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range
          <select value={rangeMs} onChange={(e) => setRangeMs(Number(e.currentTarget.value))}>
            {ranges.map((r) => (
              <option key={r.ms} value={r.ms}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Queue
          <input value={queue} onChange={(e) => setQueue(e.currentTarget.value)} placeholder="all" />
        </label>
      </form>
      {timeline.error && <p class="error">{timeline.error}</p>}
      <p class="muted">
        {bars.length} executions{timeline.data?.truncated ? ' (the first 2,000)' : ''}; click a bar to open
        its job.
      </p>
      <Chart
        options={options}
        label="Gantt of job executions by queue"
        height={Math.max(220, 60 + 40 * new Set(bars.map((b) => b.queue)).size)}
        onClick={(p) => {
          const job = bars[p.dataIndex];
          if (job) openJob(job.jobId);
        }}
      />
      <ul class="sr-list" aria-label="Executions">
        {bars.slice(-20).map((b) => (
          <li key={b.jobId}>
            <button type="button" class="link" onClick={() => openJob(b.jobId)}>
              {b.jobId}
            </button>{' '}
            {b.queue} {b.type} <span class={`state ${stateClass(b.status)}`}>{b.status}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
