/**
 * The SQS workers' batch handling (shared/sqs-batch.ts): per-record failures, concurrency, log keys,
 * and the job workers' one-at-a-time batches that hand back what they have not started.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sqsBatchHandler } from '../../functions/shared/sqs-batch.ts';

const record = (messageId: string, body: string): SQSRecord =>
  ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:jobs',
    awsRegion: 'us-east-1',
  }) as unknown as SQSRecord;
const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const context = { awsRequestId: 'req-1', functionName: 'worker' } as Context;

/** The JSON lines the logger writes (stdout and stderr), parsed. */
function captureLogLines(): { lines: Record<string, unknown>[] } {
  const captured = { lines: [] as Record<string, unknown>[] };
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation((chunk) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) captured.lines.push(JSON.parse(line));
      return true;
    });
  return captured;
}

afterEach(() => vi.restoreAllMocks());

describe('an SQS worker batch', () => {
  it('reports a malformed record alone; its batch-mates are processed and acknowledged', async () => {
    // Prepare
    captureLogLines();
    const done: string[] = [];
    const handler = sqsBatchHandler(
      async (r) => {
        const { jobId } = JSON.parse(r.body) as { jobId: string };
        done.push(jobId);
      },
      { delivery: 'Job delivery' },
    );
    // Act
    const response = await handler(
      batch(record('m1', '{"jobId":"j1"}'), record('m2', 'not json'), record('m3', '{"jobId":"j3"}')),
      context,
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
    expect(done.sort()).toEqual(['j1', 'j3']);
  });

  it('answers a batch whose every record failed with every record, without failing the invocation', async () => {
    captureLogLines();
    const handler = sqsBatchHandler(
      async () => {
        throw new Error('running on another worker');
      },
      { delivery: 'Step delivery' },
    );
    const response = await handler(batch(record('m1', '{}'), record('m2', '{}')), context);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] });
  });

  it('runs the records of a batch concurrently', async () => {
    // Prepare: each record waits until all three have started; one at a time, none would finish.
    captureLogLines();
    let started = 0;
    let allStarted: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      allStarted = resolve;
    });
    const handler = sqsBatchHandler(
      async () => {
        if (++started === 3) allStarted();
        await Promise.race([
          together,
          new Promise((_, reject) => setTimeout(() => reject(new Error('ran alone')), 1_000)),
        ]);
      },
      { delivery: 'Job delivery' },
    );
    // Act
    const response = await handler(
      batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}')),
      context,
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it("keeps each record's log keys on its own lines while records run concurrently", async () => {
    // Prepare
    const log = captureLogLines();
    const handler = sqsBatchHandler(
      async (r, recordLog) => {
        const { jobId, waitMs } = JSON.parse(r.body) as { jobId: string; waitMs: number };
        recordLog.appendKeys({ jobId });
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        recordLog.info('Job delivery handled');
        if (jobId === 'j2') throw new Error('boom');
      },
      { delivery: 'Job delivery' },
    );
    // Act: j1 appends its key first and logs last.
    await handler(
      batch(record('m1', '{"jobId":"j1","waitMs":30}'), record('m2', '{"jobId":"j2","waitMs":1}')),
      context,
    );
    // Assess
    const lines = log.lines.map(({ message, messageId, jobId, function_request_id }) => ({
      message,
      messageId,
      jobId,
      function_request_id,
    }));
    expect(lines).toEqual([
      { message: 'Job delivery handled', messageId: 'm2', jobId: 'j2', function_request_id: 'req-1' },
      {
        message: 'Job delivery left for redelivery',
        messageId: 'm2',
        jobId: 'j2',
        function_request_id: 'req-1',
      },
      { message: 'Job delivery handled', messageId: 'm1', jobId: 'j1', function_request_id: 'req-1' },
    ]);
  });
});

describe('a batch worked through one at a time', () => {
  afterEach(() => vi.useRealTimers());

  /** A record handler whose first record (m1) runs until `finish` is called; `after` runs then. */
  function longFirst(after: (r: SQSRecord) => void = () => undefined) {
    let finish: () => void = () => undefined;
    const handle = async (r: SQSRecord) => {
      if (r.messageId === 'm1')
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
      after(r);
    };
    return { handle, finish: () => finish() };
  }

  it('runs the records in order, never two at once, while its work is short', async () => {
    // Prepare
    captureLogLines();
    const order: string[] = [];
    let running = 0;
    const handBack = vi.fn(async () => new Set<string>());
    const handler = sqsBatchHandler(
      async (r) => {
        running++;
        order.push(`${r.messageId}:${running}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
      },
      { delivery: 'Job delivery', oneAtATime: { handBackAfterMs: 60_000, handBack } },
    );
    // Act
    const response = await handler(
      batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}')),
      context,
    );
    // Assess
    expect(order).toEqual(['m1:1', 'm2:1', 'm3:1']);
    expect(handBack).not.toHaveBeenCalled();
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('hands back the records not started once it has worked for handBackAfterMs, while a long job still runs', async () => {
    // Prepare: the first record's job runs until the test lets it finish.
    vi.useFakeTimers();
    captureLogLines();
    const ran: string[] = [];
    const handedBack: string[][] = [];
    const long = longFirst((r) => ran.push(r.messageId));
    const handler = sqsBatchHandler(long.handle, {
      delivery: 'Job delivery',
      oneAtATime: {
        handBackAfterMs: 1_000,
        handBack: async (records) => {
          handedBack.push(records.map((r) => r.messageId));
          return new Set<string>();
        },
      },
    });
    // Act
    const answer = handler(batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}')), context);
    await vi.advanceTimersByTimeAsync(999);
    const beforeThreshold = handedBack.length;
    await vi.advanceTimersByTimeAsync(1);
    const whileLongJobRuns = handedBack.map((ids) => [...ids]);
    long.finish();
    const response = await answer;
    // Assess: handed back while m1 still ran, and never run here.
    expect(beforeThreshold).toBe(0);
    expect(whileLongJobRuns).toEqual([['m2', 'm3']]);
    expect(ran).toEqual(['m1']);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('leaves for redelivery the records it could not hand back, and those that failed', async () => {
    // Prepare
    vi.useFakeTimers();
    captureLogLines();
    const long = longFirst(() => {
      throw new Error('lost the lease');
    });
    const handler = sqsBatchHandler(long.handle, {
      delivery: 'Job delivery',
      oneAtATime: { handBackAfterMs: 1_000, handBack: async () => new Set(['m3']) },
    });
    // Act
    const answer = handler(batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}')), context);
    await vi.advanceTimersByTimeAsync(1_000);
    long.finish();
    const response = await answer;
    // Assess: m1 failed itself; m2 went back to its queue; m3 could not and is redelivered.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }] });
  });

  it('leaves every record not started for redelivery when handing back throws', async () => {
    vi.useFakeTimers();
    captureLogLines();
    const long = longFirst();
    const handler = sqsBatchHandler(long.handle, {
      delivery: 'Job delivery',
      oneAtATime: {
        handBackAfterMs: 1_000,
        handBack: async () => {
          throw new Error('SQS unavailable');
        },
      },
    });
    const answer = handler(batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}')), context);
    await vi.advanceTimersByTimeAsync(1_000);
    long.finish();
    expect(await answer).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }],
    });
  });
});
