/**
 * `npm run bench`: the cost model's input and the throughput figures, section by section. Each
 * section prints as soon as it finishes; a failing section is reported and the next one runs.
 * - orders: BENCH_ORDERS (default 10) orders per robot type — AWS calls and state transitions per
 *   order and per step;
 * - calls per standalone job: BENCH_JOBS (default 500) jobs in one batch;
 * - throughput beside BullMQ: BENCH_THROUGHPUT_JOBS (default 5,000) no-op jobs through
 *   `POST /jobs/bulk` of a fresh `npm start` in a process of its own, then the same jobs through BullMQ on a Redis of its own when
 *   `redis-server` is installed (BENCH_ROUNDS rounds, interleaved): submit/s, drain/s, start
 *   latency, memory, and the API's answer times during the backlog;
 * - analytics: GET /analytics/throughput latency with 1k and then 100k jobs recorded.
 * - events: BENCH_EVENT_JOBS (default 100) jobs, 5 every 300 ms: state change → frame on a
 *   subscribed WebSocket, p50/p95 per event type.
 * - intelligence: the adaptive retry policy against exponential backoff on a generated workload
 *   with known ground truth (BENCH_RETRY_JOBS, default 5,000), simulated time; the failure
 *   model's held-out accuracy, AUC and calibration on a generated month of history (30 days ×
 *   BENCH_PREDICTION_PER_DAY, default 300) against the majority-class baseline.
 * - bundles: each function's minified bundle and its cold start (a fresh execution environment
 *   importing it, median of BENCH_INIT_ROUNDS, default 3), against 250 KB and 150 ms.
 * BENCH_SECTIONS=orders,jobs,emulator,throughput,analytics,events,intelligence,bundles picks sections.
 */
import './cloud/quiet-sdk.ts';
import { transitionsPerOrder } from '../functions/domain/assembly-plan.ts';
import { robotTypes } from '../functions/domain/catalog.ts';
import { bundleSizes, initTimes, newestAssembly } from './bench/bundles.ts';
import { emulatorRates } from './bench/emulator-rates.ts';
import { eventLatency } from './bench/event-latency.ts';
import { predictionTable, predictionWorkload } from './bench/prediction-workload.ts';
import { compareRetryPolicies, retryComparisonTable } from './bench/retry-workload.ts';
import {
  bullmqRun,
  factoryRun,
  type LocalUsage,
  processCpu,
  processMemory,
  type ThroughputRun,
  throughputTable,
} from './bench/throughput.ts';
import { CallCounter, pollingActions } from './cloud/call-counter.ts';
import { startLocalCloud } from './cloud/local-cloud.ts';
import { startFactoryProcess } from './factory-process.ts';

const ordersPerType = Number(process.env.BENCH_ORDERS ?? 10);
const specifications: Record<string, unknown> = {
  welder: { reachMm: 1800, payloadKg: 12, weldingProcess: 'mig' },
  courier: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
  companion: { heightCm: 60, personality: 'calm', language: 'en' },
};
const log = (line: string) => process.stderr.write(`${line}\n`);
// Fresh data every run: a leftover backlog would be measured too.
const cloud = await startLocalCloud({ apiPort: 0, edgePort: 0, workDir: '.local/bench', fresh: true, log });
log(`local cloud ready in ${cloud.bootMs} ms; ${ordersPerType} orders per robot type`);
const adminKey = cloud.keys.credentials.admin as string;
const auth = { authorization: `Bearer ${adminKey}` };

async function runOrders(robotType: string): Promise<number> {
  const started = Date.now();
  const ids = await Promise.all(
    Array.from({ length: ordersPerType }, async () => {
      const response = await fetch(`${cloud.apiUrl}/orders`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          customerId: 'bench',
          robotType,
          specifications: specifications[robotType],
          simulate: { stepDurationMs: 10 },
        }),
      });
      return ((await response.json()) as { orderId: string }).orderId;
    }),
  );
  // Waits on the executions in process, so that no status polling adds calls to the count.
  const pending = new Set(ids);
  while (pending.size > 0) {
    for (const execution of cloud.stepFunctions?.listExecutionRecords() ?? []) {
      if (!pending.has(execution.name) || execution.status === 'RUNNING') continue;
      if (execution.status !== 'SUCCEEDED')
        throw new Error(`bench order ${execution.name} ended ${execution.status}`);
      pending.delete(execution.name);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

const sections = new Set(
  (process.env.BENCH_SECTIONS ?? 'orders,jobs,emulator,throughput,analytics,events,intelligence,bundles')
    .split(',')
    .map((s) => s.trim()),
);
let failedSections = 0;
/** The emulator section's rates, which the throughput section relates the drain to. */
let rates: Awaited<ReturnType<typeof emulatorRates>> | undefined;
/** DynamoDB calls per standalone job, from the jobs section: with `rates`, the drain's bound. */
let dynamoCallsPerJob: number | undefined;

/** Runs one section and prints it at once; a failure is printed and the next section runs. */
async function section(name: string, run: () => Promise<string[]>): Promise<void> {
  if (!sections.has(name)) return;
  const started = Date.now();
  log(`bench: ${name}…`);
  try {
    const lines = await run();
    console.log(['', ...lines].join('\n'));
    log(`bench: ${name} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failedSections++;
    console.log(`\n${name}: FAILED after ${Date.now() - started} ms — ${(error as Error).stack ?? error}`);
  }
}

console.log(`Robot Factory bench (${cloud.backend} backend)`);
try {
  await section('orders', benchOrders);
  await section('jobs', benchStandaloneJobs);
  await section('emulator', benchEmulator);
  await section('throughput', benchThroughput);
  await section('analytics', benchAnalytics);
  await section('events', () =>
    eventLatency({ url: cloud.apiUrl, key: adminKey }, Number(process.env.BENCH_EVENT_JOBS ?? 100), log),
  );
  await section('intelligence', benchIntelligence);
  await section('bundles', async () => {
    const assembly = newestAssembly();
    return [
      ...(await bundleSizes(assembly)),
      '',
      ...(await initTimes(assembly, { rounds: Number(process.env.BENCH_INIT_ROUNDS ?? 3) })),
    ];
  });
} finally {
  await cloud.stop();
}
if (failedSections > 0) {
  console.log(`\n${failedSections} section(s) failed`);
  process.exitCode = 1;
}

async function benchOrders(): Promise<string[]> {
  const rows: string[] = [];
  for (const robotType of robotTypes) {
    const before = cloud.calls.snapshot();
    const unitsBefore = cloud.writeUnits?.snapshot() ?? {};
    const executionsBefore = cloud.stepFunctions?.listExecutionRecords().length ?? 0;
    const elapsed = await runOrders(robotType.name);
    const calls = CallCounter.difference(cloud.calls.snapshot(), before);
    const executions = cloud.stepFunctions?.listExecutionRecords().slice(executionsBefore) ?? [];
    const transitions =
      executions.reduce((sum, e) => sum + e.transitions, 0) / Math.max(1, executions.length);
    const steps = robotType.steps.length;
    const work = Object.entries(calls).filter(([action]) => !pollingActions.has(action));
    const total = work.reduce((sum, [, n]) => sum + n, 0);
    if (rows.length > 0) rows.push('');
    rows.push(`${robotType.name}: ${steps} steps, ${ordersPerType} orders in ${elapsed} ms`);
    rows.push(
      `  state transitions per order: ${transitions.toFixed(1)} measured, ${transitionsPerOrder(robotType).happyPath} expected`,
    );
    rows.push(
      `  AWS calls per order: ${(total / ordersPerType).toFixed(1)} (${(total / ordersPerType / steps).toFixed(1)} per step)`,
    );
    for (const [action, n] of work.sort(([a], [b]) => a.localeCompare(b))) {
      rows.push(
        `    ${action.padEnd(40)} ${(n / ordersPerType).toFixed(2).padStart(7)} per order ${(n / ordersPerType / steps).toFixed(2).padStart(7)} per step`,
      );
    }
    const polls = Object.entries(calls).filter(([action]) => pollingActions.has(action));
    for (const [action, n] of polls)
      rows.push(`    ${action.padEnd(40)} ${n} in the run (event source polling; depends on idle time)`);
    if (cloud.writeUnits)
      rows.push(
        ...writeUnitLines(
          CallCounter.difference(cloud.writeUnits.snapshot(), unitsBefore),
          ordersPerType,
          'order',
        ),
      );
  }
  return rows;
}

/** The data plane's own rates: what bounds a drain that costs ~9 calls per job. */
async function benchEmulator(): Promise<string[]> {
  const jobsTable = cloud.stack.tables.find((t) => /JobsTable|Jobs[A-F0-9]{8}$/.test(t));
  if (!jobsTable) throw new Error(`no jobs table among ${cloud.stack.tables.join(', ')}`);
  rates = await emulatorRates(cloud.edgeUrl, jobsTable);
  return [
    `emulator (${cloud.backend}) raw rates through the edge, SDK clients in the bench process:`,
    `  DynamoDB conditional PutItem on the jobs table, 16 at a time: ${rates.dynamoPutsPerSecond.toFixed(0)}/s`,
    `  SQS send (batches of 10) + receive (10) + delete (batches of 10): ${rates.sqsMessagesPerSecond.toFixed(0)} messages/s`,
  ];
}

/**
 * The factory and BullMQ, the same no-op jobs, interleaved so that a machine that slows down
 * during the run slows both.
 */
async function benchThroughput(): Promise<string[]> {
  const count = Number(process.env.BENCH_THROUGHPUT_JOBS ?? 5000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const factory: ThroughputRun[] = [];
  const bullmq: (ThroughputRun | string)[] = [];
  for (let round = 1; round <= rounds; round++) {
    // `npm start` of its own, fresh, as a user runs it: its memory is the factory's alone (not
    // the bench's, nor what the sections before left), as redis-server's is BullMQ's.
    log(`bench: starting a fresh \`npm start\` for round ${round}…`);
    const factoryProcess = await startFactoryProcess({ dir: '.local/bench-throughput', fresh: true });
    try {
      const key = factoryProcess.keys.admin as string;
      factory.push(
        await factoryRun({ url: factoryProcess.apiUrl, key }, count, log, {
          memoryOf: '`npm start` process RSS once drained',
          memory: () => processMemory(factoryProcess.pid),
          cpu: () => processCpu(factoryProcess.pid),
          usage: async () =>
            (await (await fetch(`${factoryProcess.edgeUrl}/__local/usage`)).json()) as LocalUsage,
        }),
      );
    } finally {
      await factoryProcess.kill();
    }
    bullmq.push(await bullmqRun(count, log));
  }
  const lines = throughputTable(count, factory, bullmq);
  const drain = factory.map((r) => r.drainPerSecond).sort((a, b) => a - b)[Math.floor(factory.length / 2)];
  if (rates && dynamoCallsPerJob && drain) {
    // The local DynamoDB's own ceiling for this workload: its conditional write rate over the
    // DynamoDB calls a job makes (the other calls and the functions' own work come on top).
    const bound = rates.dynamoPutsPerSecond / dynamoCallsPerJob;
    lines.push(
      `  drain against the local DynamoDB's bound: ${rates.dynamoPutsPerSecond.toFixed(0)} writes/s ÷ ${dynamoCallsPerJob.toFixed(1)} DynamoDB calls per job = ${bound.toFixed(0)} jobs/s; the drain is ${((drain / bound) * 100).toFixed(0)} % of it`,
    );
  }
  return lines;
}

/**
 * One batch of standalone jobs (POST /job-batches, the bulk intake path plus a batch row), waited
 * for through GET /job-batches/{id}. The waiting polls' own calls are measured and subtracted.
 */
async function benchStandaloneJobs(): Promise<string[]> {
  const count = Number(process.env.BENCH_JOBS ?? 500);
  const jobs = Array.from({ length: count }, (_, i) => ({
    queue: 'default',
    type: 'delayed_message',
    priority: [0, 5, 9][i % 3],
    payload: { message: `bench-${i}` },
  }));
  const before = cloud.calls.snapshot();
  const unitsBefore = cloud.writeUnits?.snapshot() ?? {};
  const started = Date.now();
  const response = await fetch(`${cloud.apiUrl}/job-batches`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ name: 'bench', jobs }),
  });
  const intakeMs = Date.now() - started;
  if (response.status !== 202)
    throw new Error(`bench batch rejected: ${response.status} ${await response.text()}`);
  const { batchId } = (await response.json()) as { batchId: string };
  const poll = async () =>
    (await (await fetch(`${cloud.apiUrl}/job-batches/${batchId}`, { headers: auth })).json()) as {
      finished: boolean;
      completed: number;
    };
  let polls = 0;
  for (;;) {
    polls++;
    if ((await poll()).finished) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const drainMs = Date.now() - started;
  const calls = CallCounter.difference(cloud.calls.snapshot(), before);
  const probe = cloud.calls.snapshot();
  await poll();
  const perPoll = CallCounter.difference(cloud.calls.snapshot(), probe);
  for (const [action, n] of Object.entries(perPoll)) calls[action] = (calls[action] ?? 0) - n * polls;
  const work = Object.entries(calls).filter(([action, n]) => !pollingActions.has(action) && n > 0);
  const total = work.reduce((sum, [, n]) => sum + n, 0);
  dynamoCallsPerJob =
    work.filter(([action]) => action.startsWith('dynamodb:')).reduce((sum, [, n]) => sum + n, 0) / count;
  const lines = [
    `standalone jobs: ${count} delayed_message jobs (priorities 0/5/9) in one request`,
    `  intake: accepted in ${intakeMs} ms (${Math.round((count / intakeMs) * 1000)} jobs/s through one API call)`,
    `  drained (all COMPLETED) ${drainMs} ms after submission; no Step Functions calls: ${work.some(([a]) => a.startsWith('states:')) ? 'VIOLATED' : 'none made'}`,
    `  AWS calls per job: ${(total / count).toFixed(1)}`,
  ];
  for (const [action, n] of work.sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`    ${action.padEnd(40)} ${(n / count).toFixed(2).padStart(7)} per job`);
  if (cloud.writeUnits)
    lines.push(
      ...writeUnitLines(CallCounter.difference(cloud.writeUnits.snapshot(), unitsBefore), count, 'job'),
    );
  return lines;
}

/** DynamoDB write units spent, per unit of work, by table and by index (GSI amplification). */
function writeUnitLines(spent: Record<string, number>, per: number, unit: string): string[] {
  const total = Object.values(spent).reduce((sum, n) => sum + n, 0);
  const onIndexes = Object.entries(spent)
    .filter(([key]) => key.includes('/'))
    .reduce((sum, [, n]) => sum + n, 0);
  // Physical names (RobotFactory-JobsTable0AB1C2D3-XYZ) read better as their logical part.
  const short = (key: string) =>
    key
      .split('/')
      .map((part, i) =>
        i === 0 ? part.replace(/^[^-]*-/, '').replace(/[0-9A-F]{8}(-[0-9A-Z]+)?$/, '') : part,
      )
      .join('/');
  return [
    `  DynamoDB write units per ${unit}: ${(total / per).toFixed(1)} (${(onIndexes / per).toFixed(1)} of them on secondary indexes)`,
    ...Object.entries(spent)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, n]) => `    ${short(key).padEnd(40)} ${(n / per).toFixed(2).padStart(7)} per ${unit}`),
  ];
}

/**
 * Records synthetic job events (completed, with run and wait times) for the last hour on the
 * "reports" queue through the same increments the workers write, merged per bucket before
 * writing (100k single ADDs would only measure the local DynamoDB's write speed), and times
 * the analytics query after 1k and after 100k jobs.
 */
async function benchAnalytics(): Promise<string[]> {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: cloud.edgeUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  const { MetricsStore } = await import('../functions/adapters/metrics-store.ts');
  const { bucketStart, increments } = await import('../functions/domain/throughput.ts');
  const table = cloud.stack.tables.find((t) => t.includes('Metrics'));
  if (!table) throw new Error('no metrics table in the stack');
  const metrics = new MetricsStore(table, 30);
  const now = Date.now();
  const types = ['generate_report', 'report_monthly', 'report_weekly'];
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  async function record(count: number) {
    const merged = new Map<string, Record<string, number>>();
    for (let i = 0; i < count; i++) {
      const at = new Date(now - Math.floor(random() * 3_600_000));
      const type = types[i % types.length] as string;
      const add = increments({
        queue: 'reports',
        type,
        at,
        completed: 1,
        runMs: 5 + random() * 2000,
        waitMs: random() * 500,
      });
      for (const granularity of ['minute', 'hour'] as const) {
        const key = `${granularity}|${bucketStart(at, granularity)}|${type}`;
        const counters = merged.get(key) ?? {};
        for (const [k, v] of Object.entries(add)) counters[k] = (counters[k] ?? 0) + v;
        merged.set(key, counters);
      }
    }
    for (const [key, counters] of merged) {
      const [granularity, bucket, type] = key.split('|') as ['minute' | 'hour', string, string];
      await metrics.addToBucket(granularity, 'reports', type, bucket, counters);
    }
  }
  async function latency(): Promise<number> {
    const from = new Date(now - 3_600_000).toISOString();
    const url = `${cloud.apiUrl}/analytics/throughput?queue=reports&granularity=minute&from=${from}`;
    await fetch(url, { headers: auth }).then((r) => r.text()); // warm
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const response = await fetch(url, { headers: auth });
      await response.text();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    return times[10] as number;
  }
  await record(1_000);
  const small = await latency();
  await record(9_000);
  const medium = await latency();
  await record(90_000);
  const large = await latency();
  return [
    'analytics (GET /analytics/throughput, last hour by minute, queue reports):',
    `  1k jobs recorded:   median ${small.toFixed(1)} ms`,
    `  10k jobs recorded:  median ${medium.toFixed(1)} ms`,
    `  100k jobs recorded: median ${large.toFixed(1)} ms`,
    `  ratio 100k / 1k: ${(large / small).toFixed(2)}; 100k / 10k: ${(large / medium).toFixed(2)}`,
    '  (the same 180 bucket items are read at every size; they grow only until each histogram has',
    '   its occupied buckets, at most ~110 per histogram, so the cost levels off instead of following the job count)',
  ];
}

async function benchIntelligence(): Promise<string[]> {
  const retries = compareRetryPolicies({
    jobs: Number(process.env.BENCH_RETRY_JOBS ?? 5000),
    spanMs: 4 * 3_600_000,
    maxAttempts: 5,
    seed: 2026,
  });
  const prediction = predictionWorkload(30, Number(process.env.BENCH_PREDICTION_PER_DAY ?? 300), 2026);
  return [...retryComparisonTable(retries), '', ...predictionTable(prediction)];
}
