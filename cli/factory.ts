/**
 * `npx factory …`: the factory's CLI, on the typed client (client/src). See docs/cli.md.
 *
 * Exit codes: 0 ok; 1 the API refused (4xx/5xx) or a job/order ended badly (DEAD, CANCELLED,
 * FAILED) or a wait timed out; 2 bad flags or usage, missing key; 3 the factory cannot be reached.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  defaultBulkParallel,
  FactoryApiError,
  FactoryClient,
  FactoryConnectionError,
  FactoryTimeoutError,
  finishedOrderStatuses,
  type Job,
  type JobSubmission,
  maxBulkParallel,
  type OrderStatusView,
} from '../client/src/index.ts';
import { describeBench, runBench } from './factory/bench.ts';
import { type ConfigFlags, type ResolvedConfig, resolveConfig, roles, UsageError } from './factory/config.ts';
import { type Output, Progress } from './factory/progress.ts';

export const exitCodes = { ok: 0, failure: 1, usage: 2, unreachable: 3 } as const;

export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: Record<string, string | undefined>;
  cwd: string;
  /** For tests: the client's fetch, sleep and socket factory. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  webSocket?: false;
  readStdin?: () => string;
}

/** A job or order that ended badly: its view was printed; exit 1. */
class Unfinished extends Error {}

interface GlobalFlags extends ConfigFlags {
  json?: boolean;
  retries?: number;
}

const int =
  (name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
  (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `${name} must be a whole number${min > Number.MIN_SAFE_INTEGER ? ` from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}` : ''}.`,
      );
    return n;
  };

const jsonObject = (name: string) => (value: string) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`${name} is not valid JSON (${(error as Error).message}).`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new InvalidArgumentError(`${name} must be a JSON object.`);
  return parsed as Record<string, unknown>;
};

const finishedBadly = (status: string) => status === 'DEAD' || status === 'CANCELLED' || status === 'FAILED';

export function buildProgram(io: CliIo): Command {
  const program = new Command('factory');
  program
    .description('Robot Factory CLI: jobs, orders, the dead-letter queue, queues, workers and API keys.')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError(true)
    .option('--url <url>', 'API URL (default: $FACTORY_URL, else http://localhost:3000)')
    .option('--key <key>', 'API key (default: $FACTORY_KEY, else the admin key in .local/credentials.json)')
    .addOption(
      new Option('--role <role>', 'use this role’s key from .local/credentials.json').choices([...roles]),
    )
    .option(
      '--credentials <file>',
      'credentials file (default: $FACTORY_CREDENTIALS or .local/credentials.json)',
    )
    .option('--json', 'machine-readable JSON on stdout')
    .option('--retries <n>', 'retries of 429/5xx answers', int('--retries', 0, 10), 3);

  const globals = (command: Command) => command.optsWithGlobals() as GlobalFlags;
  let config: ResolvedConfig | undefined;
  const client = (command: Command) => {
    const flags = globals(command);
    config = resolveConfig(flags, { env: io.env, cwd: io.cwd });
    return new FactoryClient({
      url: config.url,
      key: config.key,
      retries: flags.retries,
      ...(io.fetch ? { fetch: io.fetch } : {}),
      ...(io.sleep ? { sleep: io.sleep } : {}),
      ...(io.webSocket === false ? { webSocket: false as const } : {}),
    });
  };
  const print = (command: Command, value: unknown, human?: () => string) => {
    if (globals(command).json || !human)
      io.stdout.write(`${JSON.stringify(value, null, globals(command).json ? 0 : 2)}\n`);
    else io.stdout.write(`${human()}\n`);
  };
  const note = (text: string) => io.stderr.write(`${text}\n`);

  // ── jobs ──────────────────────────────────────────────────────────────────────────────
  const jobs = program.command('jobs').description('standalone jobs and robot steps');

  jobs
    .command('submit')
    .description('submit a job (--queue, --type, --payload) or many (--file jobs.ndjson)')
    .option('-q, --queue <queue>', 'queue, e.g. default, notifications, reports, media')
    .option('-t, --type <type>', 'job type, e.g. send_email')
    .option('-p, --payload <json>', 'payload as a JSON object', jsonObject('--payload'))
    .option('--priority <n>', 'priority 0 (urgent) to 10', int('--priority', 0, 10))
    .option('--max-attempts <n>', 'attempts before DEAD', int('--max-attempts', 1, 25))
    .option('--delay-ms <ms>', 'start no earlier than this many ms from now', int('--delay-ms', 0))
    .option('--run-at <iso>', 'start no earlier than this time (ISO 8601)')
    .option('--timeout-ms <ms>', 'time limit of one attempt', int('--timeout-ms', 100, 840_000))
    .option('--depends-on <jobIds...>', 'jobs that must complete first')
    .option('--idempotency-key <key>', 'the same key gives the same job (for --file: the whole file)')
    .option(
      '-f, --file <file>',
      'jobs to submit in bulk: NDJSON (one job per line) or a JSON array; - for stdin',
    )
    .option('--chunk-size <n>', 'jobs per POST /jobs/bulk call', int('--chunk-size', 1, 500), 500)
    .option(
      '--parallel <n>',
      'POST /jobs/bulk calls under way at once',
      int('--parallel', 1, maxBulkParallel),
      defaultBulkParallel,
    )
    .option('-w, --wait', 'wait until the job(s) finish and print them')
    .option('--timeout <seconds>', 'with --wait: give up after this long', int('--timeout', 1))
    .action(async (flags, command: Command) => {
      const fromFile = flags.file !== undefined;
      if (fromFile && (flags.queue || flags.type || flags.payload))
        throw new UsageError('Give --file, or --queue/--type/--payload, not both');
      if (!fromFile && (!flags.queue || !flags.type))
        throw new UsageError('jobs submit needs --queue and --type (or --file with jobs)');
      const factory = client(command);
      const timeoutMs = flags.timeout ? flags.timeout * 1000 : undefined;
      if (!fromFile) {
        const job: JobSubmission = {
          queue: flags.queue,
          type: flags.type,
          ...(flags.payload ? { payload: flags.payload } : {}),
          ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
          ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
          ...(flags.delayMs !== undefined ? { delayMs: flags.delayMs } : {}),
          ...(flags.runAt ? { runAt: flags.runAt } : {}),
          ...(flags.timeoutMs !== undefined ? { timeoutMs: flags.timeoutMs } : {}),
          ...(flags.dependsOn ? { dependsOn: flags.dependsOn } : {}),
        };
        const accepted = await factory.submitJob(job, { idempotencyKey: flags.idempotencyKey });
        if (!flags.wait)
          return print(
            command,
            accepted,
            () => `${accepted.jobId} ${accepted.status}${accepted.duplicate ? ' (duplicate)' : ''}`,
          );
        note(`Submitted ${accepted.jobId}; waiting for it to finish …`);
        const finished = await waitWithStatus(factory, accepted.jobId, io, timeoutMs);
        print(command, finished, () => JSON.stringify(finished, null, 2));
        if (finishedBadly(finished.status))
          throw new Unfinished(`Job ${finished.jobId} ended ${finished.status}`);
        return;
      }
      const list = readJobsFile(flags.file, io);
      if (list.length === 0) throw new UsageError(`No jobs in ${flags.file}`);
      const progress = new Progress(io.stderr, 'Submitting');
      progress.update(0, list.length);
      const accepted = await factory.submitJobs(list, {
        chunkSize: flags.chunkSize,
        parallel: flags.parallel,
        idempotencyKey: flags.idempotencyKey,
        onProgress: (done, total) => progress.update(done, total),
      });
      progress.done();
      note(`Submitted ${accepted.accepted} jobs (${accepted.duplicates} duplicates)`);
      if (!flags.wait)
        return print(command, accepted, () => accepted.jobs.map((j) => `${j.jobId} ${j.status}`).join('\n'));
      const waiting = new Progress(io.stderr, 'Finished');
      const results: Job[] = [];
      waiting.update(0, accepted.jobs.length);
      for (const { jobId } of accepted.jobs) {
        results.push(
          await factory.waitForJob(jobId, { realtime: false, ...(timeoutMs ? { timeoutMs } : {}) }),
        );
        waiting.update(results.length, accepted.jobs.length);
      }
      waiting.done();
      const bad = results.filter((j) => finishedBadly(j.status));
      print(command, results, () =>
        results.map((j) => `${j.jobId} ${j.status}${j.error ? `  ${j.error}` : ''}`).join('\n'),
      );
      if (bad.length > 0) throw new Unfinished(`${bad.length} of ${results.length} jobs did not complete`);
    });

  jobs
    .command('get <jobId>')
    .description('a job: status, attempts, timestamps, error')
    .action(async (jobId: string, _flags, command: Command) => {
      print(command, await client(command).getJob(jobId));
    });

  jobs
    .command('list')
    .description('jobs, newest first')
    .option('-q, --queue <queue>')
    .option(
      '-s, --status <status>',
      'PENDING, QUEUED, RUNNING, RETRYING, COMPLETED, FAILED, DEAD or CANCELLED',
    )
    .option('-t, --type <type>')
    .option('-n, --limit <n>', 'jobs per page (1–200)', int('--limit', 1, 200), 50)
    .option('--cursor <cursor>', 'the nextCursor of a previous page')
    .action(async (flags, command: Command) => {
      const page = await client(command).listJobs({
        queue: flags.queue,
        status: flags.status?.toUpperCase(),
        type: flags.type,
        limit: flags.limit,
        cursor: flags.cursor,
      });
      print(command, page, () =>
        [
          table(page.jobs, ['jobId', 'queue', 'type', 'status', 'attempts', 'createdAt']),
          ...(page.nextCursor ? [`next page: --cursor ${page.nextCursor}`] : []),
        ].join('\n'),
      );
    });

  jobs
    .command('cancel <jobId>')
    .description('cancel a job that has not finished')
    .action(async (jobId: string, _flags, command: Command) => {
      print(command, await client(command).cancelJob(jobId));
    });

  jobs
    .command('retry <jobId>')
    .description('re-run a DEAD or FAILED job (a robot step resumes its order)')
    .action(async (jobId: string, _flags, command: Command) => {
      print(command, await client(command).retryJob(jobId));
    });

  jobs
    .command('logs <jobId>')
    .description('the job’s log lines, per attempt')
    .action(async (jobId: string, _flags, command: Command) => {
      const logs = await client(command).jobLogs(jobId);
      print(
        command,
        logs,
        () =>
          logs.logs
            .map((l) => `${l.timestamp} ${String(l.level).padEnd(5)} #${l.attempt ?? '-'} ${l.message}`)
            .join('\n') || '(no log lines)',
      );
    });

  jobs
    .command('watch <jobId>')
    .description('follow a job until it finishes (live over the WebSocket, else polling)')
    .option('--timeout <seconds>', 'give up after this long', int('--timeout', 1))
    .action(async (jobId: string, flags, command: Command) => {
      const job = await waitWithStatus(
        client(command),
        jobId,
        io,
        flags.timeout ? flags.timeout * 1000 : undefined,
      );
      print(command, job);
      if (finishedBadly(job.status)) throw new Unfinished(`Job ${job.jobId} ended ${job.status}`);
    });

  // ── orders ────────────────────────────────────────────────────────────────────────────
  const orders = program.command('orders').description('robot orders');

  orders
    .command('create')
    .description('order a robot')
    .option('-r, --robot-type <type>', 'welder, courier or companion')
    .option('-c, --customer <id>', 'customer id')
    .option('-s, --specs <json>', 'specifications as a JSON object', jsonObject('--specs'))
    .option('--priority <n>', 'priority 0 (urgent) to 10', int('--priority', 0, 10))
    .option('--simulate <json>', 'local simulation, e.g. {"stepDurationMs":200}', jsonObject('--simulate'))
    .option('-f, --file <file>', 'the whole order as a JSON file (- for stdin)')
    .option('-w, --watch', 'follow the order until it finishes')
    .action(async (flags, command: Command) => {
      let order: Record<string, unknown>;
      if (flags.file) order = jsonObject(flags.file)(readText(flags.file, io));
      else {
        if (!flags.robotType || !flags.customer || !flags.specs)
          throw new UsageError('orders create needs --robot-type, --customer and --specs (or --file)');
        order = {
          robotType: flags.robotType,
          customerId: flags.customer,
          specifications: flags.specs,
          ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
          ...(flags.simulate ? { simulate: flags.simulate } : {}),
        };
      }
      const factory = client(command);
      const accepted = await factory.createOrder(order as never);
      if (!flags.watch) return print(command, accepted, () => `${accepted.orderId} ${accepted.status}`);
      note(`Ordered ${accepted.orderId}; following it …`);
      await watchOrderCommand(factory, accepted.orderId, command, undefined);
    });

  orders
    .command('status <orderId>')
    .description('an order with every step')
    .action(async (orderId: string, _flags, command: Command) => {
      const view = await client(command).orderStatus(orderId);
      print(command, view, () => describeOrder(view));
    });

  orders
    .command('watch <orderId>')
    .description('live step progress until the order finishes')
    .option('--timeout <seconds>', 'give up after this long', int('--timeout', 1))
    .action(async (orderId: string, flags, command: Command) => {
      await watchOrderCommand(
        client(command),
        orderId,
        command,
        flags.timeout ? flags.timeout * 1000 : undefined,
      );
    });

  async function watchOrderCommand(
    factory: FactoryClient,
    orderId: string,
    command: Command,
    timeoutMs?: number,
  ) {
    const progress = new Progress(io.stderr, orderId);
    const seen = new Map<string, string>();
    const final = await factory.watchOrder(orderId, {
      ...(timeoutMs ? { timeoutMs } : {}),
      onMode: (mode, reason) =>
        progress.log(mode === 'realtime' ? 'Live over the WebSocket' : `Polling (${reason})`),
      onUpdate: (view) => {
        for (const step of view.steps) {
          const was = seen.get(step.name);
          if (was !== step.status) {
            seen.set(step.name, step.status);
            if (was !== undefined || step.status !== 'PENDING')
              progress.log(
                `${new Date().toISOString().slice(11, 19)} ${step.name} ${step.status}${step.error ? `: ${step.error}` : ''}`,
              );
          }
        }
        const done = view.steps.filter((s) => s.status === 'COMPLETED').length;
        progress.update(done, view.steps.length, `${view.status}`);
      },
    });
    progress.done();
    print(command, final, () => describeOrder(final));
    if (finishedOrderStatuses.includes(final.status) && final.status !== 'COMPLETED')
      throw new Unfinished(`Order ${orderId} ended ${final.status}${final.error ? `: ${final.error}` : ''}`);
  }

  // ── dlq ───────────────────────────────────────────────────────────────────────────────
  const dlq = program.command('dlq').description('the dead-letter queue');
  const filterOptions = (command: Command) =>
    command
      .option('-q, --queue <queue>')
      .option('-t, --type <type>')
      .option('-e, --error-contains <text>', 'only jobs whose error contains this');

  filterOptions(dlq.command('list').description('dead jobs'))
    .option('-n, --limit <n>', 'jobs per page (1–200)', int('--limit', 1, 200), 50)
    .option('--cursor <cursor>')
    .action(async (flags, command: Command) => {
      const page = await client(command).listDeadJobs({
        queue: flags.queue,
        type: flags.type,
        errorContains: flags.errorContains,
        limit: flags.limit,
        cursor: flags.cursor,
      });
      print(command, page, () =>
        [
          table(page.jobs, ['jobId', 'queue', 'type', 'attempts', 'deadAt', 'error']),
          ...(page.nextCursor ? [`next page: --cursor ${page.nextCursor}`] : []),
        ].join('\n'),
      );
    });

  filterOptions(dlq.command('retry [jobIds...]').description('retry dead jobs by id, or by filter'))
    .option('--all', 'retry every dead job')
    .option('-n, --limit <n>', 'at most this many (filter)', int('--limit', 1, 1000))
    .action(async (jobIds: string[], flags, command: Command) => {
      const byFilter = flags.queue || flags.type || flags.errorContains || flags.all;
      if (jobIds.length > 0 && byFilter) throw new UsageError('Give job ids or a filter, not both');
      if (jobIds.length === 0 && !byFilter)
        throw new UsageError('Which dead jobs? Give job ids, --queue/--type/--error-contains, or --all');
      const result = await client(command).retryDeadJobs(
        jobIds.length > 0
          ? { jobIds }
          : {
              ...(flags.queue ? { queue: flags.queue } : {}),
              ...(flags.type ? { type: flags.type } : {}),
              ...(flags.errorContains ? { errorContains: flags.errorContains } : {}),
              ...(flags.all ? { all: true as const } : {}),
              ...(flags.limit ? { limit: flags.limit } : {}),
            },
      );
      print(command, result, () =>
        [
          `matched ${result.matched}, retried ${result.retried}, skipped ${result.skipped.length}`,
          ...result.skipped.map((s) => `  skipped ${s.jobId}: ${s.reason}`),
        ].join('\n'),
      );
    });

  filterOptions(dlq.command('export').description('dead jobs as CSV'))
    .option('-o, --output <file>', 'write the CSV here instead of stdout')
    .action(async (flags, command: Command) => {
      const csv = await client(command).exportDeadJobs({
        queue: flags.queue,
        type: flags.type,
        errorContains: flags.errorContains,
      });
      if (flags.output) {
        writeFileSync(flags.output, csv);
        note(`Wrote ${Math.max(0, csv.trimEnd().split('\n').length - 1)} dead jobs to ${flags.output}`);
      } else io.stdout.write(csv);
    });

  // ── queues, workers ───────────────────────────────────────────────────────────────────
  program
    .command('queues')
    .description('the queues and production lines, the job types each takes, pauses and rate limits')
    .action(async (_flags, command: Command) => {
      const queues = await client(command).queues();
      print(command, queues, () =>
        table(
          queues.map((q) => ({
            ...q,
            jobTypes: q.jobTypes.join(','),
            paused: q.paused ? 'paused' : '',
            rateLimit: q.rateLimit ? `${q.rateLimit.limit}/${q.rateLimit.windowMs}ms` : '',
          })),
          ['name', 'kind', 'jobTypes', 'rateLimit', 'paused'],
        ),
      );
    });

  const workers = program.command('workers').description('workers and scaling');
  workers
    .command('status')
    .description('workers per queue')
    .option('-q, --queue <queue>')
    .action(async (flags, command: Command) => {
      const status = await client(command).workersStatus(flags.queue);
      print(command, status, () =>
        table(
          status.queues.map((q) => ({
            queue: q.queue,
            ...q.summary,
            scaling: describeScaling(q.summary.scaling),
          })),
          ['queue', 'activeWorkers', 'busy', 'idle', 'lost', 'configuredConcurrency', 'paused', 'scaling'],
        ),
      );
    });

  workers
    .command('scale')
    .description('pin a queue’s concurrency (--concurrency), or hand it to the autoscaler (--auto)')
    .requiredOption('-q, --queue <queue>')
    .option('-c, --concurrency <n>', 'pin to this many workers', int('--concurrency', 1))
    .option('--auto', 'back to the autoscaler')
    .option('--min <n>', 'with --auto: lower bound', int('--min', 1))
    .option('--max <n>', 'with --auto: upper bound', int('--max', 1))
    .option('--reason <text>')
    .action(async (flags, command: Command) => {
      if (Boolean(flags.auto) === (flags.concurrency !== undefined))
        throw new UsageError(
          'Give --concurrency <n> to pin the queue, or --auto to hand it to the autoscaler',
        );
      if (!flags.auto && (flags.min !== undefined || flags.max !== undefined))
        throw new UsageError('--min and --max go with --auto');
      const event = await client(command).scaleWorkers(
        flags.auto
          ? {
              queue: flags.queue,
              mode: 'auto',
              ...(flags.min !== undefined ? { min: flags.min } : {}),
              ...(flags.max !== undefined ? { max: flags.max } : {}),
              ...(flags.reason ? { reason: flags.reason } : {}),
            }
          : {
              queue: flags.queue,
              concurrency: flags.concurrency,
              ...(flags.reason ? { reason: flags.reason } : {}),
            },
      );
      print(command, event, () => `${event.queue}: ${event.from} → ${event.to} (${event.mode})`);
    });

  // ── keys ──────────────────────────────────────────────────────────────────────────────
  // ── bench ─────────────────────────────────────────────────────────────────────────────
  program
    .command('bench')
    .description('submit N no-op jobs in bulk and time the submission and the drain (run on a quiet queue)')
    .option('-n, --jobs <n>', 'jobs to submit', int('--jobs', 1, 100_000), 1000)
    .option('-q, --queue <queue>', 'queue', 'default')
    .option('-t, --type <type>', 'job type', 'delayed_message')
    .option('-p, --payload <json>', 'payload of every job', jsonObject('--payload'))
    .option('--chunk-size <n>', 'jobs per POST /jobs/bulk call', int('--chunk-size', 1, 500), 500)
    .option(
      '--parallel <n>',
      'POST /jobs/bulk calls under way at once',
      int('--parallel', 1, maxBulkParallel),
      defaultBulkParallel,
    )
    .option('--sample <n>', 'jobs read back for the start latency', int('--sample', 0, 1000), 100)
    .option('--timeout <seconds>', 'give up waiting for the drain after this long', int('--timeout', 1), 600)
    .action(async (flags, command: Command) => {
      const result = await runBench(
        client(command),
        {
          jobs: flags.jobs,
          queue: flags.queue,
          type: flags.type,
          payload: flags.payload ?? {},
          chunkSize: flags.chunkSize,
          parallel: flags.parallel,
          sample: flags.sample,
          timeoutMs: flags.timeout * 1000,
        },
        io.stderr,
        io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      );
      print(command, result, () => describeBench(result));
      if (result.timedOut) throw new Unfinished(`The drain did not finish within ${flags.timeout} s`);
    });

  const keys = program.command('keys').description('API keys (admin)');
  keys
    .command('create')
    .description('issue a key (shown only once): keys create <admin|developer|viewer> --name <name>')
    .addArgument(new Argument('<role>', 'the new key’s role').choices([...roles]))
    .requiredOption('--name <name>', 'who or what uses the key')
    .action(async (role: (typeof roles)[number], flags, command: Command) => {
      const issued = await client(command).createKey({ name: flags.name, role });
      print(
        command,
        issued,
        () => `${issued.key}\n(${issued.keyId}, ${issued.role}) Store the key now: it is not shown again.`,
      );
    });
  keys
    .command('list')
    .description('the keys, without secrets')
    .action(async (_flags, command: Command) => {
      const list = await client(command).listKeys();
      print(command, list, () =>
        table(list, ['keyId', 'name', 'role', 'createdAt', 'lastUsedAt', 'revokedAt']),
      );
    });
  keys
    .command('revoke <keyId>')
    .description('revoke a key (refused within 30 s)')
    .action(async (keyId: string, _flags, command: Command) => {
      print(command, await client(command).revokeKey(keyId));
    });

  program.hook('preAction', () => {
    config = undefined;
  });
  Object.defineProperty(program, 'factoryConfig', { get: () => config });
  return program;
}

/** Waits for a job, showing its status live on stderr. */
async function waitWithStatus(factory: FactoryClient, jobId: string, io: CliIo, timeoutMs?: number) {
  const progress = new Progress(io.stderr, jobId);
  let last = '';
  const job = await factory.waitForJob(jobId, {
    ...(timeoutMs ? { timeoutMs } : {}),
    onUpdate: (current) => {
      const line = `${current.status} attempt ${current.attempts}/${current.maxAttempts}${current.progress?.percent !== undefined ? ` ${current.progress.percent}%` : ''}`;
      if (line !== last) {
        last = line;
        if (io.stderr.isTTY) progress.update(current.attempts, undefined, line);
      }
    },
  });
  progress.done();
  return job;
}

function readText(file: string, io: CliIo): string {
  try {
    return file === '-' ? (io.readStdin ?? (() => readFileSync(0, 'utf8')))() : readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`Cannot read ${file}: ${(error as Error).message}`);
  }
}

/** NDJSON (one job per line; blank lines and lines starting with # skipped) or a JSON array. */
export function parseJobs(text: string, name: string): JobSubmission[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as JobSubmission[];
    } catch (error) {
      throw new UsageError(`${name} is not a valid JSON array: ${(error as Error).message}`);
    }
  }
  return trimmed
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line && !line.startsWith('#'))
    .map(([line, n]) => {
      try {
        return JSON.parse(line) as JobSubmission;
      } catch (error) {
        throw new UsageError(`${name}:${n} is not valid JSON: ${(error as Error).message}`);
      }
    });
}

const readJobsFile = (file: string, io: CliIo) => parseJobs(readText(file, io), file);

function describeOrder(view: OrderStatusView): string {
  return [
    `${view.orderId} ${view.robotType} ${view.status} ${view.progress}%${view.error ? `  ${view.error}` : ''}`,
    table(
      view.steps.map((s) => ({ ...s, error: s.error ?? '' })),
      ['name', 'status', 'attempts', 'startedAt', 'completedAt', 'error'],
    ),
  ].join('\n');
}

function describeScaling(scaling: unknown): string {
  if (scaling && typeof scaling === 'object' && 'mode' in scaling)
    return String((scaling as { mode: unknown }).mode);
  return typeof scaling === 'string' ? scaling : '';
}

function table(rows: readonly object[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) =>
    columns.map((c) => {
      const value = (row as Record<string, unknown>)[c];
      return value === undefined || value === null ? '' : String(value);
    }),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => (r[i] as string).length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n');
}

/** Runs the CLI; resolves with the exit code (never calls process.exit). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  const error = (text: string) => io.stderr.write(`${text}\n`);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return exitCodes.usage;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.ok;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      // Help and --version end with a CommanderError of exit code 0; commander printed the message.
      if (thrown.exitCode === 0) return exitCodes.ok;
      return exitCodes.usage;
    }
    if (thrown instanceof UsageError) {
      error(`error: ${thrown.message}`);
      return exitCodes.usage;
    }
    if (thrown instanceof FactoryConnectionError) {
      const config = (program as Command & { factoryConfig?: ResolvedConfig }).factoryConfig;
      const url = config?.url ?? thrown.url;
      error(
        `No factory at ${url} — is \`npm start\` running? (${thrown.reason}${config ? `; URL from ${config.urlFrom}` : ''})`,
      );
      return exitCodes.unreachable;
    }
    if (thrown instanceof FactoryApiError) {
      const hint =
        thrown.status === 401
          ? ' — the key was refused: check --key / FACTORY_KEY / .local/credentials.json'
          : thrown.status === 403
            ? ' (--role or --key picks another key)'
            : '';
      error(
        `error: ${thrown.method} ${thrown.path} → ${thrown.status} ${thrown.code}: ${thrown.message}${hint}`,
      );
      if (thrown.details !== null && thrown.details !== undefined)
        error(`  details: ${JSON.stringify(thrown.details)}`);
      return exitCodes.failure;
    }
    if (thrown instanceof Unfinished || thrown instanceof FactoryTimeoutError) {
      error(`error: ${thrown.message}`);
      return exitCodes.failure;
    }
    error(`error: ${(thrown as Error)?.stack ?? String(thrown)}`);
    return exitCodes.failure;
  }
}

/** The entry point of cli/factory.mjs (`npx factory`). */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  return run(argv, {
    stdout: { write: (text) => void process.stdout.write(text), isTTY: Boolean(process.stdout.isTTY) },
    stderr: { write: (text) => void process.stderr.write(text), isTTY: Boolean(process.stderr.isTTY) },
    env: process.env,
    cwd: process.cwd(),
  });
}
