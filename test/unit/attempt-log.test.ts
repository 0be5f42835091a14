/** An attempt's log lines: one write for a short attempt that completes, more only when needed. */
import { describe, expect, it } from 'vitest';
import { runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import {
  itemSizeOf,
  type JobRecord,
  jobLogOf,
  settledLineBudget,
  settledLineFits,
} from '../../functions/domain/jobs.ts';
import type { JobType } from '../../functions/job-types/job-type.ts';
import { attemptHarness, now, queuedJob, steerable } from './fixtures/attempt-harness.ts';

const settings = { leaseMs: 30_000, heartbeatEveryMs: 5_000, startLineAfterMs: 1_000 };

/** Sleeps that end only when aborted (the attempt ends first), except those of `endsAt` ms. */
const clockWhere =
  (endsAt: number[] = []) =>
  (ms: number, signal?: AbortSignal) =>
    endsAt.includes(ms)
      ? Promise.resolve()
      : new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));

const types = (type: JobType) => new Map([[type.name, type]]);

describe('log lines of an attempt', () => {
  it('keeps the one line of a short attempt that completes on the row it settles, with the start time', async () => {
    const job = steerable();
    const { ports, logs, jobs } = attemptHarness([queuedJob('j1', 5, 'steerable')], {
      sleep: clockWhere(),
      types: types(job.type),
    });
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    job.finish();
    expect(await attempt).toBe('completed');
    // No item of its own in the log table: the settle wrote it.
    expect(logs).toHaveLength(0);
    const settled = jobs.get('j1');
    expect(settled?.settledLine?.message).toMatch(/^Attempt 1 of 3 started on default; completed in \d+ ms$/);
    expect(settled?.settledLine?.timestamp).toBe(now.toISOString());
    // The log shows it like any other line.
    expect(jobLogOf(logs, settled ?? {}).map((l) => l.message)).toEqual([settled?.settledLine?.message]);
  });

  it('writes that line to the log when the row has no room for it (it would cost a write unit more)', async () => {
    const job = steerable();
    const big = { ...queuedJob('j1', 5, 'steerable'), payload: { note: 'x'.repeat(settledLineBudget) } };
    const { ports, logs, jobs } = attemptHarness([big], { sleep: clockWhere(), types: types(job.type) });
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    job.finish();
    expect(await attempt).toBe('completed');
    expect(jobs.get('j1')?.settledLine).toBeUndefined();
    expect(logs.map((l) => l.message)).toEqual([
      expect.stringMatching(/^Attempt 1 of 3 started on default; completed in \d+ ms$/),
    ]);
  });

  it('writes the start line on its own once the attempt outlives the start-line delay', async () => {
    const job = steerable();
    const { ports, logs } = attemptHarness([queuedJob('j1', 5, 'steerable')], {
      sleep: clockWhere([settings.startLineAfterMs]),
      types: types(job.type),
    });
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    await new Promise((r) => setImmediate(r));
    // Still running: an operator reading the log sees it started.
    expect(logs.map((l) => l.message)).toEqual(['Attempt 1 of 3 started on default']);
    job.finish();
    await attempt;
    expect(logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on default',
      expect.stringMatching(/^Attempt 1 completed in \d+ ms$/),
    ]);
  });

  it("puts the start line before the job's own lines", async () => {
    const job = steerable(['halfway there']);
    const { ports, logs } = attemptHarness([queuedJob('j1', 5, 'steerable')], {
      sleep: clockWhere(),
      types: types(job.type),
    });
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    job.finish();
    await attempt;
    expect(logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on default',
      'halfway there',
      expect.stringMatching(/^Attempt 1 completed in/),
    ]);
  });

  it('keeps the start line apart from a failure', async () => {
    const job = steerable();
    const { ports, logs } = attemptHarness([queuedJob('j1', 5, 'steerable')], {
      sleep: clockWhere(),
      types: types(job.type),
    });
    ports.jobs.settle = async (row, _token, settlement) => ({ ...row, status: settlement.status }) as never;
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    job.finish(new Error('gripper jammed'));
    expect(await attempt).toBe('retrying');
    expect(logs.map((l) => l.message)).toEqual([
      'Attempt 1 of 3 started on default',
      expect.stringMatching(/^Attempt 1 failed after \d+ ms: gripper jammed; retry in/),
    ]);
  });

  it("shows a line kept on the row in time order among the log table's lines", () => {
    const line = (timestamp: string, message: string) =>
      ({ timestamp, level: 'INFO', message, attempt: 1, workerId: 'w1' }) as const;
    const table = [line('2026-12-01T10:00:00.000Z', 'a'), line('2026-12-01T10:00:02.000Z', 'c')];
    expect(
      jobLogOf(table, { settledLine: line('2026-12-01T10:00:01.000Z', 'b') }).map((l) => l.message),
    ).toEqual(['a', 'b', 'c']);
    expect(jobLogOf(table, {})).toEqual(table);
  });

  it('measures the row as DynamoDB bills it: UTF-8 bytes of names and values', () => {
    expect(itemSizeOf({ jobId: 'job_1', attempts: 1, ok: true, tags: ['a'], at: { s: 'x' } })).toBe(
      5 + 5 + (8 + 3) + (2 + 1) + (4 + 3 + 1 + 1) + (2 + 3 + 1 + 1 + 1),
    );
    const line = {
      timestamp: now.toISOString(),
      level: 'INFO',
      message: 'done',
      attempt: 1,
      workerId: 'w1',
    } as const;
    const row = (note: string) => ({ ...queuedJob('j1', 5), payload: { note } });
    const room =
      settledLineBudget - itemSizeOf({ ...row(''), queueStatus: 'default#COMPLETED', settledLine: line });
    expect(settledLineFits(row('a'.repeat(room)), {}, line)).toBe(true);
    expect(settledLineFits(row('a'.repeat(room + 1)), {}, line)).toBe(false);
    // As many characters, three bytes each: no room.
    expect(settledLineFits(row('機'.repeat(room)), {}, line)).toBe(false);
  });

  it("keeps the line of a no-op job of a batch on its row (a bench job's row, as stored: 786 bytes)", () => {
    const claimed = {
      jobId: 'job_mxb89k7lfe3f98baefa3',
      kind: 'job',
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'bench-497', holdMs: 0 },
      priority: 9,
      status: 'RUNNING',
      attempts: 1,
      maxAttempts: 3,
      backoff: { type: 'exponential', delayMs: 1000, maxDelayMs: 3_600_000, jitter: false },
      runAt: '2026-12-06T02:33:58.159Z',
      timeoutMs: 60_000,
      dependsOn: [],
      batchId: 'batch_mxb89k6w01b7484cd1',
      createdAt: '2026-12-06T02:33:58.159Z',
      updatedAt: '2026-12-06T02:34:01.829Z',
      queueStatus: 'default#RUNNING',
      attemptToken: '49d36648-d8b7-4994-924f-acb62eafdae0',
      workerId: 'default:841928a88e42fab6',
      startedAt: '2026-12-06T02:34:01.829Z',
      leaseExpiresAt: 1_765_001_671_829,
    } as unknown as JobRecord;
    const line = {
      timestamp: '2026-12-06T02:34:01.831Z',
      level: 'INFO',
      message: 'Attempt 1 of 3 started on default; completed in 0 ms',
      attempt: 1,
      workerId: 'default:841928a88e42fab6',
    } as const;
    const settled = {
      status: 'COMPLETED',
      completedAt: '2026-12-06T02:34:01.831Z',
      result: { message: 'bench-497', deliveredAt: '2026-12-06T02:34:01.831Z' },
      expiresAt: 1_797_129_241,
    };
    expect(settledLineFits(claimed, settled, line)).toBe(true);
  });
});
