import * as z from 'zod';
import { defineJobType } from './job-type.ts';

const isoDate = z.iso.datetime({ offset: true }).or(z.iso.date());

interface Tally {
  finished: number;
  completed: number;
  dead: number;
  cancelled: number;
  runMs: number[];
  attempts: number;
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0
    ? null
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null);

/** Seed 002's request, `{report_type, date_range: {start, end}, user_id}`, in this type's terms. */
function seedShape(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const { report_type, date_range, user_id, ...rest } = raw as Record<string, unknown>;
  if (report_type === undefined && date_range === undefined && user_id === undefined) return raw;
  const range = (date_range ?? {}) as Record<string, unknown>;
  return {
    ...rest,
    ...(report_type !== undefined
      ? { reportType: report_type, title: rest.title ?? `${report_type} report` }
      : {}),
    ...(user_id !== undefined ? { requestedBy: user_id } : {}),
    ...(range.start !== undefined ? { from: range.start } : {}),
    ...(range.end !== undefined ? { to: range.end } : {}),
  };
}

/**
 * A sales and operations report over a date range, computed from the jobs data: robots shipped
 * per robot type (completed packaging steps), and per queue and job type the finished jobs,
 * success rate, retries and run-time percentiles. Stored as JSON (GET /jobs/{id}/output).
 */
export const generateReport = defineJobType({
  name: 'generate_report',
  description: 'Sales/operations report over [from, to) from the jobs data; stored as JSON.',
  payload: z.preprocess(
    seedShape,
    z
      .object({
        title: z.string().min(1).max(200).default('Factory report'),
        reportType: z.string().min(1).max(64).optional(),
        requestedBy: z.string().min(1).max(128).optional(),
        from: isoDate,
        to: isoDate,
      })
      .strict()
      .refine((p) => Date.parse(p.from) < Date.parse(p.to), {
        message: '`from` must be before `to`',
        path: ['to'],
      }),
  ),
  defaults: { maxAttempts: 3, timeoutMs: 300_000 },
  async run(payload, context) {
    const from = new Date(payload.from).toISOString();
    const to = new Date(payload.to).toISOString();
    const byQueueType = new Map<string, Tally>();
    const robotsShipped: Record<string, number> = {};
    let scanned = 0;
    // Phases: the scan (its length is not known ahead, so it reports the count), the tables, storing.
    context.progress(5, `scanning the jobs finished between ${from} and ${to}`);
    for await (const job of context.jobsData.finishedBetween(from, to)) {
      if (context.signal.aborted) throw new Error('Report aborted');
      scanned++;
      if (scanned % 500 === 0) context.progress(5, `${scanned} finished jobs scanned`);
      const key = `${job.queue}\u0000${job.type}`;
      const tally = byQueueType.get(key) ?? {
        finished: 0,
        completed: 0,
        dead: 0,
        cancelled: 0,
        runMs: [],
        attempts: 0,
      };
      tally.finished++;
      tally.attempts += job.attempts;
      if (job.status === 'COMPLETED') {
        tally.completed++;
        if (job.startedAt && job.completedAt)
          tally.runMs.push(Date.parse(job.completedAt) - Date.parse(job.startedAt));
        if (job.kind === 'step' && job.type === 'package_robot' && job.robotType) {
          robotsShipped[job.robotType] = (robotsShipped[job.robotType] ?? 0) + 1;
        }
      } else if (job.status === 'DEAD') tally.dead++;
      else if (job.status === 'CANCELLED') tally.cancelled++;
      byQueueType.set(key, tally);
    }
    context.progress(
      70,
      `${scanned} finished jobs scanned; tabulating ${byQueueType.size} queue and type pairs`,
    );
    const rows = [...byQueueType.entries()]
      .map(([key, t]) => {
        const [queue, type] = key.split('\u0000');
        const sorted = [...t.runMs].sort((a, b) => a - b);
        return {
          queue,
          type,
          finished: t.finished,
          completed: t.completed,
          dead: t.dead,
          cancelled: t.cancelled,
          successRate: t.finished ? Number((t.completed / t.finished).toFixed(4)) : null,
          retries: t.attempts - t.finished,
          runMs: { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted.at(-1) ?? null },
        };
      })
      .sort((a, b) => `${a.queue}/${a.type}`.localeCompare(`${b.queue}/${b.type}`));
    const totals = rows.reduce(
      (sum, r) => ({
        finished: sum.finished + r.finished,
        completed: sum.completed + r.completed,
        dead: sum.dead + r.dead,
        cancelled: sum.cancelled + r.cancelled,
      }),
      { finished: 0, completed: 0, dead: 0, cancelled: 0 },
    );
    const report = {
      title: payload.title,
      ...(payload.reportType ? { reportType: payload.reportType } : {}),
      ...(payload.requestedBy ? { requestedBy: payload.requestedBy } : {}),
      from,
      to,
      generatedAt: context.now().toISOString(),
      sales: { robotsShipped, totalRobotsShipped: Object.values(robotsShipped).reduce((a, b) => a + b, 0) },
      totals: {
        ...totals,
        successRate: totals.finished ? Number((totals.completed / totals.finished).toFixed(4)) : null,
      },
      byQueueAndType: rows,
    };
    context.progress(90, 'storing the report');
    const stored = await context.artifacts.put(
      `reports/${context.jobId}.json`,
      Buffer.from(JSON.stringify(report, null, 2)),
      'application/json',
    );
    context.progress(100, `stored as ${stored.key}`);
    await context.log('INFO', `Report over ${scanned} finished jobs stored as ${stored.key}`);
    return { artifactKey: stored.key, sales: report.sales, totals: report.totals, rows: rows.length };
  },
});
