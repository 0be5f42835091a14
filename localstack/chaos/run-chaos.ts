/**
 * The chaos suite: a local factory of its own (npm start as a child process) takes jobs of
 * mixed types and robot orders of every type while its job workers crash mid-attempt, some
 * attempts are forced to time out, duplicate deliveries are injected, SQS, DynamoDB and Step
 * Functions calls fail at a set rate for a while, and the whole factory is killed with SIGKILL
 * and started again halfway. Then it waits for quiescence and counts, from the factory's own
 * records: completed, dead (with their reasons), cancelled, stuck, lost, double-completed, and
 * the orders. Used by `npm run chaos` and, smaller, by the test suite.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListQueuesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { robotTypes } from '../../functions/domain/catalog.ts';
import { type FactoryProcess, startFactoryProcess } from '../factory-process.ts';

export interface ChaosOptions {
  readonly jobs: number;
  readonly orders: number;
  /** Share of job attempts whose worker environment is killed mid-run. */
  readonly crashRate: number;
  /**
   * How long workers crash, from the first submission. @default the whole run. Bounded, the run
   * ends one lease recovery after it (the test suite's CI run); unbounded, a job may crash on
   * every retry and the tail grows with the rare ones that do.
   */
  readonly crashSeconds?: number;
  /** Share of SQS, DynamoDB and Step Functions calls that fail while faults are on. */
  readonly faultRate: number;
  readonly faultSeconds: number;
  /** Share of jobs that get a duplicate delivery. */
  readonly duplicateRate: number;
  /** Kill -9 and restart the factory when this share of the jobs has finished (0: never). */
  readonly restartAt: number;
  /** Give up waiting for quiescence after this long. */
  readonly timeoutSeconds: number;
  readonly dir: string;
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly submitted: number;
  readonly completed: number;
  readonly dead: number;
  readonly deadReasons: Record<string, number>;
  readonly cancelled: number;
  readonly stuck: number;
  readonly lost: number;
  readonly doubleCompleted: number;
  /** Jobs still moving when the timeout came (the run was too short for its size; not ok). */
  readonly unfinished: number;
  /** Calls a function's IAM policies did not allow: a missing grant. */
  readonly iamDenials: number;
  readonly orders: { placed: number; completed: number; other: Record<string, string> };
  readonly faults: {
    crashes: number;
    injected: Record<string, number>;
    duplicates: number;
    restarts: number;
  };
  readonly seconds: number;
  readonly ok: boolean;
}

const specifications: Record<string, unknown> = {
  welder: { reachMm: 1800, payloadKg: 12, weldingProcess: 'mig' },
  courier: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
  companion: { heightCm: 60, personality: 'calm', language: 'en' },
};
const finished = new Set(['COMPLETED', 'DEAD', 'CANCELLED']);
/** A job that has not moved for this long while the run waits is stuck (a lease recovery is ≤ 90 s). */
const stuckAfterMs = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The mix of jobs: mostly quick ones, some that fail at random, some that always time out. */
function jobOf(i: number, webhook: string) {
  const kind = i % 20;
  if (kind < 12)
    return {
      queue: 'default',
      type: 'delayed_message',
      payload: { message: `chaos ${i}`, holdMs: i % 30 },
      maxAttempts: 6,
    };
  if (kind < 15)
    return { queue: 'default', type: 'fail_sometimes', payload: { probability: 0.3 }, maxAttempts: 6 };
  if (kind < 17)
    return {
      queue: 'notifications',
      type: 'send_email',
      payload: { to: `robot${i}@example.com`, subject: `chaos ${i}`, body: 'Your robot is on its way.' },
      maxAttempts: 6,
    };
  if (kind < 19)
    return {
      queue: 'notifications',
      type: 'webhook_call',
      payload: { url: webhook, body: { i } },
      maxAttempts: 6,
    };
  // Forced timeouts: the handler holds 1 s, the job allows 200 ms.
  return {
    queue: 'default',
    type: 'delayed_message',
    payload: { message: `timeout ${i}`, holdMs: 1000 },
    timeoutMs: 200,
    maxAttempts: 2,
    backoff: { type: 'fixed', delayMs: 100 },
  };
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log;
  const webhook: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;

  let factory: FactoryProcess = await startFactoryProcess({ dir: options.dir, fresh: true });
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await fetch(`${factory.apiUrl}${path}`, {
          method,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${factory.keys.admin}`,
            ...headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        if ((response.status >= 500 || response.status === 429) && attempt < 12) {
          await sleep(Math.min(5000, 200 * 2 ** attempt));
          continue;
        }
        return { status: response.status, body: text ? JSON.parse(text) : undefined };
      } catch (error) {
        // The factory is down (restarting): wait and try again.
        if (attempt >= 40) throw error;
        await sleep(500);
      }
    }
  };
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${factory.edgeUrl}/__local${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then((r) => r.json() as Promise<Record<string, unknown>>);

  /** Calls the functions' IAM policies refused (local-iam.ts): a missing grant, never chaos. */
  let iamDenials = 0;
  let timedOutWhileProgressing = false;
  let faultsUntil = 0;
  let crashesUntil = Number.POSITIVE_INFINITY;
  const crashes = { total: 0 };
  const injected: Record<string, number> = {};
  const collectFaultCounts = async () => {
    try {
      const counts = (await admin('GET', '/faults/injected')) as Record<string, number>;
      for (const [service, n] of Object.entries(counts)) injected[service] = (injected[service] ?? 0) + n;
      crashes.total += Number((await admin('GET', '/lambda/crashes')).crashes ?? 0);
      // Once per factory process (before the kill, and at the end): each keeps its own list.
      iamDenials += ((await admin('GET', '/iam/denials')).denials as unknown[]).length;
    } catch {
      // counts of a factory that is gone are lost with it; the run goes on
    }
  };
  const armChaos = async () => {
    const crashMs = crashesUntil - Date.now();
    if (crashMs > 0)
      await admin('POST', '/lambda/crash-rate', {
        functionPattern: 'JobQueueWorker',
        rate: options.crashRate,
        ...(Number.isFinite(crashMs) ? { forMs: crashMs } : {}),
      });
    const forMs = faultsUntil - Date.now();
    if (forMs > 0)
      for (const service of ['sqs', 'dynamodb', 'states'])
        await admin('POST', '/faults', { service, rate: options.faultRate, forMs });
  };

  try {
    // Faults from the first submission on.
    faultsUntil = Date.now() + options.faultSeconds * 1000;
    if (options.crashSeconds !== undefined) crashesUntil = Date.now() + options.crashSeconds * 1000;
    await armChaos();
    log(
      `chaos: ${options.jobs} jobs, ${options.orders} orders; faults ${options.faultRate * 100}% for ${options.faultSeconds} s, crashes ${options.crashRate * 100}% of job attempts${options.crashSeconds === undefined ? '' : ` for ${options.crashSeconds} s`}`,
    );

    const runKey = `chaos-${started.toString(36)}`;
    // The orders first, so that their workflows run while the faults are on (a 10,000-job intake
    // outlasts the fault window).
    const orderIds: string[] = [];
    for (let i = 0; i < options.orders; i++) {
      const robotType = robotTypes[i % robotTypes.length]?.name as string;
      const response = await call('POST', '/orders', {
        customerId: runKey,
        robotType,
        specifications: specifications[robotType],
        simulate: { stepDurationMs: 50 },
      });
      if (response.status === 202) orderIds.push(response.body.orderId);
    }

    const jobIds: string[] = [];
    for (let from = 0; from < options.jobs; from += 500) {
      const jobs = Array.from({ length: Math.min(500, options.jobs - from) }, (_, i) =>
        jobOf(from + i, webhookUrl),
      );
      // A request-level key: a bulk that failed midway is retried without duplicates.
      const response = await call('POST', '/jobs/bulk', { jobs }, { 'idempotency-key': `${runKey}-${from}` });
      if (response.status !== 202)
        throw new Error(`bulk intake refused: ${response.status} ${JSON.stringify(response.body)}`);
      jobIds.push(...response.body.jobs.map((j: { jobId: string }) => j.jobId));
    }
    log(`chaos: ${jobIds.length} jobs accepted in ${Math.round((Date.now() - started) / 1000)} s`);

    // Duplicate deliveries: a second wake-up call for some jobs, straight into their band queue.
    let duplicates = 0;
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: factory.edgeUrl,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      const { QueueUrls = [] } = await sqs.send(
        new ListQueuesCommand({ QueueNamePrefix: 'DefaultJobQueueNormal' }),
      );
      const url = QueueUrls.find((u) => !u.includes('DeadLetter'));
      const chosen = jobIds.filter(
        (_, i) => i % 20 < 12 && Math.random() < options.duplicateRate * (20 / 12),
      );
      for (let i = 0; url && i < chosen.length; i += 10) {
        const batch = chosen.slice(i, i + 10);
        await sqs
          .send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: batch.map((jobId, n) => ({
                Id: String(n),
                MessageBody: JSON.stringify({ jobId, priority: 5 }),
              })),
            }),
          )
          .then(() => {
            duplicates += batch.length;
          })
          .catch(() => undefined);
      }
    } finally {
      sqs.destroy();
    }

    // Watch the jobs finish; kill -9 and restart the factory once on the way.
    const status = new Map<string, string>();
    /** Gone from the listings of unfinished jobs, not yet read itself: finished (or lost). */
    const leftListings = 'LEFT_THE_LISTINGS';
    const pending = () =>
      jobIds.filter((id) => {
        const state = status.get(id) ?? '';
        return !finished.has(state) && state !== leftListings;
      });
    const unverified = () => jobIds.filter((id) => status.get(id) === leftListings);
    /** The run's unfinished jobs and their states, from the listings (200 a request). */
    const listUnfinished = async (): Promise<Map<string, string> | undefined> => {
      const out = new Map<string, string>();
      for (const queue of ['default', 'notifications'])
        for (const state of ['PENDING', 'QUEUED', 'RUNNING', 'RETRYING', 'FAILED']) {
          let cursor: string | undefined;
          do {
            const page = await call(
              'GET',
              `/jobs?queue=${queue}&status=${state}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
            );
            if (page.status !== 200) return undefined;
            for (const job of page.body.jobs as { jobId: string; status: string }[])
              out.set(job.jobId, job.status);
            cursor = page.body.nextCursor;
          } while (cursor);
        }
      return out;
    };
    const sample = async (ids: readonly string[]) => {
      for (let i = 0; i < ids.length; i += 25) {
        await Promise.all(
          ids.slice(i, i + 25).map(async (id) => {
            const response = await call('GET', `/jobs/${id}`);
            status.set(id, response.status === 200 ? response.body.status : `HTTP ${response.status}`);
          }),
        );
      }
    };
    let restarts = 0;
    let round = 0;
    const deadline = started + options.timeoutSeconds * 1000;
    let quiet = 0;
    let reported = { done: -1, at: 0 };
    // When the count last moved: at the deadline, jobs still moving are unfinished, not stuck.
    let progress = { done: -1, at: Date.now() };
    for (;;) {
      // While many jobs are out, the listings of unfinished jobs say which (a few requests of 200
      // instead of a read per job: reading 1,000 jobs every few seconds was a load of its own on
      // the factory under test, and reading a rotating slice left the counts minutes behind).
      // A job that left the listings is then read itself, 200 a round: finished, or lost.
      const out = pending();
      if (out.length > 200) {
        const listed = await listUnfinished();
        if (listed) for (const id of out) status.set(id, listed.get(id) ?? leftListings);
        else await sample(out.slice((round++ * 200) % out.length).slice(0, 200));
      } else await sample(out);
      await sample(unverified().slice(0, 200));
      const waiting = pending();
      const left = waiting.length + unverified().length;
      const done = jobIds.length - waiting.length;
      // Progress when it moves, and every 30 s while it does not (the tail waits on backoffs
      // and lease recoveries, which take minutes): then what the last jobs are doing.
      if (done !== progress.done) progress = { done, at: Date.now() };
      if (done !== reported.done || Date.now() - reported.at >= 30_000) {
        const states = new Map<string, number>();
        for (const id of waiting) {
          const state = status.get(id) ?? '?';
          states.set(state, (states.get(state) ?? 0) + 1);
        }
        const tail =
          left > 0 && left <= 20
            ? ` — waiting: ${[...states].map(([state, n]) => `${n} ${state}`).join(', ')}`
            : '';
        log(
          `chaos: ${done}/${jobIds.length} jobs finished (${Math.round((Date.now() - started) / 1000)} s)${tail}`,
        );
        reported = { done, at: Date.now() };
      }
      if (restarts === 0 && options.restartAt > 0 && done >= options.restartAt * jobIds.length) {
        await collectFaultCounts();
        log('chaos: kill -9 of the factory, and a restart on the same data');
        await factory.kill();
        factory = await startFactoryProcess({ dir: options.dir, ports: factory.ports });
        restarts++;
        await armChaos();
        continue;
      }
      const ordersLeft = (
        await Promise.all(orderIds.map((id) => call('GET', `/orders/${id}/status`)))
      ).filter((r) => !['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.body?.status)).length;
      quiet = left === 0 && ordersLeft === 0 ? quiet + 1 : 0;
      if (quiet >= 2) break;
      if (Date.now() > deadline) {
        timedOutWhileProgressing = Date.now() - progress.at < stuckAfterMs;
        break;
      }
      await sleep(left > 0 ? 3000 : 2000);
    }
    await collectFaultCounts();

    // The report, from the factory's own records.
    await sample(jobIds);
    let doubleCompleted = 0;
    const deadReasons: Record<string, number> = {};
    for (let i = 0; i < jobIds.length; i += 25) {
      await Promise.all(
        jobIds.slice(i, i + 25).map(async (id) => {
          const { body } = await call('GET', `/jobs/${id}/logs`);
          const completions = (body?.logs ?? []).filter((l: { message: string }) =>
            / completed in /.test(l.message),
          );
          if (completions.length > 1) doubleCompleted++;
          if (status.get(id) === 'DEAD') {
            const job = (await call('GET', `/jobs/${id}`)).body;
            const reason = String(job.error ?? '?')
              .replace(/^Attempt \d+ of \d+ /, '')
              .replace(
                /Worker \S+ stopped heartbeating \(lease expired [^)]*\)/,
                'worker crashed (lease expired)',
              )
              .replace(/\d+/g, 'N')
              .slice(0, 80);
            deadReasons[reason] = (deadReasons[reason] ?? 0) + 1;
          }
        }),
      );
    }
    const counts = (s: string) => [...status.values()].filter((v) => v === s).length;
    const orderStates = await Promise.all(
      orderIds.map(async (id) => [id, (await call('GET', `/orders/${id}/status`)).body?.status] as const),
    );
    const ordersCompleted = orderStates.filter(([, s]) => s === 'COMPLETED').length;
    const lost = [...status.values()].filter((v) => v.startsWith('HTTP')).length;
    const unfinished = jobIds.length - counts('COMPLETED') - counts('DEAD') - counts('CANCELLED') - lost;
    // Stuck: nothing moved for minutes. Still moving at the deadline: the run was too short.
    const stuck = timedOutWhileProgressing ? 0 : unfinished;
    const report: ChaosReport = {
      submitted: jobIds.length,
      completed: counts('COMPLETED'),
      dead: counts('DEAD'),
      deadReasons,
      cancelled: counts('CANCELLED'),
      stuck,
      lost,
      doubleCompleted,
      unfinished: timedOutWhileProgressing ? unfinished : 0,
      iamDenials,
      orders: {
        placed: orderIds.length,
        completed: ordersCompleted,
        other: Object.fromEntries(orderStates.filter(([, s]) => s !== 'COMPLETED')),
      },
      faults: { crashes: crashes.total, injected, duplicates, restarts },
      seconds: Math.round((Date.now() - started) / 1000),
      ok:
        lost === 0 &&
        stuck === 0 &&
        !timedOutWhileProgressing &&
        doubleCompleted === 0 &&
        iamDenials === 0 &&
        ordersCompleted === orderIds.length,
    };
    return report;
  } finally {
    await factory.kill();
    webhook.closeAllConnections();
    webhook.close();
  }
}

/** The report as a table of zeros where zeros belong. */
export function formatReport(report: ChaosReport): string {
  const rows: [string, string | number][] = [
    ['jobs submitted', report.submitted],
    ['completed', report.completed],
    ['dead', report.dead],
    ...Object.entries(report.deadReasons).map(([reason, n]): [string, number] => [`  dead: ${reason}`, n]),
    ['cancelled', report.cancelled],
    ['stuck', report.stuck],
    ...(report.unfinished > 0
      ? [
          ['unfinished (still moving at the timeout: give --timeout-seconds more)', report.unfinished] as [
            string,
            number,
          ],
        ]
      : []),
    ['lost', report.lost],
    ['double-completed', report.doubleCompleted],
    ['calls refused by IAM', report.iamDenials],
    ['orders placed', report.orders.placed],
    ['orders completed', report.orders.completed],
    ['worker crashes', report.faults.crashes],
    [
      'faults injected',
      Object.entries(report.faults.injected)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ') || '0',
    ],
    ['duplicate deliveries', report.faults.duplicates],
    ['kill -9 restarts', report.faults.restarts],
    ['seconds', report.seconds],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return [
    ...rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`),
    '',
    report.ok ? 'OK: nothing lost, stuck or completed twice; every order completed' : 'FAILED: see above',
  ].join('\n');
}
