/** The bench's throughput table: what a job cost the factory's process, beside the rates. */

import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type JobCost,
  processCpu,
  type ThroughputRun,
  throughputTable,
} from '../../localstack/bench/throughput.ts';
import { LocalAdmin } from '../../localstack/cloud/admin.ts';
import { CallCounter } from '../../localstack/cloud/call-counter.ts';
import type { LambdaRuntime } from '../../localstack/cloud/lambda-runtime.ts';

const run = (drainPerSecond: number, cost?: JobCost): ThroughputRun => ({
  system: 'factory',
  submitPerSecond: 2_000,
  drainPerSecond,
  startP50Ms: 20_000,
  startP95Ms: 30_000,
  idleStartP50Ms: 10,
  memoryMb: 900,
  memoryOf: 'RSS',
  retried: 0,
  ...(cost ? { cost } : {}),
});

const cost = (drainCpuMs: number, query: number, mainThreadCpuMs = drainCpuMs / 3): JobCost => ({
  intakeCpuMs: 0.9,
  intakeMainThreadCpuMs: 0.3,
  drainCpuMs,
  drainMainThreadCpuMs: mainThreadCpuMs,
  calls: 3 + query,
  // Not in order: the table sorts them.
  callsByAction: { 'sqs:SendMessageBatch': 0.004, 'dynamodb:Query': query, 'dynamodb:UpdateItem': 2.1 },
  pollingByAction: { 'sqs:ReceiveMessage': 0.17 },
  writeUnits: 6.7,
});

describe('the throughput table', () => {
  it("prints the median round's CPU per job, the drain's bound by the cores and by the main thread, and the calls by action", () => {
    const lines = throughputTable(
      10_000,
      [run(250, cost(6, 0.3)), run(280, cost(5, 0.2)), run(260, cost(7, 0.1))],
      ['redis-server not found'],
    );
    expect(lines.find((line) => line.includes('CPU per job'))).toMatch(
      /intake 0\.90 ms, drain 6\.00 ms; the main thread 2\.30 ms of them/,
    );
    const cores = availableParallelism();
    const byCores = (cores * 1000) / 6.9;
    expect(lines.find((line) => line.includes("drain's bound"))).toContain(
      `${cores} cores ÷ 6.90 ms = ${byCores.toFixed(0)} jobs/s, the main thread's core ÷ 2.30 ms = 435 jobs/s: ` +
        (byCores <= 435 ? 'the cores bind' : 'the main thread binds'),
    );
    const calls = lines.find((line) => line.includes('AWS calls per job'));
    // Busiest action first; one called less than once in a hundred jobs left out; polling apart.
    expect(calls).toContain(
      '3.20, 6.7 write units (dynamodb:UpdateItem 2.10, dynamodb:Query 0.20); event source polling apart: sqs:ReceiveMessage 0.17',
    );
  });

  it('says the main thread binds when its share of a job is what limits the drain', () => {
    const lines = throughputTable(10_000, [run(250, cost(2, 0.1, 2.5))], ['redis-server not found']);
    expect(lines.find((line) => line.includes("drain's bound"))).toMatch(
      /= 357 jobs\/s: the main thread binds$/,
    );
  });

  it('prints no cost lines when the factory could not be probed', () => {
    const lines = throughputTable(10_000, [run(250)], ['redis-server not found']);
    expect(lines.some((line) => line.includes('per job'))).toBe(false);
  });
});

describe("a process's CPU time from /proc", () => {
  it.runIf(process.platform === 'linux')(
    'reads the whole process and its main thread, which has used no more',
    () => {
      // Prepare: some CPU on this thread, so that the reading is above a tick.
      const until = performance.now() + 50;
      while (performance.now() < until);
      // Act
      const { processMs, mainThreadMs } = processCpu(process.pid);
      // Assess: whole ticks of 10 ms, the main thread's within the process's, and at most the time
      // this process has been alive on every core.
      expect(processMs % 10).toBe(0);
      expect(mainThreadMs).toBeGreaterThan(0);
      expect(mainThreadMs).toBeLessThanOrEqual(processMs);
      expect(processMs).toBeLessThanOrEqual(process.uptime() * 1000 * availableParallelism() + 10);
    },
  );
});

describe("the local cloud's usage", () => {
  it('answers the calls served by action and the write units by table', async () => {
    const admin = new LocalAdmin({} as LambdaRuntime);
    const calls = new CallCounter();
    calls.record('dynamodb', 'Query');
    calls.record('dynamodb', 'Query');
    calls.record('sqs', 'SendMessageBatch');
    admin.usage = { calls, writeUnits: { snapshot: () => ({ jobs: 12 }) } };
    const answer = await admin.handle({
      method: 'GET',
      url: '/__local/usage',
      headers: {},
      body: Buffer.alloc(0),
    });
    expect(answer?.status).toBe(200);
    expect(JSON.parse(String(answer?.body))).toEqual({
      calls: { 'dynamodb:Query': 2, 'sqs:SendMessageBatch': 1 },
      writeUnits: { jobs: 12 },
    });
  });
});
