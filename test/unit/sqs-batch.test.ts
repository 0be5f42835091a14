/** The SQS workers' batch handling (shared/sqs-batch.ts): per-record failures, concurrency, log keys. */
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
