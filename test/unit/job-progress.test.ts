/** Job progress: as often as the handler likes, to the row at most once a second. */
import { describe, expect, it } from 'vitest';
import { type JobProgress, progressReporter } from '../../functions/domain/job-progress.ts';

/** A clock whose sleeps end when the test moves time on. */
function manualClock() {
  let now = Date.parse('2026-12-01T10:00:00.000Z');
  const sleepers: { until: number; wake: () => void }[] = [];
  return {
    now: () => new Date(now),
    sleep: (ms: number, signal: AbortSignal) =>
      new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        sleepers.push({ until: now + ms, wake: resolve });
      }),
    async advance(ms: number) {
      now += ms;
      for (const s of sleepers.splice(0))
        if (s.until <= now) s.wake();
        else sleepers.push(s);
      await new Promise((r) => setImmediate(r));
    },
  };
}

describe('progressReporter', () => {
  it('writes the first report at once and then the latest at most once a second', async () => {
    const clock = manualClock();
    const written: JobProgress[] = [];
    const reporter = progressReporter(async (p) => void written.push(p), clock);
    reporter.report(0, 'loading');
    await clock.advance(100);
    reporter.report(10);
    reporter.report(42.4, 'decoding');
    expect(written.map((p) => p.percent)).toEqual([0]);
    await clock.advance(900);
    expect(written.map((p) => [p.percent, p.message])).toEqual([
      [0, 'loading'],
      [42, 'decoding'],
    ]);
    await reporter.close();
  });

  it('clamps to 0–100, ignores what is not a number, and drops a report the attempt outlived', async () => {
    const clock = manualClock();
    const written: JobProgress[] = [];
    const reporter = progressReporter(async (p) => void written.push(p), clock);
    reporter.report(250);
    reporter.report(Number.NaN);
    reporter.report(-5);
    expect(await reporter.close()).toMatchObject({ percent: 0 });
    await clock.advance(2_000);
    expect(written.map((p) => p.percent)).toEqual([100]);
  });

  it("on close, ends a waiting report's sleep and writes nothing more, then ignores reports", async () => {
    const clock = manualClock();
    const signals: AbortSignal[] = [];
    const sleep = clock.sleep;
    clock.sleep = (ms: number, signal: AbortSignal) => {
      signals.push(signal);
      return sleep(ms, signal);
    };
    const written: JobProgress[] = [];
    const reporter = progressReporter(async (p) => void written.push(p), clock);
    reporter.report(10);
    reporter.report(20); // waits for its turn
    expect(signals).toHaveLength(1);
    expect(signals[0]?.aborted).toBe(false);
    expect((await reporter.close())?.percent).toBe(20);
    expect(signals[0]?.aborted).toBe(true);
    reporter.report(30);
    await clock.advance(5_000);
    expect(written.map((p) => p.percent)).toEqual([10]);
  });

  it('never fails the job when a write fails', async () => {
    const clock = manualClock();
    const reporter = progressReporter(async () => {
      throw new Error('throttled');
    }, clock);
    reporter.report(50, 'halfway');
    // The last report still reaches the settlement.
    await expect(reporter.close()).resolves.toMatchObject({ percent: 50, message: 'halfway' });
  });
});
