/**
 * `npm run bench`: the cost model's input. Runs orders of every robot type on the local cloud
 * and prints, per order and per step, the AWS API calls the factory made (by service and
 * action) and the Step Functions state transitions the executions took.
 * BENCH_ORDERS (default 10) orders per robot type. Then the job engine: BENCH_JOBS (default 500)
 * standalone jobs submitted in one request, with intake latency, time to drain and calls per job.
 * Last, analytics: GET /analytics/throughput latency with 1k and then 100k jobs recorded.
 */
import './cloud/quiet-sdk.ts';
import { transitionsPerOrder } from '../functions/domain/assembly-plan.ts';
import { robotTypes } from '../functions/domain/catalog.ts';
import { CallCounter } from './cloud/call-counter.ts';
import { startLocalCloud } from './cloud/local-cloud.ts';

const ordersPerType = Number(process.env.BENCH_ORDERS ?? 10);
const specifications: Record<string, unknown> = {
  welder: { reachMm: 1800, payloadKg: 12, weldingProcess: 'mig' },
  courier: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
  companion: { heightCm: 60, personality: 'calm', language: 'en' },
};
// Polling calls depend on idle time, not on orders; they are reported apart.
const pollingActions = new Set(['sqs:ReceiveMessage']);

const log = (line: string) => process.stderr.write(`${line}\n`);
const cloud = await startLocalCloud({ apiPort: 0, edgePort: 0, workDir: '.local/bench', log });
log(`local cloud ready in ${cloud.bootMs} ms; ${ordersPerType} orders per robot type`);

async function runOrders(robotType: string): Promise<number> {
  const started = Date.now();
  const ids = await Promise.all(
    Array.from({ length: ordersPerType }, async () => {
      const response = await fetch(`${cloud.apiUrl}/orders`, {
        method: 'POST',
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

const rows: string[] = [];
try {
  for (const robotType of robotTypes) {
    const before = cloud.calls.snapshot();
    const executionsBefore = cloud.stepFunctions?.listExecutionRecords().length ?? 0;
    const elapsed = await runOrders(robotType.name);
    const calls = CallCounter.difference(cloud.calls.snapshot(), before);
    const executions = cloud.stepFunctions?.listExecutionRecords().slice(executionsBefore) ?? [];
    const transitions =
      executions.reduce((sum, e) => sum + e.transitions, 0) / Math.max(1, executions.length);
    const steps = robotType.steps.length;
    const work = Object.entries(calls).filter(([action]) => !pollingActions.has(action));
    const total = work.reduce((sum, [, n]) => sum + n, 0);
    rows.push('');
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
  }
  rows.push('', ...(await benchStandaloneJobs()));
  rows.push('', ...(await benchAnalytics()));
} finally {
  await cloud.stop();
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
  const started = Date.now();
  const response = await fetch(`${cloud.apiUrl}/job-batches`, {
    method: 'POST',
    body: JSON.stringify({ name: 'bench', jobs }),
  });
  const intakeMs = Date.now() - started;
  if (response.status !== 202)
    throw new Error(`bench batch rejected: ${response.status} ${await response.text()}`);
  const { batchId } = (await response.json()) as { batchId: string };
  const poll = async () =>
    (await (await fetch(`${cloud.apiUrl}/job-batches/${batchId}`)).json()) as {
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
  const lines = [
    `standalone jobs: ${count} delayed_message jobs (priorities 0/5/9) in one request`,
    `  intake: accepted in ${intakeMs} ms (${Math.round((count / intakeMs) * 1000)} jobs/s through one API call)`,
    `  drained (all COMPLETED) ${drainMs} ms after submission; no Step Functions calls: ${work.some(([a]) => a.startsWith('states:')) ? 'VIOLATED' : 'none made'}`,
    `  AWS calls per job: ${(total / count).toFixed(1)}`,
  ];
  for (const [action, n] of work.sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`    ${action.padEnd(40)} ${(n / count).toFixed(2).padStart(7)} per job`);
  return lines;
}
console.log(`Robot Factory bench (${cloud.backend} backend)`);
for (const row of rows) console.log(row);

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
    await fetch(url).then((r) => r.text()); // warm
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const response = await fetch(url);
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
