/**
 * How an attempt's end reaches its job type: a sleep on the attempt's signal rejects as Node's
 * own sleep does (an AbortError whose cause is why the attempt ended), and the recorded failure
 * is the attempt's reason whatever the handler does with that error.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { runJobAttempt } from '../../functions/domain/job-lifecycle.ts';
import type { JobType } from '../../functions/job-types/job-type.ts';
import { abortableSleep } from '../../functions/shared/abortable-sleep.ts';
import { attemptHarness, queuedJob } from './fixtures/attempt-harness.ts';

const settings = { leaseMs: 30_000, heartbeatEveryMs: 5_000, startLineAfterMs: 1_000 };

afterEach(() => {
  vi.useRealTimers();
});

/** The harness's store, settling as asked and keeping each settlement. */
function recordSettlements(harness: ReturnType<typeof attemptHarness>) {
  const settlements: { status: string; error?: string }[] = [];
  const store = harness.ports.jobs as unknown as Record<string, unknown>;
  store.settle = async (row: object, _token: string, settlement: { status: string; error?: string }) => {
    settlements.push(settlement);
    return { ...row, status: settlement.status };
  };
  return settlements;
}

/** A job type that sleeps on its attempt's signal and annotates the error it gets, as handlers do. */
function sleeper() {
  const seen: unknown[] = [];
  const type: JobType = {
    name: 'sleeper',
    description: 'sleeps past its timeout',
    payload: z.object({}).passthrough(),
    defaults: { maxAttempts: 1, timeoutMs: 50 },
    async run(_payload, context) {
      try {
        await context.sleep(10_000, context.signal);
      } catch (error) {
        seen.push(error);
        (error as Error).message = `phase 2: ${(error as Error).message}`;
        throw error;
      }
      return {};
    },
  };
  return { type, seen };
}

describe('an attempt ended by its timeout', () => {
  it("hands the job type an AbortError of its own, and records the timeout, not the handler's edit", async () => {
    vi.useFakeTimers();
    const job = sleeper();
    // The worker's own clock: its sleeps reject with the abort's reason itself.
    const harness = attemptHarness([{ ...queuedJob('j1', 5, 'sleeper'), timeoutMs: 50, maxAttempts: 1 }], {
      sleep: abortableSleep,
      types: new Map([[job.type.name, job.type]]),
    });
    const settlements = recordSettlements(harness);
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', harness.ports, settings);
    await vi.advanceTimersByTimeAsync(50);
    expect(await attempt).toBe('dead');

    expect(job.seen).toHaveLength(1);
    const error = job.seen[0] as Error & { code?: string; cause?: unknown };
    expect(error.name).toBe('AbortError');
    expect(error.code).toBe('ABORT_ERR');
    expect(error.message).toBe('phase 2: The operation was aborted');
    expect((error.cause as Error).message).toBe('Timed out after 50 ms');
    expect(settlements).toEqual([
      expect.objectContaining({ status: 'DEAD', error: 'Timed out after 50 ms' }),
    ]);
  });

  it('leaves a rejection that is not the abort as it is', async () => {
    vi.useFakeTimers();
    const failing: JobType = {
      name: 'failing',
      description: 'its sleep fails on its own',
      payload: z.object({}).passthrough(),
      defaults: { maxAttempts: 1, timeoutMs: 60_000 },
      async run(_payload, context) {
        await context.sleep(5, context.signal);
        return {};
      },
    };
    const broken = new Error('clock broke');
    const harness = attemptHarness([{ ...queuedJob('j1', 5, 'failing'), maxAttempts: 1 }], {
      sleep: (ms, signal) => (ms === 5 ? Promise.reject(broken) : abortableSleep(ms, signal)),
      types: new Map([[failing.name, failing]]),
    });
    const settlements = recordSettlements(harness);
    expect(await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', harness.ports, settings)).toBe(
      'dead',
    );
    expect(settlements.map((s) => s.error)).toEqual(['clock broke']);
  });
});
