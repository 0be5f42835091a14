/**
 * `npm run seed-history`: writes a month of realistic history (localstack/seed/history.ts) into
 * a running local factory (`npm start`), so that the analytics, the failure model, the SLA
 * report, the DLQ and the alerts answer with real figures at once:
 * - the metric buckets the analytics read (hour buckets for the month, minute buckets for the
 *   last day), through the metrics store's own bulk writer;
 * - finished job rows (the last week of the job queues and every dead job of the month) into
 *   the jobs table, whose stream the factory's analytics recorder and event publisher follow;
 * - an SLA on each job queue that has none, and an alert rule that mails oncall@example.com
 *   when the default queue's webhooks fail (through the API, with the admin key);
 * - then the model trainer is invoked (the failure model), and a live incident — a partner
 *   that refuses webhooks — is submitted as real jobs, for that rule to fire and resolve.
 * Tables and functions are found on the local cloud's AWS endpoint by their logical names.
 */
import './cloud/quiet-sdk.ts';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../functions/adapters/aws-clients.ts';
import { MetricsStore } from '../functions/adapters/metrics-store.ts';
import { bucketAdditions, bucketStart } from '../functions/domain/throughput.ts';
import { mapLimit } from '../functions/shared/concurrency.ts';
import { historyDays, type SeededRow } from './seed/history.ts';

const usage = `Usage: npm run seed-history [-- options]
Writes a month of history into a running local factory (npm start), then names the endpoints to curl.
  --api <url>        the factory's HTTP API (default $FACTORY_URL, else http://localhost:$PORT, PORT=3000)
  --endpoint <url>   its AWS endpoint (default http://127.0.0.1:$EDGE_PORT, EDGE_PORT=4566)
  --dir <path>       the directory npm start keeps its data and credentials.json in (default .local)
  --key <key>        an admin key (default $FACTORY_KEY, else the admin key in <dir>/credentials.json)
  --days <n>         days of history (default 30)
  --scale <x>        multiplies the arrival rates (default 1: ~1,000 jobs and 40 robot orders a weekday)
  --seed <n>         the generator's seed (default 2026)
  --no-incident      do not submit the live incident (failing webhooks) for the alert rule
  --force            seed even if the factory already has history that far back`;

interface Flags {
  api: string;
  endpoint: string;
  key: string;
  days: number;
  scale: number;
  seed: number;
  incident: boolean;
  force: boolean;
}

function flagsOf(): Flags {
  const { values } = parseArgs({
    options: {
      api: { type: 'string' },
      endpoint: { type: 'string' },
      dir: { type: 'string', default: '.local' },
      key: { type: 'string' },
      days: { type: 'string', default: '30' },
      scale: { type: 'string', default: '1' },
      seed: { type: 'string', default: '2026' },
      'no-incident': { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const number = (name: string, raw: string, min: number, max: number, integer = true) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      throw new Error(
        `--${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got "${raw}"`,
      );
    return n;
  };
  const days = number('days', values.days ?? '30', 1, 90);
  const scale = number('scale', values.scale ?? '1', 0.01, 20, false);
  const seed = number('seed', values.seed ?? '2026', 0, 2 ** 31);
  const credentialsFile = path.join(values.dir ?? '.local', 'credentials.json');
  let key = values.key ?? process.env.FACTORY_KEY;
  if (!key) {
    try {
      key = (JSON.parse(readFileSync(credentialsFile, 'utf8')) as { admin?: string }).admin;
    } catch {
      key = undefined;
    }
    if (!key)
      throw new Error(
        `No admin key: give --key, FACTORY_KEY, or --dir with a credentials.json (${credentialsFile})`,
      );
  }
  return {
    api: (values.api ?? process.env.FACTORY_URL ?? `http://localhost:${process.env.PORT || 3000}`).replace(
      /\/$/,
      '',
    ),
    endpoint: (values.endpoint ?? `http://127.0.0.1:${process.env.EDGE_PORT || 4566}`).replace(/\/$/, ''),
    key,
    days,
    scale,
    seed,
    incident: !values['no-incident'],
    force: values.force ?? false,
  };
}

/** SLAs set where a queue has none: what the generated waits are measured against. */
const slaPlan: Record<string, Record<string, number>> = {
  default: { withinMs: 2000, percent: 95 },
  notifications: { waitP95Ms: 3000 },
  media: { withinMs: 5000, percent: 95 },
  reports: { withinMs: 10_000, percent: 95 },
};

const alertRule = {
  name: 'Partner webhooks failing (seed-history)',
  condition: {
    metric: 'failure_rate',
    queue: 'default',
    type: 'webhook_call',
    op: '>',
    threshold: 0.5,
    forMinutes: 2,
  },
  actions: [{ type: 'email', to: 'oncall@example.com' }],
};

const count = (n: number) => n.toLocaleString('en-US');

/** An API call with the admin key; `body` is the answer's JSON, of the shape the caller expects. */
type Call = <T = Record<string, unknown>>(
  method: string,
  route: string,
  body?: unknown,
) => Promise<{ status: number; body: T }>;

async function main() {
  let flags: Flags;
  try {
    flags = flagsOf();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  const started = Date.now();
  const call: Call = async (method, route, body) => {
    const response = await fetch(`${flags.api}${route}`, {
      method,
      headers: { authorization: `Bearer ${flags.key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  };

  // The factory, its key and its tables.
  let queues: { name: string; sla: unknown }[];
  try {
    const answer = await call<{ name: string; sla: unknown }[]>('GET', '/queues');
    if (answer.status === 401 || answer.status === 403) {
      console.error(
        `The factory at ${flags.api} refused the key (${answer.status}): give an admin key (--key)`,
      );
      process.exit(3);
    }
    queues = answer.body;
  } catch (error) {
    console.error(`No factory at ${flags.api} (${(error as Error).message}): start one with npm start`);
    process.exit(3);
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: flags.endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  const aws = {
    endpoint: flags.endpoint,
    region: process.env.AWS_REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  let tables: string[];
  try {
    tables = (await new DynamoDBClient(aws).send(new ListTablesCommand({}))).TableNames ?? [];
  } catch (error) {
    console.error(
      `No local cloud at ${flags.endpoint} (${(error as Error).message}): set --endpoint or EDGE_PORT`,
    );
    process.exit(3);
  }
  const tableNamed = (logical: string) => {
    const table = tables.find((t) => t.includes(logical));
    if (!table) throw new Error(`No ${logical} table on ${flags.endpoint} (tables: ${tables.join(', ')})`);
    return table;
  };
  const jobsTable = tableNamed('TablesJobs');
  const metrics = new MetricsStore(tableNamed('TablesMetrics'), 30);

  const now = new Date();
  const from = new Date(now.getTime() - flags.days * 86_400_000);
  if (!flags.force) {
    const earlier = await metrics.buckets('hour', 'default', from, new Date(from.getTime() + 2 * 86_400_000));
    if (earlier.length > 0) {
      console.error(
        `This factory already has history from ${from.toISOString().slice(0, 10)} (seeded before?): --force adds another ${flags.days} days on top, npm start -- --fresh starts empty.`,
      );
      process.exit(1);
    }
  }

  console.log(
    `Seeding ${flags.days} days of history (${from.toISOString().slice(0, 16)}Z → ${now.toISOString().slice(0, 16)}Z) into ${flags.api} (AWS endpoint ${flags.endpoint})`,
  );
  // Minute buckets answer ranges of up to six hours within the last day, and the alerts.
  const minutesFrom = now.getTime() - 86_400_000;
  const totals = { jobs: 0, orders: 0, writes: 0, rows: 0, dead: 0 };
  let lastRow: SeededRow | undefined;
  let expectedInLastRowHour = 0;
  let day = 0;
  const allDays = flags.days + 1;
  for (const generated of historyDays({ now, days: flags.days, seed: flags.seed, scale: flags.scale })) {
    day++;
    const additions = bucketAdditions(generated.deltas).filter(
      (a) => a.granularity === 'hour' || Date.parse(a.bucket) >= minutesFrom,
    );
    const chunks = Array.from({ length: Math.ceil(additions.length / 8) }, (_, i) =>
      additions.slice(i * 8, i * 8 + 8),
    );
    await mapLimit(chunks, 4, (chunk) => metrics.addAll(chunk));
    const orderHours = new Map<string, { completed: number; assemblyMsSum: number }>();
    for (const o of generated.completedOrders) {
      const key = `${bucketStart(o.completedAt, 'hour')}|${o.robotType}`;
      const sums = orderHours.get(key) ?? { completed: 0, assemblyMsSum: 0 };
      sums.completed++;
      sums.assemblyMsSum += o.assemblyMs;
      orderHours.set(key, sums);
    }
    await mapLimit([...orderHours], 8, ([key, sums]) => {
      const [bucket = '', robotType = ''] = key.split('|');
      return metrics.addToBucket('hour', 'orders', robotType, bucket, sums);
    });
    const rows = [...generated.rows].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    await writeRows(jobsTable, rows);
    const newest = rows[rows.length - 1];
    if (newest) {
      // The newest row's hour bucket: counted in full once the recorder is through the rows.
      const hour = bucketStart(Date.parse(newest.createdAt), 'hour');
      const same = (queue: string, type: string, at: number) =>
        queue === newest.queue && type === newest.type && bucketStart(at, 'hour') === hour;
      lastRow = newest;
      expectedInLastRowHour =
        generated.deltas
          .filter((d) => same(d.queue, d.type, d.at.getTime()))
          .reduce((sum, d) => sum + (d.submitted ?? 0), 0) +
        rows.filter((r) => same(r.queue, r.type, Date.parse(r.createdAt))).length;
    }
    totals.jobs += generated.jobs;
    totals.orders += generated.orders;
    totals.writes += additions.length + orderHours.size;
    totals.rows += rows.length;
    totals.dead += rows.filter((r) => r.status === 'DEAD').length;
    const weekday = new Date(generated.day).toUTCString().slice(0, 3);
    console.log(
      `  ${generated.day.slice(0, 10)} ${weekday}  ${count(generated.jobs).padStart(6)} jobs and steps  ${String(generated.orders).padStart(3)} orders  ${count(additions.length + orderHours.size).padStart(5)} bucket writes  ${count(rows.length).padStart(5)} job rows   (${day}/${allDays}, ${Math.round((Date.now() - started) / 1000)} s)`,
    );
  }
  console.log(
    `Wrote ${count(totals.jobs)} jobs and robot steps (${count(totals.orders)} orders) as ${count(totals.writes)} metric bucket writes, and ${count(totals.rows)} finished job rows (${count(totals.dead)} dead, in the DLQ)`,
  );

  // SLAs and the alert rule, through the API as an operator would.
  for (const queue of queues) {
    const sla = slaPlan[queue.name];
    if (!sla || queue.sla) continue;
    const answer = await call<{ meaning?: string }>('PUT', `/queues/${queue.name}/sla`, sla);
    console.log(
      answer.status === 200
        ? `SLA on ${queue.name}: ${answer.body.meaning ?? JSON.stringify(sla)}`
        : `SLA on ${queue.name} refused: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  const rules = await call<{ rules?: { name: string }[] }>('GET', '/alerts/rules');
  if (!(rules.body?.rules ?? []).some((r: { name: string }) => r.name === alertRule.name)) {
    const answer = await call<{ ruleId?: string }>('POST', '/alerts/rules', alertRule);
    console.log(
      answer.status === 201
        ? `Alert rule ${answer.body.ruleId}: "${alertRule.name}" (failure rate of default/webhook_call > 0.5 for 2 minutes → e-mail to oncall@example.com, in GET /outbox)`
        : `Alert rule refused: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }

  // The failure model, trained now rather than at the next hour.
  const lambda = new LambdaClient(aws);
  const functions = (await lambda.send(new ListFunctionsCommand({}))).Functions ?? [];
  const trainer = functions.find((f) => f.FunctionName?.includes('ModelTrainer'))?.FunctionName;
  if (trainer) {
    const result = await lambda.send(
      new InvokeCommand({ FunctionName: trainer, Payload: Buffer.from('{}') }),
    );
    const outcome = JSON.parse(Buffer.from(result.Payload ?? []).toString() || '{}');
    console.log(
      result.FunctionError
        ? `Model trainer failed: ${JSON.stringify(outcome)}`
        : outcome.trained
          ? `Failure model trained on ${count(outcome.samples)} finished jobs: held-out accuracy ${(outcome.accuracy * 100).toFixed(1)}%, AUC ${outcome.auc?.toFixed(3)} (GET /analytics/models)`
          : `Failure model not trained: ${outcome.samples} samples`,
    );
  } else console.log('No model trainer function found: GET /analytics/models waits for its hourly run');

  if (flags.incident) await liveIncident(call);

  // The job rows' submissions are counted by the analytics recorder off the jobs table's stream.
  if (lastRow) {
    const hour = new Date(bucketStart(Date.parse(lastRow.createdAt), 'hour'));
    const expected = expectedInLastRowHour;
    const deadline = Date.now() + 180_000;
    for (;;) {
      const buckets = await metrics.buckets(
        'hour',
        lastRow.queue,
        hour,
        new Date(hour.getTime() + 3_600_000),
        lastRow.type,
      );
      const counted = buckets.reduce((sum, b) => sum + (b.counters.submitted ?? 0), 0);
      if (counted >= expected) {
        console.log('The analytics recorder has counted the job rows (jobs table stream)');
        break;
      }
      if (Date.now() > deadline) {
        console.log(
          'The analytics recorder is still counting the job rows: the forecast may be short for a minute',
        );
        break;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  const api = flags.api;
  console.log(
    [
      '',
      `Done in ${Math.round((Date.now() - started) / 1000)} s. Try (AUTH="Authorization: Bearer <the admin or viewer key>"):`,
      `  curl -s -H "$AUTH" "${api}/analytics/sla"                       # compliance per queue, violations, trend`,
      `  curl -s -H "$AUTH" "${api}/analytics/retries?from=${from.toISOString()}"`,
      `  curl -s -H "$AUTH" "${api}/analytics/cost?from=${from.toISOString()}"`,
      `  curl -s -H "$AUTH" "${api}/analytics/forecast?queue=default"     # also notifications, media, reports`,
      `  curl -s -H "$AUTH" "${api}/analytics/errors?from=${from.toISOString()}"`,
      `  curl -s -H "$AUTH" "${api}/analytics/utilisation"`,
      `  curl -s -H "$AUTH" "${api}/analytics/slow-jobs"`,
      `  curl -s -H "$AUTH" "${api}/analytics/throughput?granularity=day&from=${from.toISOString()}"`,
      `  curl -s -H "$AUTH" "${api}/metrics/job-duration-histogram?queue=media"`,
      `  curl -s -H "$AUTH" "${api}/analytics/models"`,
      `  curl -s -H "$AUTH" -XPOST ${api}/jobs/predict -d '{"queue":"media","type":"process_image","payload":{"image":{"url":"https://cdn.example.com/robot.png"},"width":7000,"format":"png"}}'`,
      `  curl -s -H "$AUTH" "${api}/dlq/causes"`,
      `  curl -s -H "$AUTH" "${api}/alerts"      # the rule above fires within ~2 minutes and resolves a few minutes later; the anomaly watch's too`,
      `  curl -s -H "$AUTH" "${api}/outbox"      # the alert's e-mails`,
    ].join('\n'),
  );
}

/** Finished job rows, 25 a call, a few calls at a time; unprocessed items are sent again. */
async function writeRows(table: string, rows: readonly SeededRow[]): Promise<void> {
  const batches = Array.from({ length: Math.ceil(rows.length / 25) }, (_, i) =>
    rows.slice(i * 25, i * 25 + 25),
  );
  await mapLimit(batches, 4, async (batch) => {
    let requests: Record<string, unknown>[] | undefined = batch.map((row) => ({ PutRequest: { Item: row } }));
    for (let round = 0; requests && requests.length > 0; round++) {
      if (round > 10) throw new Error(`${requests.length} job rows were not written`);
      if (round > 0) await new Promise((r) => setTimeout(r, 100 * 2 ** Math.min(round, 5)));
      const { UnprocessedItems } = await dynamo().send(
        new BatchWriteCommand({ RequestItems: { [table]: requests as never } }),
      );
      requests = UnprocessedItems?.[table] as Record<string, unknown>[] | undefined;
    }
  });
}

/**
 * A partner that refuses connections, now: webhook jobs on the default queue to a closed local
 * port, each failing its attempts within a minute — real jobs, real failed attempts, which the
 * alert rule above reads from the minute buckets like any other.
 */
async function liveIncident(call: Call) {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 9));
    });
  });
  const url = `http://127.0.0.1:${port}/partner/hooks`;
  const answer = await call<{ accepted?: number }>('POST', '/jobs/bulk', {
    jobs: Array.from({ length: 30 }, (_, i) => ({
      queue: 'default',
      type: 'webhook_call',
      payload: { url, method: 'POST', body: { event: 'robot.shipped', seq: i } },
      maxAttempts: 3,
      backoff: { type: 'fixed', delayMs: 10_000 },
    })),
  });
  console.log(
    answer.status === 202
      ? `Live incident: ${answer.body.accepted} webhook jobs to a partner that refuses connections (${url}); each fails 3 attempts within ~30 s and lands in the DLQ`
      : `Live incident refused: ${answer.status} ${JSON.stringify(answer.body)}`,
  );
}

await main();
