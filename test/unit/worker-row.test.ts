import { describe, expect, it } from 'vitest';
import { rowNeedsWrite } from '../../functions/domain/worker-status.ts';

describe('when a worker writes its row', () => {
  it('writes at registration, when a busy row ends, and otherwise only once the row is old', () => {
    expect(rowNeedsWrite(undefined, 'idle', 0)).toBe(true);
    // A short job right after the last write: neither its start nor its end (its count waits for
    // the invocation's end, WorkerRegistry.flush).
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 1_050)).toBe(false);
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'idle', 1_100)).toBe(false);
    // A long job: the heartbeat after the refresh period writes busy.
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 5_999)).toBe(false);
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 6_000)).toBe(true);
    // A busy row is never left behind.
    expect(rowNeedsWrite({ status: 'busy', at: 6_000 }, 'idle', 6_001)).toBe(true);
    // An idle row is refreshed by time.
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'idle', 6_000)).toBe(true);
  });

  it('writes a batch of short jobs once, at the end of the invocation', () => {
    let written: { status: 'idle' | 'busy'; at: number } | undefined;
    let writes = 0;
    let pending = 0;
    const beat = (status: 'idle' | 'busy', at: number, force = false) => {
      if (!force && !rowNeedsWrite(written, status, at)) return;
      writes++;
      pending = 0;
      written = { status, at };
    };
    beat('idle', 0); // registration
    // Ten invocations of ten 14 ms jobs (2 s in all): each ends with a flush of its counts.
    for (let invocation = 0; invocation < 10; invocation++) {
      for (let job = 0; job < 10; job++) {
        const at = (invocation * 10 + job) * 20;
        beat('busy', at + 1);
        pending++;
        beat('idle', at + 15);
      }
      if (pending > 0) beat('idle', (invocation + 1) * 200, true);
    }
    expect(writes).toBe(1 + 10);
  });
});
