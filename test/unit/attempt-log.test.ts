/** An attempt's log lines: one write for a short attempt that completes, more only when needed. */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import type { JobContext, JobType } from '../../functions/job-types/job-type.ts';
import { attemptHarness, now, queuedJob } from './fixtures/attempt-harness.ts';

const settings = { leaseMs: 30_000, heartbeatEveryMs: 5_000, startLineAfterMs: 1_000 };

/** Sleeps that end only when aborted (the attempt ends first), except those of `endsAt` ms. */
const clockWhere =
  (endsAt: number[] = []) =>
  (ms: number, signal?: AbortSignal) =>
    endsAt.includes(ms)
      ? Promise.resolve()
      : new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));

/** A job type whose run ends when the test says, after logging what it is given. */
function steerable(lines: string[] = []) {
  let finish: (outcome: Error | undefined) => void = () => undefined;
  const running = new Promise<Error | undefined>((resolve) => {
    finish = resolve;
  });
  const type: JobType = {
    name: 'steerable',
    description: 'ends on cue',
    payload: z.object({}).passthrough(),
    defaults: { maxAttempts: 3, timeoutMs: 60_000 },
    async run(_payload, context: JobContext) {
      for (const line of lines) await context.log('INFO', line);
      const error = await running;
      if (error) throw error;
      return { ok: true };
    },
  };
  return { type, finish: (error?: Error) => finish(error) };
}

const types = (type: JobType) => new Map([[type.name, type]]);

describe('log lines of an attempt', () => {
  it('writes one line, with the start time, for a short attempt that completes', async () => {
    const job = steerable();
    const { ports, logs } = attemptHarness([queuedJob('j1', 5, 'steerable')], {
      sleep: clockWhere(),
      types: types(job.type),
    });
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    job.finish();
    expect(await attempt).toBe('completed');
    expect(logs).toHaveLength(1);
    expect(logs[0]?.message).toMatch(/^Attempt 1 of 3 started on default; completed in \d+ ms$/);
    expect(logs[0]?.timestamp).toBe(now.toISOString());
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
});
