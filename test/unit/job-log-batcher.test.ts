/**
 * A job worker's log lines written together (adapters/job-log-store.ts, JobLogBatcher): held up
 * to a delay or 25 lines, flushed at the end of an invocation, and a failed write reported with
 * the count of lines it lost.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JobLogBatcher, type JobLogLine } from '../../functions/adapters/job-log-store.ts';
import type { JobLogEntry } from '../../functions/domain/jobs.ts';

const entry = (message: string): JobLogEntry => ({
  timestamp: '2026-12-05T07:00:00.000Z',
  level: 'INFO',
  message,
  attempt: 1,
  workerId: 'default:env-1',
});

/** A log table that records each batch it is given. */
function fakeStore(fail = false) {
  const batches: string[][] = [];
  return {
    batches,
    appendMany: async (lines: readonly JobLogLine[]) => {
      if (fail) throw new Error('throttled');
      batches.push(lines.map((line) => `${line.jobId}: ${line.entry.message}`));
    },
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('JobLogBatcher', () => {
  it('writes the lines of several jobs in one batch once the delay is up', async () => {
    // Arrange
    const store = fakeStore();
    const logs = new JobLogBatcher(store, () => undefined, 250);

    // Act
    await logs.append('job_a', entry('Attempt 1 of 3 started on default; completed in 4 ms'));
    await logs.append('job_b', entry('Attempt 1 of 3 started on default; completed in 6 ms'));
    await vi.advanceTimersByTimeAsync(249);
    const beforeTheDelay = store.batches.length;
    await vi.advanceTimersByTimeAsync(1);

    // Assert
    expect(beforeTheDelay).toBe(0);
    expect(store.batches).toEqual([
      [
        'job_a: Attempt 1 of 3 started on default; completed in 4 ms',
        'job_b: Attempt 1 of 3 started on default; completed in 6 ms',
      ],
    ]);
  });

  it('writes at once when 25 lines are held, and the rest at the flush', async () => {
    // Arrange
    const store = fakeStore();
    const logs = new JobLogBatcher(store, () => undefined, 60_000);

    // Act
    for (let i = 0; i < 27; i++) await logs.append(`job_${i}`, entry(`line ${i}`));
    await Promise.resolve();
    const sizesBeforeFlush = store.batches.map((batch) => batch.length);
    await logs.flush();

    // Assert
    expect(sizesBeforeFlush).toEqual([25]);
    expect(store.batches.map((batch) => batch.length)).toEqual([25, 2]);
  });

  it('resolves a flush only once every write started before it has ended', async () => {
    // Arrange: a table that answers when told to.
    let answer: () => void = () => undefined;
    const written: string[] = [];
    const logs = new JobLogBatcher(
      {
        appendMany: (lines) =>
          new Promise<void>((resolve) => {
            answer = () => {
              written.push(...lines.map((line) => line.entry.message));
              resolve();
            };
          }),
      },
      () => undefined,
    );
    await logs.append('job_a', entry('first'));
    const flushed = logs.flush();
    let done = false;
    void flushed.then(() => {
      done = true;
    });

    // Act
    await Promise.resolve();
    const doneBeforeTheAnswer = done;
    answer();
    await flushed;

    // Assert
    expect(doneBeforeTheAnswer).toBe(false);
    expect(written).toEqual(['first']);
  });

  it('reports lines it could not write, and does not fail the attempt that wrote them', async () => {
    // Arrange
    const lost: number[] = [];
    const logs = new JobLogBatcher(fakeStore(true), (_error, lines) => lost.push(lines));

    // Act
    await logs.append('job_a', entry('one'));
    await logs.append('job_b', entry('two'));
    await logs.flush();

    // Assert
    expect(lost).toEqual([2]);
  });

  it('writes nothing when nothing is held', async () => {
    // Arrange
    const store = fakeStore();
    const logs = new JobLogBatcher(store, () => undefined);

    // Act
    await logs.flush();
    await vi.advanceTimersByTimeAsync(1000);

    // Assert
    expect(store.batches).toEqual([]);
  });
});
