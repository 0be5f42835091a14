/** The bench's throughput table: what a job cost the factory's process, beside the rates. */
import { describe, expect, it } from 'vitest';
import { type JobCost, type ThroughputRun, throughputTable } from '../../localstack/bench/throughput.ts';
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

const cost = (drainCpuMs: number, query: number): JobCost => ({
  intakeCpuMs: 0.9,
  drainCpuMs,
  drainMainThreadCpuMs: drainCpuMs / 3,
  calls: 3 + query,
  callsByAction: { 'dynamodb:UpdateItem': 2.1, 'dynamodb:Query': query, 'sqs:SendMessageBatch': 0.004 },
  writeUnits: 6.7,
});

describe('the throughput table', () => {
  it("prints the median round's CPU per job, the bound it sets on the drain, and the calls by action", () => {
    const lines = throughputTable(
      10_000,
      [run(250, cost(6, 0.3)), run(280, cost(5, 0.2)), run(260, cost(7, 0.1))],
      ['redis-server not found'],
    );
    const cpu = lines.find((line) => line.includes('CPU per job'));
    expect(cpu).toMatch(/intake 0\.90 ms, drain 6\.00 ms \(main thread 2\.00 ms\)/);
    expect(cpu).toMatch(/cores ÷ 6\.00 ms = a \d+ jobs\/s bound on the drain/);
    const calls = lines.find((line) => line.includes('AWS calls per job'));
    // Busiest action first; one called less than once in a hundred jobs left out.
    expect(calls).toContain('3.20, 6.7 write units (dynamodb:UpdateItem 2.10, dynamodb:Query 0.20)');
  });

  it('prints no cost lines when the factory could not be probed', () => {
    const lines = throughputTable(10_000, [run(250)], ['redis-server not found']);
    expect(lines.some((line) => line.includes('per job'))).toBe(false);
  });
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
