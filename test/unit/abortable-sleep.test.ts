import { afterEach, describe, expect, it, vi } from 'vitest';
import { abortableSleep } from '../../functions/shared/abortable-sleep.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('abortableSleep', () => {
  it('resolves after its time and leaves no listener on the signal', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const added = vi.spyOn(controller.signal, 'addEventListener');
    const removed = vi.spyOn(controller.signal, 'removeEventListener');
    let done = false;
    const slept = abortableSleep(1_000, controller.signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
    // The very listener it added is gone.
    expect(added).toHaveBeenCalledTimes(1);
    expect(removed).toHaveBeenCalledWith('abort', added.mock.calls[0]?.[1]);
  });

  it('rejects with the abort reason itself, at once, and its timer is cleared', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const reason = new Error('attempt over');
    const slept = abortableSleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects with the reason of a signal aborted before it began, without a timer', async () => {
    vi.useFakeTimers();
    const reason = { why: 'cancelled' };
    await expect(abortableSleep(10, AbortSignal.abort(reason))).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('sleeps without a signal', async () => {
    vi.useFakeTimers();
    const slept = abortableSleep(5);
    await vi.advanceTimersByTimeAsync(5);
    await expect(slept).resolves.toBeUndefined();
  });
});
