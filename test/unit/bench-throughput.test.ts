/** The bench's throughput table: what a job cost the factory's process, beside the rates. */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  type JobCost,
  processCpu,
  type ThroughputRun,
  type TimedReading,
  throughputTable,
  timedCost,
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

const cost = (timedCpuMs: number, query: number, timedMainThreadCpuMs = timedCpuMs / 3): JobCost => ({
  intakeCpuMs: 0.9,
  intakeMainThreadCpuMs: 0.3,
  drainCpuMs: 7,
  drainMainThreadCpuMs: 2,
  calls: 3 + query,
  // Not in order: the table sorts them.
  callsByAction: { 'sqs:SendMessageBatch': 0.004, 'dynamodb:Query': query, 'dynamodb:UpdateItem': 2.1 },
  pollingByAction: { 'sqs:ReceiveMessage': 0.17 },
  writeUnits: 6.7,
  timed: { cpuMs: timedCpuMs, mainThreadCpuMs: timedMainThreadCpuMs, coresBusy: 1.9 },
});

describe('the throughput table', () => {
  it("prints the median round's CPU per job, the drain's bound by the cores and by the main thread, and the calls by action", () => {
    const lines = throughputTable(
      10_000,
      [run(250, cost(8, 0.3)), run(280, cost(6, 0.2)), run(260, cost(9, 0.1))],
      ['redis-server not found'],
    );
    expect(lines.find((line) => line.includes('until every job was counted'))).toMatch(
      /intake 0\.90 ms, drain 7\.00 ms, the main thread 2\.30 ms of them/,
    );
    const cores = availableParallelism();
    const byCores = (cores * 1000) / 8;
    expect(lines.find((line) => line.includes('the drain as timed'))).toContain(
      `8.00 ms of CPU a job (the main thread 2.67 ms), 1.90 of ${cores} cores busy; at full use ${byCores.toFixed(0)} jobs/s by the cores, 375 by the main thread's core: ` +
        (byCores <= 375 ? 'the cores bind' : 'the main thread binds'),
    );
    const calls = lines.find((line) => line.includes('AWS calls per job'));
    // Busiest action first; one called less than once in a hundred jobs left out; polling apart.
    expect(calls).toContain(
      '3.20, 6.7 write units (dynamodb:UpdateItem 2.10, dynamodb:Query 0.20); event source polling apart: sqs:ReceiveMessage 0.17',
    );
  });

  it('says the main thread binds when its share of a job is what limits the drain', () => {
    const lines = throughputTable(10_000, [run(250, cost(2, 0.1, 2.5))], ['redis-server not found']);
    expect(lines.find((line) => line.includes('the drain as timed'))).toMatch(
      /400 by the main thread's core: the main thread binds$/,
    );
  });

  it("names the autoscaler's changes within each round's drain", () => {
    const lines = throughputTable(
      10_000,
      [
        { ...run(250), scaling: [] },
        { ...run(280), scaling: [{ afterS: 31.4, from: 12, to: 24 }] },
        run(260),
      ],
      ['redis-server not found'],
    );
    expect(lines).toContain(
      "  autoscaler within the drain (default queue's workers): round 1 none; round 2 12 → 24 at +31 s; round 3 unknown",
    );
  });

  it('prints no cost lines when the factory could not be probed', () => {
    const lines = throughputTable(10_000, [run(250)], ['redis-server not found']);
    expect(lines.some((line) => line.includes('per job'))).toBe(false);
  });
});

describe('the CPU a job took within the drain as timed', () => {
  it('reads the CPU at both ends between the readings around them', () => {
    // Prepare: readings a second apart; the drain from 0.5 s to 2.25 s.
    const readings: TimedReading[] = [
      { at: 10_000, processMs: 0, mainThreadMs: 0 },
      { at: 11_000, processMs: 2_000, mainThreadMs: 1_000 },
      { at: 12_000, processMs: 3_000, mainThreadMs: 1_000 },
      { at: 13_000, processMs: 7_000, mainThreadMs: 2_000 },
    ];
    // Act
    const timed = timedCost(100, readings, 10_500, 12_250);
    // Assess: 1,000 → 4,000 ms of CPU over 1.75 s, main thread 500 → 1,250 ms.
    expect(timed.cpuMs).toBeCloseTo(30);
    expect(timed.mainThreadCpuMs).toBeCloseTo(7.5);
    expect(timed.coresBusy).toBeCloseTo(3_000 / 1_750);
  });

  it('holds to the first and the last reading outside them', () => {
    const readings: TimedReading[] = [
      { at: 10_000, processMs: 100, mainThreadMs: 50 },
      { at: 11_000, processMs: 900, mainThreadMs: 250 },
    ];
    expect(timedCost(10, readings, 9_000, 12_000)).toEqual({
      cpuMs: 80,
      mainThreadCpuMs: 20,
      coresBusy: 800 / 3_000,
    });
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
