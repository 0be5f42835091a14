/**
 * Metrics: jobs processed per hour and success against failure by queue (the last 24 hours),
 * submissions by day and hour of day (the last 7 days), and the run-time histogram of a queue
 * with its p50/p95/p99. All of it comes from the pre-aggregated buckets of GET
 * /analytics/throughput and GET /metrics/job-duration-histogram, reloaded as jobs move.
 */
import { useMemo, useState } from 'preact/hooks';
import { get, query } from '../api.ts';
import { useLiveData } from '../hooks.ts';
import { Chart, type ChartOptions } from '../parts/chart.tsx';
import { duration, stateColours } from '../parts/format.ts';
import type { FactoryEvent, Percentiles, QueueInfo, ThroughputBucket } from '../types.ts';

/** One bucket of the run-time histogram (domain/throughput.ts durationHistogram): runs up to `upToMs`. */
interface DurationBucket {
  readonly bucket: number;
  readonly upToMs: number;
  readonly count: number;
}

interface DurationHistogram {
  readonly from: string;
  readonly to: string;
  readonly queue: string | null;
  readonly runTimeMs: Percentiles & { readonly buckets: readonly DurationBucket[] };
}

interface Throughput {
  readonly buckets: readonly ThroughputBucket[];
}

const hourMs = 3_600_000;
/** The buckets are written from the jobs' change stream, not per event: a reload per 5 s is plenty. */
const throttleMs = 5000;
const finishes = (e: FactoryEvent) =>
  e.type === 'job.completed' || e.type === 'job.failed' || e.type === 'job.dead';

const periods = [
  { label: 'last 24 hours', hours: 24 },
  { label: 'last 7 days', hours: 7 * 24 },
  { label: 'last 30 days', hours: 30 * 24 },
] as const;

const hourOf = (iso: string) =>
  new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
const dayOf = (d: Date) => d.toLocaleDateString([], { weekday: 'short', day: 'numeric', month: 'short' });
const hoursOfDay = Array.from({ length: 24 }, (_, h) => `${String(h).padStart(2, '0')}:00`);

/** A bucket's upper bound (domain/histogram.ts: four buckets per power of two), for the empty ones. */
const upperBound = (bucket: number) => Math.round(2 ** (bucket / 4));

const figure = { margin: 0, fontSize: '20px', fontWeight: 600 };

/** Processed = finished: completed or dead, so a job counts once however many attempts it took. */
const processed = (b: ThroughputBucket) => b.completed + b.dead;

export function MetricsPage(props: { readonly params: URLSearchParams }) {
  const queues = useLiveData(
    () => get<QueueInfo[]>('/queues'),
    [],
    () => false,
  );
  const names = (queues.data ?? []).map((q) => q.name);

  // One throughput call per queue, over the same 24 hourly buckets so the series line up.
  const lastDay = useLiveData(
    async () => {
      const to = new Date();
      const from = new Date(Math.floor(to.getTime() / hourMs) * hourMs - 23 * hourMs);
      const perQueue = await Promise.all(
        names.map(async (queue) => {
          const answer = await get<Throughput>(
            `/analytics/throughput${query({
              granularity: 'hour',
              queue,
              from: from.toISOString(),
              to: to.toISOString(),
            })}`,
          );
          return { queue, buckets: answer.buckets };
        }),
      );
      return perQueue;
    },
    [names.join()],
    finishes,
    throttleMs,
  );

  // All queues together, from local midnight six days ago: seven rows of the heatmap.
  const lastWeek = useLiveData(
    async () => {
      const start = new Date();
      start.setHours(0, 0, 0, 0);
      start.setDate(start.getDate() - 6);
      const answer = await get<Throughput>(
        `/analytics/throughput${query({
          granularity: 'hour',
          from: start.toISOString(),
          to: new Date().toISOString(),
        })}`,
      );
      return { start, buckets: answer.buckets };
    },
    [],
    (e) => e.type === 'job.submitted',
    throttleMs,
  );

  const [queue, setQueue] = useState(props.params.get('queue') ?? '');
  const [periodHours, setPeriodHours] = useState<number>(periods[0].hours);
  const histogram = useLiveData(
    () => {
      const to = new Date();
      const from = new Date(to.getTime() - periodHours * hourMs);
      return get<DurationHistogram>(
        `/metrics/job-duration-histogram${query({ queue, from: from.toISOString(), to: to.toISOString() })}`,
      );
    },
    [queue, periodHours],
    // Only a completion records a run time.
    (e) => e.type === 'job.completed' && (!queue || e.queue === queue),
    throttleMs,
  );

  const processedOptions = useMemo<ChartOptions>(() => {
    const series = lastDay.data ?? [];
    const hours = series[0]?.buckets.map((b) => b.bucket) ?? [];
    return {
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', top: 0 },
      grid: { left: 50, right: 20, top: 36, bottom: 30 },
      xAxis: { type: 'category', boundaryGap: false, data: hours.map(hourOf) },
      yAxis: { type: 'value', minInterval: 1, name: 'jobs / hour' },
      series: series.map((s) => {
        const byHour = new Map(s.buckets.map((b) => [b.bucket, processed(b)]));
        return {
          type: 'line',
          name: s.queue,
          showSymbol: false,
          data: hours.map((h) => byHour.get(h) ?? 0),
        };
      }),
    };
  }, [lastDay.data]);

  const outcomeOptions = useMemo<ChartOptions>(() => {
    const totals = (lastDay.data ?? []).map((s) => {
      const sum = (pick: (b: ThroughputBucket) => number) => s.buckets.reduce((n, b) => n + pick(b), 0);
      // `failed` counts every failed attempt, the last one of a dead job included.
      const dead = sum((b) => b.dead);
      return {
        queue: s.queue,
        completed: sum((b) => b.completed),
        retried: sum((b) => b.failed) - dead,
        dead,
      };
    });
    const bar = (name: string, colour: string | undefined, values: number[]) => ({
      type: 'bar',
      name,
      stack: 'outcome',
      itemStyle: { color: colour },
      data: values,
    });
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      legend: { top: 0 },
      grid: { left: 50, right: 20, top: 36, bottom: 50 },
      xAxis: { type: 'category', data: totals.map((t) => t.queue), axisLabel: { rotate: 30 } },
      yAxis: { type: 'value', minInterval: 1, name: 'jobs' },
      series: [
        bar(
          'Succeeded',
          stateColours.ok,
          totals.map((t) => t.completed),
        ),
        bar(
          'Failed, retried',
          stateColours.wait,
          totals.map((t) => Math.max(0, t.retried)),
        ),
        bar(
          'Dead',
          stateColours.bad,
          totals.map((t) => t.dead),
        ),
      ],
    };
  }, [lastDay.data]);

  const heatmap = useMemo(() => {
    const week = lastWeek.data;
    const days: string[] = [];
    const rowOf = new Map<string, number>();
    if (week) {
      for (let i = 0; i < 7; i++) {
        // setDate, not +24 h: a day of a clock change is 23 or 25 hours long.
        const day = new Date(week.start);
        day.setDate(day.getDate() + i);
        rowOf.set(day.toDateString(), i);
        days.push(dayOf(day));
      }
    }
    // Hour of day in the browser's time zone: when the operator's day is busy.
    const cells = new Map<string, number>();
    for (const b of week?.buckets ?? []) {
      const at = new Date(b.bucket);
      const row = rowOf.get(at.toDateString());
      if (row === undefined) continue;
      const key = `${at.getHours()}|${row}`;
      cells.set(key, (cells.get(key) ?? 0) + b.submitted);
    }
    const data = [...cells.entries()].map(([key, value]) => {
      const [hour, row] = key.split('|').map(Number) as [number, number];
      return [hour, row, value];
    });
    const max = Math.max(1, ...data.map((d) => d[2] ?? 0));
    const options: ChartOptions = {
      tooltip: {
        formatter: (p: { value: [number, number, number] }) =>
          `${days[p.value[1]] ?? ''} ${hoursOfDay[p.value[0]] ?? ''}: ${p.value[2]} submitted`,
      },
      grid: { left: 110, right: 20, top: 10, bottom: 70 },
      xAxis: { type: 'category', data: hoursOfDay, splitArea: { show: true } },
      yAxis: { type: 'category', data: days, inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max, orient: 'horizontal', left: 'center', bottom: 0, itemHeight: 160 },
      series: [{ type: 'heatmap', name: 'Submitted', data }],
    };
    const total = data.reduce((n, d) => n + (d[2] ?? 0), 0);
    return { options, total };
  }, [lastWeek.data]);

  const runTimes = histogram.data?.runTimeMs;
  const histogramOptions = useMemo<ChartOptions>(() => {
    const stored = runTimes?.buckets ?? [];
    const first = stored[0]?.bucket ?? 0;
    const last = stored.at(-1)?.bucket ?? -1;
    // The answer lists only buckets with runs: the empty ones between are shown as gaps.
    const counts = new Map(stored.map((b) => [b.bucket, b.count]));
    const bounds = new Map(stored.map((b) => [b.bucket, b.upToMs]));
    const shown = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    return {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      grid: { left: 50, right: 20, top: 20, bottom: 60 },
      xAxis: {
        type: 'category',
        name: 'run time up to',
        nameLocation: 'middle',
        nameGap: 44,
        data: shown.map((b) => (b === 0 ? '< 1 ms' : duration(bounds.get(b) ?? upperBound(b)))),
      },
      yAxis: { type: 'value', minInterval: 1, name: 'jobs' },
      series: [
        {
          type: 'bar',
          name: 'Jobs',
          itemStyle: { color: stateColours.run },
          data: shown.map((b) => counts.get(b) ?? 0),
        },
      ],
    };
  }, [runTimes]);

  const loadError = queues.error ?? lastDay.error;
  return (
    <div class="metrics">
      <section aria-labelledby="metrics-day">
        <h2 id="metrics-day">Last 24 hours by queue</h2>
        {loadError && <p class="error">{loadError}</p>}
        <Chart
          options={processedOptions}
          label="Jobs processed (completed or dead) per hour, one line per queue, over the last 24 hours"
        />
        <Chart
          options={outcomeOptions}
          label="Succeeded, failed and retried, and dead jobs per queue over the last 24 hours"
        />
      </section>

      <section aria-labelledby="metrics-week">
        <h2 id="metrics-week">Submissions by hour of day, last 7 days</h2>
        {lastWeek.error && <p class="error">{lastWeek.error}</p>}
        <Chart
          options={heatmap.options}
          height={300}
          label={`Jobs submitted by day and hour of day over the last 7 days: ${heatmap.total} in all`}
        />
      </section>

      <section aria-labelledby="metrics-durations">
        <h2 id="metrics-durations">Run times</h2>
        <form class="filters" onSubmit={(e) => e.preventDefault()}>
          <label>
            Queue
            <select value={queue} onChange={(e) => setQueue(e.currentTarget.value)}>
              <option value="">all</option>
              {names.map((name) => (
                <option key={name}>{name}</option>
              ))}
              {queue && !names.includes(queue) && <option>{queue}</option>}
            </select>
          </label>
          <label>
            Period
            <select value={periodHours} onChange={(e) => setPeriodHours(Number(e.currentTarget.value))}>
              {periods.map((p) => (
                <option key={p.hours} value={p.hours}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
        </form>
        {histogram.error && <p class="error">{histogram.error}</p>}
        <dl
          class="percentiles"
          aria-label="Run time percentiles"
          style={{ display: 'flex', gap: '24px', margin: '8px 0' }}
        >
          <div data-percentile="count">
            <dt>Runs</dt>
            <dd style={figure}>{runTimes ? runTimes.count : '…'}</dd>
          </div>
          {(['p50', 'p95', 'p99'] as const).map((p) => (
            <div key={p} data-percentile={p}>
              <dt>{p}</dt>
              <dd style={figure}>{runTimes ? duration(runTimes[p]) : '…'}</dd>
            </div>
          ))}
        </dl>
        <p class="muted">
          Percentiles come from the histogram's buckets: each is within about 9% of the exact value.
        </p>
        <Chart
          options={histogramOptions}
          label={`Histogram of run times${queue ? ` on ${queue}` : ''}: ${runTimes?.count ?? 0} runs`}
        />
      </section>
    </div>
  );
}
