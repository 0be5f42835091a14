/**
 * The SQS workers' batch handling (shared/sqs-batch.ts): per-record failures, concurrency, log keys,
 * and the job workers' one-at-a-time batches that hand back what they have not started.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DeliveredMessages, sqsBatchHandler } from '../../functions/shared/sqs-batch.ts';

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

describe('after a batch', () => {
  it('runs afterBatch once the records are done, failed ones included, and answers the batch even if it throws', async () => {
    captureLogLines();
    const seen: string[] = [];
    const handler = sqsBatchHandler(
      async (r) => {
        seen.push(r.messageId);
        if (r.messageId === 'm2') throw new Error('boom');
      },
      {
        delivery: 'Job delivery',
        afterBatch: async () => {
          seen.push('after');
          throw new Error('row write failed');
        },
      },
    );
    const response = await handler(batch(record('m1', '{}'), record('m2', '{}')), context);
    expect(seen).toHaveLength(3);
    expect(seen.at(-1)).toBe('after');
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm2' }] });
  });
});

describe('a batch worked through one at a time', () => {
  afterEach(() => vi.useRealTimers());
  const timedContext = { ...context, getRemainingTimeInMillis: () => 600_000 } as Context;

  /** A queue that records what the worker did with its messages. */
  function fakeMessages(resendFails: (id: string) => boolean = () => false) {
    const calls: string[] = [];
    const ids = (records: readonly SQSRecord[]) => records.map((r) => r.messageId).join(',');
    const messages: DeliveredMessages = {
      hide: async (records, seconds) => {
        if (records.length) calls.push(`hide ${ids(records)} ${seconds}s`);
      },
      resend: async (records, delaySeconds) => {
        calls.push(`resend ${ids(records)}${delaySeconds ? ` due in ${delaySeconds}s` : ''}`);
        return new Set(records.map((r) => r.messageId).filter(resendFails));
      },
      remove: async (records) => {
        calls.push(`remove ${ids(records)}`);
      },
    };
    return { calls, messages };
  }

  /** A record handler whose record `long` runs until `finish` is called; `after` runs then. */
  function oneLong(long: string, after: (r: SQSRecord) => void = () => undefined) {
    let finish: () => void = () => undefined;
    const ran: string[] = [];
    const handle = async (r: SQSRecord) => {
      ran.push(r.messageId);
      if (r.messageId === long)
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
      after(r);
    };
    return { handle, ran, finish: () => finish() };
  }

  const threeRecords = () => batch(record('m1', '{}'), record('m2', '{}'), record('m3', '{}'));

  /**
   * Three records through a handler whose record `long` runs past the 1 s hand-back: the answer
   * once `long` finishes, what the worker did with the messages, and which records ran here.
   */
  async function withLongRecord(
    long: string,
    queue: ReturnType<typeof fakeMessages>,
    after?: (r: SQSRecord) => void,
  ) {
    vi.useFakeTimers();
    captureLogLines();
    const work = oneLong(long, after);
    const handler = sqsBatchHandler(work.handle, {
      delivery: 'Job delivery',
      oneAtATime: { handBackAfterMs: 1_000, waitingVisibilitySeconds: 30, messages: queue.messages },
    });
    const answer = handler(threeRecords(), timedContext);
    await vi.advanceTimersByTimeAsync(999);
    const beforeHandBack = [...queue.calls];
    await vi.advanceTimersByTimeAsync(1);
    const atHandBack = [...queue.calls];
    work.finish();
    return { response: await answer, beforeHandBack, atHandBack, ran: work.ran };
  }

  it('runs the records in order, never two at once, hiding them all for 30 s only', async () => {
    // Prepare
    captureLogLines();
    const order: string[] = [];
    let running = 0;
    const queue = fakeMessages();
    const handler = sqsBatchHandler(
      async (r) => {
        running++;
        order.push(`${r.messageId}:${running}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running--;
      },
      {
        delivery: 'Job delivery',
        oneAtATime: { handBackAfterMs: 60_000, waitingVisibilitySeconds: 30, messages: queue.messages },
      },
    );
    // Act
    const response = await handler(threeRecords(), timedContext);
    // Assess: nothing handed back; the ESM deletes all three with the answer.
    expect(order).toEqual(['m1:1', 'm2:1', 'm3:1']);
    expect(queue.calls).toEqual(['hide m1,m2,m3 30s']);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('hides a lone record for 30 s as well, and gives it the invocation’s time once it runs past the hand-back', async () => {
    // Prepare: one wake-up whose job runs 1.5 s (its attempt may be claimed unlisted: should the
    // invocation die, the wake-up must come back in seconds, not the queue's 16 minutes).
    vi.useFakeTimers();
    captureLogLines();
    const queue = fakeMessages();
    const handler = sqsBatchHandler(
      async () => {
        await new Promise((resolve) => setTimeout(resolve, 1_500));
      },
      {
        delivery: 'Job delivery',
        oneAtATime: { handBackAfterMs: 1_000, waitingVisibilitySeconds: 30, messages: queue.messages },
      },
    );
    // Act
    const answer = handler(batch(record('m1', '{}')), timedContext);
    await vi.advanceTimersByTimeAsync(999);
    const beforeHandBack = [...queue.calls];
    await vi.advanceTimersByTimeAsync(600);
    const response = await answer;
    // Assess
    expect(beforeHandBack).toEqual(['hide m1 30s']);
    expect(queue.calls).toEqual(['hide m1 30s', 'hide m1 660s']);
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('brings a record back when its handler asks (RedeliverLater): a new message, due then, its receive count fresh', async () => {
    captureLogLines();
    const queue = fakeMessages();
    const handler = sqsBatchHandler(
      async (r) => {
        if (r.messageId === 'm2')
          throw Object.assign(new Error('runs elsewhere'), { redeliverAfterSeconds: 4 });
        if (r.messageId === 'm3') throw new Error('plain failure');
      },
      {
        delivery: 'Job delivery',
        oneAtATime: { handBackAfterMs: 60_000, waitingVisibilitySeconds: 30, messages: queue.messages },
      },
    );
    const response = await handler(threeRecords(), timedContext);
    // m2 is sent again and answered done (the event source mapping deletes it); m3 comes back
    // when the batch's 30 s end.
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m3']);
    expect(queue.calls).toEqual(['hide m1,m2,m3 30s', 'resend m2 due in 4s']);
  });

  it('hides such a record for that long and leaves it for redelivery when it cannot be sent again', async () => {
    captureLogLines();
    const queue = fakeMessages((id) => id === 'm2');
    const handler = sqsBatchHandler(
      async (r) => {
        if (r.messageId === 'm2')
          throw Object.assign(new Error('runs elsewhere'), { redeliverAfterSeconds: 4 });
      },
      {
        delivery: 'Job delivery',
        oneAtATime: { handBackAfterMs: 60_000, waitingVisibilitySeconds: 30, messages: queue.messages },
      },
    );
    const response = await handler(threeRecords(), timedContext);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m2']);
    expect(queue.calls).toEqual(['hide m1,m2,m3 30s', 'resend m2 due in 4s', 'hide m2 4s']);
  });

  it('starts the first record only once the records are hidden (an invocation that dies leaves them hidden 30 s)', async () => {
    // Prepare: a hide that answers only when told.
    captureLogLines();
    const queue = fakeMessages();
    let answerHide: () => void = () => undefined;
    const hide = queue.messages.hide;
    queue.messages.hide = async (records, seconds) => {
      await new Promise<void>((resolve) => {
        answerHide = resolve;
      });
      await hide(records, seconds);
    };
    const started: string[] = [];
    const handler = sqsBatchHandler(
      async (r) => {
        started.push(`${r.messageId} after ${queue.calls.join(';') || 'nothing'}`);
      },
      {
        delivery: 'Job delivery',
        oneAtATime: { handBackAfterMs: 60_000, waitingVisibilitySeconds: 30, messages: queue.messages },
      },
    );
    // Act
    const answer = handler(threeRecords(), timedContext);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    const beforeHide = [...started];
    answerHide();
    await answer;
    // Assess
    expect(beforeHide).toEqual([]);
    expect(started).toEqual([
      'm1 after hide m1,m2,m3 30s',
      'm2 after hide m1,m2,m3 30s',
      'm3 after hide m1,m2,m3 30s',
    ]);
  });

  it('hands back the records not started while a long first job still runs', async () => {
    // Act
    const queue = fakeMessages();
    const run = await withLongRecord('m1', queue);
    // Assess: sent again and deleted while m1 still ran; never run here; m1, still running, gets
    // the invocation's 600 s and a minute.
    expect(run.beforeHandBack).toEqual(['hide m1,m2,m3 30s']);
    expect(run.atHandBack).toEqual(['hide m1,m2,m3 30s', 'resend m2,m3', 'remove m2,m3', 'hide m1 660s']);
    expect(run.ran).toEqual(['m1']);
    expect(run.response).toEqual({ batchItemFailures: [] });
  });

  it('keeps a running record hidden briefly at the hand-back until its handler says keep(), then long', async () => {
    // Its job's attempt is not listed as RUNNING yet: should the invocation die now, the wake-up
    // must come back within seconds, not with the invocation's remaining time.
    vi.useFakeTimers();
    captureLogLines();
    const queue = fakeMessages();
    let finish: () => void = () => undefined;
    const handler = sqsBatchHandler(
      async (r, _log, controls) => {
        if (r.messageId !== 'm1') return;
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        controls.keep();
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
      {
        delivery: 'Job delivery',
        oneAtATime: {
          handBackAfterMs: 1_000,
          waitingVisibilitySeconds: 30,
          keepRunningWhenTold: true,
          messages: queue.messages,
        },
      },
    );
    const answer = handler(threeRecords(), timedContext);
    await vi.advanceTimersByTimeAsync(1_000);
    const atHandBack = [...queue.calls];
    await vi.advanceTimersByTimeAsync(500);
    const whenKept = [...queue.calls];
    finish();
    expect(await answer).toEqual({ batchItemFailures: [] });
    expect(atHandBack).toEqual(['hide m1,m2,m3 30s', 'resend m2,m3', 'remove m2,m3']);
    expect(whenKept).toEqual([...atHandBack, 'hide m1 660s']);
  });

  it('deletes what it finished and gives a long job started later its visibility back', async () => {
    const queue = fakeMessages();
    const run = await withLongRecord('m2', queue);
    // m2 was hidden 30 s with m3; as it runs on, it gets the invocation's 600 s and a minute.
    expect(queue.calls).toEqual(['hide m1,m2,m3 30s', 'resend m3', 'remove m3,m1', 'hide m2 660s']);
    expect(run.ran).toEqual(['m1', 'm2']);
    expect(run.response).toEqual({ batchItemFailures: [] });
  });

  it('leaves for redelivery the records it could not send again, and those that failed', async () => {
    const queue = fakeMessages((id) => id === 'm3');
    const run = await withLongRecord('m1', queue, () => {
      throw new Error('lost the lease');
    });
    // m1 failed itself; m2 went back to its queue; m3 could not, and comes back within 30 s.
    expect(queue.calls).toEqual(['hide m1,m2,m3 30s', 'resend m2,m3', 'remove m2', 'hide m1 660s']);
    expect(run.response).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm3' }],
    });
  });

  it('leaves every record not started for redelivery when sending them again throws', async () => {
    const queue = fakeMessages();
    queue.messages.resend = async () => {
      throw new Error('SQS unavailable');
    };
    const run = await withLongRecord('m1', queue);
    expect(run.response).toEqual({
      batchItemFailures: [{ itemIdentifier: 'm2' }, { itemIdentifier: 'm3' }],
    });
  });
});
