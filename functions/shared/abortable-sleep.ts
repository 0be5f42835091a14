/**
 * A sleep that an abort ends by rejecting with the signal's reason as it is.
 *
 * Node's `timers/promises` sleep builds a new AbortError, with its stack, for each sleep an abort
 * ends. A job attempt ends two such sleeps every time (its heartbeat's and its start line's), and
 * with the abort's own event that was ~5 % of a job worker's CPU in a drain of no-op jobs. A job
 * type's `context.sleep` still gets an AbortError of its own (job-lifecycle.ts `asAbortError`).
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
