/**
 * `npm run chaos`: the factory under faults (localstack/chaos/run-chaos.ts), on a local factory of
 * its own in .local/chaos. Prints a table and exits non-zero when a job was lost, got stuck or
 * completed twice, or an order did not complete.
 */
import './cloud/quiet-sdk.ts';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, runChaos } from './chaos/run-chaos.ts';

const usage = `Usage: npm run chaos [-- options]
  --jobs N              jobs of mixed types (default 10000)
  --orders N            robot orders of every type (default 12)
  --crash-rate R        share of job attempts killed mid-run (default 0.1)
  --crash-seconds S     how long workers crash, from the first submission (default: all along)
  --fault-rate R        share of SQS, DynamoDB and Step Functions calls that fail (default 0.2)
  --fault-seconds S     how long the faults last (default 60)
  --duplicate-rate R    share of jobs delivered twice (default 0.05)
  --restart-at R        kill -9 and restart when this share has finished; 0: never (default 0.4)
  --timeout-seconds S   longest wait for quiescence (default 1800, or 0.5 s per job if longer:
                        under crashes and faults this machine drains ~6 jobs/s)`;

let values: Record<string, string | undefined>;
try {
  values = parseArgs({
    options: Object.fromEntries(
      [
        'jobs',
        'orders',
        'crash-rate',
        'crash-seconds',
        'fault-rate',
        'fault-seconds',
        'duplicate-rate',
        'restart-at',
        'timeout-seconds',
      ].map((name) => [name, { type: 'string' as const }]),
    ),
  }).values as Record<string, string | undefined>;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const number = (name: string, fallback: number, max = Number.POSITIVE_INFINITY) => {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || value > max) {
    console.error(`--${name} must be a number from 0 to ${max}, got "${raw}"\n${usage}`);
    process.exit(2);
  }
  return value;
};

const report = await runChaos({
  jobs: Math.round(number('jobs', 10_000, 1_000_000)),
  orders: Math.round(number('orders', 12, 10_000)),
  crashRate: number('crash-rate', 0.1, 1),
  ...(values['crash-seconds'] === undefined ? {} : { crashSeconds: number('crash-seconds', 0) }),
  faultRate: number('fault-rate', 0.2, 1),
  faultSeconds: number('fault-seconds', 60),
  duplicateRate: number('duplicate-rate', 0.05, 1),
  restartAt: number('restart-at', 0.4, 1),
  timeoutSeconds: number('timeout-seconds', Math.max(1800, Math.ceil(number('jobs', 10_000) * 0.5))),
  dir: path.resolve('.local', 'chaos'),
  log: (line) => process.stderr.write(`${line}\n`),
});
console.log(formatReport(report));
process.exit(report.ok ? 0 : 1);
