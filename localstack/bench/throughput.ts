/**
 * The bench's throughput section: the same no-op jobs through the factory (over its HTTP API,
 * as a client would) and through BullMQ on a Redis of its own, measured the same way.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { CallCounter, pollingActions } from '../cloud/call-counter.ts';
import { freePort } from '../factory-process.ts';

export interface ThroughputRun {
  readonly system: 'factory' | 'bullmq';
  readonly submitPerSecond: number;
  readonly drainPerSecond: number;
  readonly startP50Ms: number;
  readonly startP95Ms: number;
  /** Submit → start of a single job on an idle queue (median of a few). */
  readonly idleStartP50Ms: number;
  readonly memoryMb: number;
  /** The highest RSS the process reached during the run, where the system can tell it. */
  readonly peakMemoryMb?: number;
  readonly memoryOf: string;
  /** Requests answered 429/5xx and retried by the bench (the factory only). */
  readonly retried: number;
  /** Answer times of API reads and writes made while the backlog drained (the factory only). */
  readonly apiP95Ms?: number;
  /** p95 per call: GET /jobs/stats, GET /jobs (a page of 20), POST /jobs. */
  readonly apiP95ByCall?: Readonly<Record<string, number>>;
  readonly apiCalls?: number;
  readonly api5xx?: number;
  /** What a job cost the factory's process (the factory only, where its probe can tell). */
  readonly cost?: JobCost;
  /**
   * The autoscaler's changes to the queue within the drain (the factory only): more worker
   * environments cost CPU on a small machine, so whether a minute's tick met the drain matters.
   */
  readonly scaling?: readonly { readonly afterS: number; readonly from: number; readonly to: number }[];
}

/**
 * The factory process's CPU time per job — every thread (the local cloud's main thread, which
 * serves the data plane, and the Lambda environments' threads), and the main thread's share —
 * in the intake and the drain, and the AWS calls and write units per job over both, the event
 * sources' polling apart (it depends on idle time): the drain's bound on this machine is its
 * cores over the CPU a job costs, or the main thread's one core over its share.
 */
export interface JobCost {
  readonly intakeCpuMs: number;
  readonly intakeMainThreadCpuMs: number;
  readonly drainCpuMs: number;
  readonly drainMainThreadCpuMs: number;
  readonly calls: number;
  readonly callsByAction: Readonly<Record<string, number>>;
  readonly pollingByAction: Readonly<Record<string, number>>;
  readonly writeUnits?: number;
  /**
   * Within the drain as timed (first job created → last job completed; the figures above run
   * until the bench saw every job counted, the stream consumers' trailing work included): CPU
   * per job, the main thread's, and how many of the cores were busy on average.
   */
  readonly timed: { readonly cpuMs: number; readonly mainThreadCpuMs: number; readonly coresBusy: number };
}

type CpuReading = ReturnType<typeof processCpu>;

/** What the bench can read of the factory's process besides its API. */
export interface FactoryProbe {
  readonly memoryOf: string;
  memory(): { rssMb: number; peakMb: number };
  /** CPU time used so far, milliseconds: the whole process and its main thread. */
  cpu?(): CpuReading;
  /** The local cloud's GET /__local/usage. */
  usage?(): Promise<LocalUsage>;
}

/** What the local cloud served (GET /__local/usage): calls by service:action, write units by table. */
export interface LocalUsage {
  readonly calls: Record<string, number>;
  readonly writeUnits?: Record<string, number>;
}

/** A scaling event as GET /workers/scaling-events lists it (the fields the bench reads). */
interface ScalingEventSeen {
  readonly at: string;
  readonly from: number;
  readonly to: number;
  readonly source: string;
}

const noOpJob = (tag: string, i: number) => ({
  queue: 'default',
  type: 'delayed_message',
  payload: { message: `${tag}-${i}` },
});

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The rates and latencies both systems report, from the same raw measurements. */
function figures(run: {
  count: number;
  submitMs: number;
  firstCreated: number;
  lastCompleted: number;
  starts: readonly number[];
  idle: readonly number[];
}) {
  const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
  return {
    submitPerSecond: (run.count / run.submitMs) * 1000,
    drainPerSecond: (run.count / Math.max(1, run.lastCompleted - run.firstCreated)) * 1000,
    startP50Ms: percentile(sorted(run.starts), 0.5),
    startP95Ms: percentile(sorted(run.starts), 0.95),
    idleStartP50Ms: percentile(sorted(run.idle), 0.5),
  };
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly ms: number;
}

/** One API call; 429 and 5xx answers are retried with backoff and counted. */
/** The factory's HTTP API and the key to call it with. */
export interface FactoryEndpoint {
  readonly url: string;
  readonly key: string;
}

async function call(
  api: FactoryEndpoint,
  method: string,
  path: string,
  body: unknown,
  counters: { retried: number },
  headers: Record<string, string> = {},
): Promise<Answer> {
  for (let attempt = 0; ; attempt++) {
    const started = performance.now();
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${api.key}`, ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const ms = performance.now() - started;
    if ((response.status === 429 || response.status >= 500) && attempt < 6) {
      counters.retried++;
      await sleep(200 * 2 ** attempt);
      continue;
    }
    return { status: response.status, body: text ? JSON.parse(text) : undefined, ms };
  }
}

interface JobTimes {
  readonly jobId: string;
  readonly status: string;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly completedAt?: string;
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM), from Linux's /proc. */
export function processMemory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

/**
 * A process's CPU time (user + system) so far, milliseconds, from Linux's /proc: all its threads,
 * and its main thread alone (the task whose id is the process's).
 */
export function processCpu(pid: number): { processMs: number; mainThreadMs: number } {
  const ticksPerSecond = 100; // USER_HZ, 100 on Linux's every architecture Node runs on
  const msOf = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  };
  return {
    processMs: msOf(readFileSync(`/proc/${pid}/stat`, 'utf8')),
    mainThreadMs: msOf(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8')),
  };
}

/**
 * The factory's run: `api` is an `npm start` of its own (bench.ts starts one per round), which
 * `probe` reads: its memory once the jobs are done (as redis-server's is read for BullMQ), and
 * its CPU time and AWS calls around the intake and the drain.
 */
export async function factoryRun(
  api: FactoryEndpoint,
  count: number,
  log: (line: string) => void,
  probe: FactoryProbe,
): Promise<ThroughputRun> {
  const counters = { retried: 0 };
  const tag = `bench-${Date.now().toString(36)}`;

  // Idle start latency: single jobs, one after the other, on a queue with nothing else to do.
  const idle: number[] = [];
  for (let i = 0; i < 10; i++) {
    const { body } = await call(api, 'POST', '/jobs', noOpJob(`${tag}-idle`, i), counters);
    const { jobId } = body as { jobId: string };
    for (;;) {
      const job = (await call(api, 'GET', `/jobs/${jobId}`, undefined, counters)).body as JobTimes;
      if (job.status === 'COMPLETED' && job.startedAt) {
        idle.push(Date.parse(job.startedAt) - Date.parse(job.createdAt));
        break;
      }
      await sleep(20);
    }
  }
  idle.sort((a, b) => a - b);

  const completedBefore = await completedCount(api, counters);
  const ids: string[] = [];
  // Without a reading (an older local cloud, a probe that failed), no cost lines: the rates stand.
  const usageBefore = await probe.usage?.().catch(() => undefined);
  // CPU readings through the run, each with its time, to read the CPU at the drain's ends.
  const readings: TimedReading[] = [];
  const read = () => {
    const reading = probe.cpu?.();
    if (reading) readings.push({ at: Date.now(), ...reading });
    return reading;
  };
  const cpuBefore = read();
  const submitStarted = performance.now();
  const chunks = Array.from({ length: Math.ceil(count / 500) }, (_, c) =>
    Array.from({ length: Math.min(500, count - c * 500) }, (_, i) => noOpJob(tag, c * 500 + i)),
  );
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < chunks.length) {
        const n = next++;
        const jobs = chunks[n] as unknown[];
        // Keyed per chunk, as the typed client and the CLI send them: a retried 5xx stores
        // nothing twice, and the intake measured is the one users get.
        const answer = await call(api, 'POST', '/jobs/bulk', { jobs }, counters, {
          'idempotency-key': `${tag}-${n}`,
        });
        if (answer.status !== 202)
          throw new Error(`POST /jobs/bulk answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        for (const job of (answer.body as { jobs: { jobId: string }[] }).jobs) ids.push(job.jobId);
      }
    }),
  );
  const submitMs = performance.now() - submitStarted;
  const cpuSubmitted = read();
  log(`bench: factory accepted ${count} jobs in ${(submitMs / 1000).toFixed(1)} s`);

  // While the backlog drains: the stats read the bench waits on, a listing and a submission,
  // timed, as an operator's console and a client would make them.
  const apiTimes: number[] = [];
  const byCall: Record<string, number[]> = { stats: [], listing: [], submit: [] };
  let api5xx = 0;
  let probes = 0;
  let lastProgress = Date.now();
  let lastDone = 0;
  let nextLog = Date.now() + 10_000;
  for (;;) {
    const stats = await call(api, 'GET', '/jobs/stats?queue=default', undefined, counters);
    const listing = await call(api, 'GET', '/jobs?queue=default&limit=20', undefined, counters);
    const submit = await call(api, 'POST', '/jobs', noOpJob(`${tag}-probe`, probes), counters);
    probes++;
    for (const [name, answer] of Object.entries({ stats, listing, submit })) {
      apiTimes.push(answer.ms);
      byCall[name]?.push(answer.ms);
      if (answer.status >= 500) api5xx++;
    }
    read();
    const done = ((stats.body as { completed?: number }).completed ?? 0) - completedBefore;
    // The probe just submitted may still be running; the ones before it count.
    if (done >= count + probes - 1) break;
    if (done > lastDone) {
      lastDone = done;
      lastProgress = Date.now();
    }
    if (Date.now() > nextLog) {
      log(`bench: factory ${Math.min(done, count)}/${count} drained`);
      nextLog = Date.now() + 10_000;
    }
    if (Date.now() - lastProgress > 120_000)
      throw new Error(`the factory stopped draining at ${done}/${count} jobs for 2 minutes`);
    await sleep(1000);
  }

  const cpuDrained = read();
  const usageDrained = await probe.usage?.().catch(() => undefined);
  const { rssMb, peakMb } = probe.memory();
  const times = await jobTimes(api, new Set(ids), counters);
  const starts = times.map((t) => Date.parse(t.startedAt ?? t.createdAt) - Date.parse(t.createdAt));
  starts.sort((a, b) => a - b);
  const firstCreated = Math.min(...times.map((t) => Date.parse(t.createdAt)));
  const lastCompleted = Math.max(...times.map((t) => Date.parse(t.completedAt ?? t.createdAt)));
  apiTimes.sort((a, b) => a - b);
  const scalingEvents = await call(
    api,
    'GET',
    '/workers/scaling-events?queue=default&limit=20',
    undefined,
    counters,
  );
  const scaling = ((scalingEvents.body as { events?: ScalingEventSeen[] }).events ?? [])
    .filter((e) => e.source === 'autoscaler')
    .map((e) => ({ afterS: (Date.parse(e.at) - firstCreated) / 1000, from: e.from, to: e.to }))
    .filter((e) => e.afterS >= 0 && e.afterS * 1000 <= lastCompleted - firstCreated)
    .sort((a, b) => a.afterS - b.afterS);
  return {
    system: 'factory',
    ...figures({ count, submitMs, firstCreated, lastCompleted, starts, idle }),
    memoryMb: rssMb,
    peakMemoryMb: peakMb,
    memoryOf: probe.memoryOf,
    retried: counters.retried,
    apiP95Ms: percentile(apiTimes, 0.95),
    apiP95ByCall: Object.fromEntries(
      Object.entries(byCall).map(([name, times]) => [
        name,
        percentile(
          [...times].sort((a, b) => a - b),
          0.95,
        ),
      ]),
    ),
    apiCalls: apiTimes.length,
    api5xx,
    ...(scalingEvents.status === 200 ? { scaling } : {}),
    ...(cpuBefore && cpuSubmitted && cpuDrained && usageBefore && usageDrained
      ? {
          cost: {
            ...jobCost(count, [cpuBefore, cpuSubmitted, cpuDrained], [usageBefore, usageDrained]),
            timed: timedCost(count, readings, firstCreated, lastCompleted),
          },
        }
      : {}),
  };
}

export type TimedReading = CpuReading & { readonly at: number };

/** The CPU readings at a time, interpolated between the two around it (clamped to the first and last). */
function readingAt(readings: readonly TimedReading[], at: number): CpuReading {
  const after = readings.findIndex((r) => r.at >= at);
  const last = readings[readings.length - 1] as TimedReading;
  if (after < 0) return last;
  const b = readings[after] as TimedReading;
  const a = readings[after - 1];
  if (!a || b.at === a.at) return b;
  const share = (at - a.at) / (b.at - a.at);
  return {
    processMs: a.processMs + share * (b.processMs - a.processMs),
    mainThreadMs: a.mainThreadMs + share * (b.mainThreadMs - a.mainThreadMs),
  };
}

export function timedCost(
  count: number,
  readings: readonly TimedReading[],
  from: number,
  to: number,
): JobCost['timed'] {
  const start = readingAt(readings, from);
  const end = readingAt(readings, to);
  const cpuMs = end.processMs - start.processMs;
  return {
    cpuMs: cpuMs / count,
    mainThreadCpuMs: (end.mainThreadMs - start.mainThreadMs) / count,
    coresBusy: cpuMs / Math.max(1, to - from),
  };
}

function jobCost(
  count: number,
  [before, submitted, drained]: readonly [CpuReading, CpuReading, CpuReading],
  [usageBefore, usageDrained]: readonly [LocalUsage, LocalUsage],
): Omit<JobCost, 'timed'> {
  const served = CallCounter.difference(usageDrained.calls, usageBefore.calls);
  const units =
    usageDrained.writeUnits && usageBefore.writeUnits
      ? CallCounter.difference(usageDrained.writeUnits, usageBefore.writeUnits)
      : undefined;
  const perJob = (n: number) => n / count;
  const perJobOf = (entries: [string, number][]) =>
    Object.fromEntries(entries.map(([action, n]) => [action, perJob(n)]));
  const work = Object.entries(served).filter(([action]) => !pollingActions.has(action));
  return {
    intakeCpuMs: perJob(submitted.processMs - before.processMs),
    intakeMainThreadCpuMs: perJob(submitted.mainThreadMs - before.mainThreadMs),
    drainCpuMs: perJob(drained.processMs - submitted.processMs),
    drainMainThreadCpuMs: perJob(drained.mainThreadMs - submitted.mainThreadMs),
    calls: perJob(work.reduce((sum, [, n]) => sum + n, 0)),
    callsByAction: perJobOf(work),
    pollingByAction: perJobOf(Object.entries(served).filter(([action]) => pollingActions.has(action))),
    ...(units ? { writeUnits: perJob(Object.values(units).reduce((a, b) => a + b, 0)) } : {}),
  };
}

async function completedCount(api: FactoryEndpoint, counters: { retried: number }): Promise<number> {
  const stats = await call(api, 'GET', '/jobs/stats?queue=default', undefined, counters);
  return (stats.body as { completed: number }).completed;
}

/** The run's jobs from GET /jobs (newest first), until every id is found. */
async function jobTimes(
  api: FactoryEndpoint,
  ids: ReadonlySet<string>,
  counters: { retried: number },
): Promise<JobTimes[]> {
  const found: JobTimes[] = [];
  let cursor: string | undefined;
  do {
    const page = (
      await call(
        api,
        'GET',
        `/jobs?queue=default&status=COMPLETED&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        undefined,
        counters,
      )
    ).body as { jobs: JobTimes[]; nextCursor?: string };
    for (const job of page.jobs) if (ids.has(job.jobId)) found.push(job);
    cursor = page.nextCursor;
  } while (cursor && found.length < ids.size);
  return found;
}

function redisAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The same no-op jobs through BullMQ; a string says why it did not run. */
export async function bullmqRun(count: number, log: (line: string) => void): Promise<ThroughputRun | string> {
  if (!redisAvailable()) return 'not run: redis-server is not installed (apt-get install redis-server)';
  const concurrency = Number(process.env.BENCH_BULLMQ_CONCURRENCY ?? 4);
  const { Queue, Worker } = await import('bullmq');
  const { Redis } = await import('ioredis');
  const port = await freePort();
  const redis: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'],
    { stdio: 'ignore' },
  );
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  const probe = new Redis(connection);
  // Refused connections until redis-server listens: ioredis reconnects by itself.
  probe.on('error', () => undefined);
  try {
    await probe.ping();
    const queue = new Queue('bench', { connection });
    const finished: { start: number; finished: number }[] = [];
    let onFinished: (() => void) | undefined;
    const worker = new Worker(
      'bench',
      async () => {
        // a no-op job, as delayed_message with no hold is for the factory
      },
      { connection, concurrency },
    );
    worker.on('completed', (job) => {
      finished.push({
        start: (job.processedOn ?? 0) - job.timestamp,
        finished: job.finishedOn ?? Date.now(),
      });
      onFinished?.();
    });
    await worker.waitUntilReady();

    const idle: number[] = [];
    for (let i = 0; i < 10; i++) {
      const done = new Promise<void>((resolve) => {
        onFinished = resolve;
      });
      await queue.add('noop', { message: `idle-${i}` });
      await done;
      idle.push(finished.pop()?.start ?? Number.NaN);
    }
    onFinished = undefined;
    idle.sort((a, b) => a - b);

    const allDone = new Promise<void>((resolve) => {
      onFinished = () => {
        if (finished.length >= count) resolve();
      };
    });
    const submitStarted = performance.now();
    const firstCreated = Date.now();
    for (let c = 0; c < count; c += 500) {
      const size = Math.min(500, count - c);
      await queue.addBulk(
        Array.from({ length: size }, (_, i) => ({ name: 'noop', data: { message: `bench-${c + i}` } })),
      );
    }
    const submitMs = performance.now() - submitStarted;
    log(`bench: BullMQ accepted ${count} jobs in ${(submitMs / 1000).toFixed(1)} s`);
    await allDone;
    const lastCompleted = Math.max(...finished.map((f) => f.finished));
    const starts = finished.map((f) => f.start).sort((a, b) => a - b);
    const info = await probe.info('memory');
    const rss = Number(/used_memory_rss:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    await worker.close();
    await queue.close();
    return {
      system: 'bullmq',
      ...figures({ count, submitMs, firstCreated, lastCompleted, starts, idle }),
      memoryMb: rss / 2 ** 20,
      memoryOf: `redis-server RSS, worker concurrency ${concurrency}`,
      retried: 0,
    };
  } finally {
    probe.disconnect();
    redis.kill('SIGTERM');
  }
}

const median = (values: readonly number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    0.5,
  );

export function throughputTable(
  count: number,
  factory: readonly ThroughputRun[],
  bullmq: readonly (ThroughputRun | string)[],
): string[] {
  const ran = bullmq.filter((r): r is ThroughputRun => typeof r !== 'string');
  const summary = (runs: readonly ThroughputRun[]) => ({
    submit: median(runs.map((r) => r.submitPerSecond)),
    drain: median(runs.map((r) => r.drainPerSecond)),
    p50: median(runs.map((r) => r.startP50Ms)),
    p95: median(runs.map((r) => r.startP95Ms)),
    idle: median(runs.map((r) => r.idleStartP50Ms)),
    memory: median(runs.map((r) => r.memoryMb)),
    peak: median(runs.map((r) => r.peakMemoryMb ?? Number.NaN)),
  });
  const f = summary(factory);
  const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '—');
  const row = (name: string, s: ReturnType<typeof summary>, memoryOf: string) =>
    `  | ${name.padEnd(8)} | ${fmt(s.submit).padStart(9)} | ${fmt(s.drain, 1).padStart(8)} | ${fmt(s.p50).padStart(9)} | ${fmt(s.p95).padStart(9)} | ${fmt(s.idle).padStart(8)} | ${fmt(s.memory).padStart(6)} MB (${memoryOf}${Number.isFinite(s.peak) ? `; peak ${fmt(s.peak)} MB` : ''}) |`;
  const lines = [
    `throughput: ${count} no-op jobs (delayed_message, no hold), ${factory.length} round(s), medians`,
    '  | system   | submit/s  | drain/s  | start p50 | start p95 | idle p50 | memory |',
    '  |---|---|---|---|---|---|---|',
    row('factory', f, factory[0]?.memoryOf ?? ''),
  ];
  if (ran.length > 0) {
    const b = summary(ran);
    lines.push(row('BullMQ', b, ran[0]?.memoryOf ?? ''));
    lines.push(
      `  factory / BullMQ: submit ${fmt(f.submit / b.submit, 3)}×, drain ${fmt(f.drain / b.drain, 3)}×, idle start latency ${fmt(f.idle / b.idle, 1)}×`,
    );
  } else {
    lines.push(`  BullMQ: ${bullmq[0] ?? 'not run'}`);
  }
  const retried = factory.reduce((sum, r) => sum + r.retried, 0);
  const api = factory[0];
  lines.push(
    `  factory API during the backlog: ${api?.apiCalls ?? 0} calls (stats, listing, submit), p95 ${fmt(api?.apiP95Ms ?? Number.NaN)} ms (${Object.entries(
      api?.apiP95ByCall ?? {},
    )
      .map(([name, ms]) => `${name} ${fmt(ms)}`)
      .join(', ')}), ${api?.api5xx ?? 0} × 5xx; ${retried} answers 429/5xx retried by the bench`,
  );
  const scaled = factory.map((r, i) =>
    r.scaling === undefined
      ? `round ${i + 1} unknown`
      : `round ${i + 1} ${r.scaling.map((e) => `${e.from} → ${e.to} at +${fmt(e.afterS)} s`).join(', ') || 'none'}`,
  );
  lines.push(`  autoscaler within the drain (default queue's workers): ${scaled.join('; ')}`);
  lines.push(...costLines(factory, fmt));
  return lines;
}

/**
 * What a job cost the factory's process, median of the rounds, and its AWS calls. Within the drain
 * as timed, the CPU a job took sets the drain's bound at full use of the cores — or of the main
 * thread's one core, should its share bind first (it serves every AWS call alone).
 */
function costLines(factory: readonly ThroughputRun[], fmt: (n: number, digits?: number) => string): string[] {
  const costs = factory.flatMap((r) => (r.cost ? [r.cost] : []));
  if (costs.length === 0) return [];
  const of = (pick: (c: JobCost) => number) => median(costs.map(pick));
  const cores = availableParallelism();
  const timedMs = of((c) => c.timed.cpuMs);
  const timedMainMs = of((c) => c.timed.mainThreadCpuMs);
  const coresBusy = of((c) => c.timed.coresBusy);
  const byCores = (cores * 1000) / timedMs;
  const byMainThread = 1000 / timedMainMs;
  const perAction = (pick: (c: JobCost) => Readonly<Record<string, number>>) =>
    [...new Set(costs.flatMap((c) => Object.keys(pick(c))))]
      .map((action) => [action, of((c) => pick(c)[action] ?? 0)] as const)
      .filter(([, n]) => n >= 0.01)
      .sort(([, a], [, b]) => b - a)
      .map(([action, n]) => `${action} ${fmt(n, 2)}`);
  const writeUnits = costs.every((c) => c.writeUnits !== undefined)
    ? of((c) => c.writeUnits ?? 0)
    : undefined;
  const units = writeUnits === undefined ? '' : `, ${fmt(writeUnits, 1)} write units`;
  const polling = perAction((c) => c.pollingByAction);
  const intakeMs = of((c) => c.intakeCpuMs);
  const drainMs = of((c) => c.drainCpuMs);
  const mainMs = of((c) => c.intakeMainThreadCpuMs + c.drainMainThreadCpuMs);
  const calls = of((c) => c.calls);
  const verdict = byCores <= byMainThread ? 'the cores bind' : 'the main thread binds';
  return [
    `  factory CPU per job (every thread of \`npm start\`), until every job was counted: ` +
      `intake ${fmt(intakeMs, 2)} ms, drain ${fmt(drainMs, 2)} ms, the main thread ${fmt(mainMs, 2)} ms of them`,
    `  the drain as timed: ${fmt(timedMs, 2)} ms of CPU a job (the main thread ${fmt(timedMainMs, 2)} ms), ` +
      `${fmt(coresBusy, 2)} of ${cores} cores busy; at full use ${fmt(byCores)} jobs/s by the cores, ` +
      `${fmt(byMainThread)} by the main thread's core: ${verdict}`,
    `  factory AWS calls per job, intake to drained (the bench's own API probes included): ` +
      `${fmt(calls, 2)}${units} (${perAction((c) => c.callsByAction).join(', ')})` +
      (polling.length > 0 ? `; event source polling apart: ${polling.join(', ')}` : ''),
  ];
}
