import { describe, expect, it } from 'vitest';
import { rowNeedsWrite } from '../../functions/domain/worker-status.ts';

describe('when a worker writes its row', () => {
  it('writes at registration, at the end of every job, and at a start only once the row is old', () => {
    expect(rowNeedsWrite(undefined, 'idle', 0)).toBe(true);
    // A short job right after the last write: its start is not written, its end is.
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 1_050)).toBe(false);
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'idle', 1_100)).toBe(true);
    // A long job: the heartbeat after the refresh period writes busy.
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 5_999)).toBe(false);
    expect(rowNeedsWrite({ status: 'idle', at: 1_000 }, 'busy', 6_000)).toBe(true);
    // A busy row is never left behind.
    expect(rowNeedsWrite({ status: 'busy', at: 6_000 }, 'idle', 6_001)).toBe(true);
  });

  it('saves one write per short job in a stream of them', () => {
    let written: { status: 'idle' | 'busy'; at: number } | undefined;
    let writes = 0;
    const beat = (status: 'idle' | 'busy', at: number) => {
      if (!rowNeedsWrite(written, status, at)) return;
      writes++;
      written = { status, at };
    };
    beat('idle', 0); // registration
    for (let job = 0; job < 100; job++) {
      beat('busy', job * 20 + 1);
      beat('idle', job * 20 + 15);
    }
    expect(writes).toBe(1 + 100);
  });
});
