/** Tracing (shared/tracer.ts): loaded only where it traces; a job type's run as a subsegment. */
import { Tracer } from '@aws-lambda-powertools/tracer';
import xray from 'aws-xray-sdk-core';
import { afterEach, describe, expect, it } from 'vitest';
import { captured, inSubsegment, tracer, tracingWanted } from '../../functions/shared/tracer.ts';

const lambda = { AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' };

describe('where the factory traces', () => {
  it('traces on Lambda only, unless switched off', () => {
    expect(tracingWanted(lambda)).toBe(true);
    expect(tracingWanted({ ...lambda, POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingWanted({ ...lambda, AWS_SAM_LOCAL: 'true' })).toBe(false);
    // The local cloud sets no AWS_EXECUTION_ENV (and runs no X-Ray daemon).
    expect(tracingWanted({ AWS_ENDPOINT_URL: 'http://localhost:4566', LOCAL_CLOUD: 'true' })).toBe(false);
  });

  it('leaves clients and work untouched where nothing is traced', async () => {
    expect(tracer).toBeUndefined();
    const client = { send: async () => 'sent' };
    expect(captured(client)).toBe(client);
    await expect(inSubsegment('### send_email', { jobType: 'send_email' }, async () => 'done')).resolves.toBe(
      'done',
    );
  });
});

describe("a job type's run, traced", () => {
  const saved = process.env.AWS_EXECUTION_ENV;
  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_EXECUTION_ENV;
    else process.env.AWS_EXECUTION_ENV = saved;
  });

  /** An enabled Tracer and the invocation's segment, as Lambda's would be. */
  async function traced<T>(run: (on: Tracer, segment: xray.Segment) => Promise<T>) {
    process.env.AWS_EXECUTION_ENV = lambda.AWS_EXECUTION_ENV;
    const on = new Tracer({ serviceName: 'robot-factory', captureHTTPsRequests: false });
    const segment = new xray.Segment('job-worker');
    await on.provider.getNamespace().runPromise(async () => {
      on.setSegment(segment);
      await run(on, segment);
    });
    return segment;
  }

  it('is a closed subsegment named after the type, annotated with the job', async () => {
    const segment = await traced(async (on) => {
      const result = await inSubsegment(
        '### send_email',
        { jobType: 'send_email', jobId: 'job_1' },
        async () => 42,
        on,
      );
      expect(result).toBe(42);
    });
    const [subsegment] = (segment.subsegments ?? []).map((s) => s.toJSON());
    expect(subsegment?.name).toBe('### send_email');
    expect(subsegment?.annotations).toEqual({ jobType: 'send_email', jobId: 'job_1' });
    expect(subsegment?.end_time).toBeGreaterThan(0);
  });

  it("records the run's error on its subsegment and rethrows it", async () => {
    const segment = await traced(async (on) => {
      await expect(
        inSubsegment('### webhook_call', {}, async () => Promise.reject(new Error('HTTP 503')), on),
      ).rejects.toThrow('HTTP 503');
    });
    const [subsegment] = (segment.subsegments ?? []).map((s) => s.toJSON());
    expect(subsegment?.fault || subsegment?.error).toBe(true);
    expect(JSON.stringify(subsegment?.cause)).toContain('HTTP 503');
  });
});
