import { describe, expect, inject, it } from 'vitest';
import { api, bearer, specificationsFor } from '../helpers/factory-client.ts';

const validOrder = { customerId: 'cust-1', robotType: 'welder', specifications: specificationsFor.welder };

const expectError = (response: { status: number; body: any }, status: number, code: string) => {
  expect(response.status).toBe(status);
  expect(Object.keys(response.body)).toEqual(['error']);
  expect(response.body.error).toMatchObject({ code, message: expect.any(String) });
  expect(response.body.error).toHaveProperty('details');
};

describe('bad input gets a clear 4xx JSON error', () => {
  it.each([
    ['a body that is not JSON', '{"customerId": ', 'INVALID_JSON'],
    ['a missing customerId', { ...validOrder, customerId: undefined }, 'VALIDATION_FAILED'],
    ['an unknown field', { ...validOrder, colour: 'red' }, 'VALIDATION_FAILED'],
    ['a priority above 10', { ...validOrder, priority: 11 }, 'VALIDATION_FAILED'],
    ['a fractional priority', { ...validOrder, priority: 2.5 }, 'VALIDATION_FAILED'],
    ['an unknown robot type', { ...validOrder, robotType: 'dalek' }, 'UNKNOWN_ROBOT_TYPE'],
    [
      'specifications of another robot',
      { ...validOrder, specifications: specificationsFor.courier },
      'INVALID_SPECIFICATIONS',
    ],
    [
      'a reach out of range',
      { ...validOrder, specifications: { ...specificationsFor.welder, reachMm: 10 } },
      'INVALID_SPECIFICATIONS',
    ],
    [
      'a simulated failure of a step the robot lacks',
      { ...validOrder, simulate: { failures: { warp_drive: 1 } } },
      'UNKNOWN_STEP',
    ],
    [
      'a malformed simulate hook',
      { ...validOrder, simulate: { failures: { calibrate: 'sometimes' } } },
      'VALIDATION_FAILED',
    ],
  ])('POST /orders with %s → 400', async (_label, body, code) => {
    const response = await api('POST', '/orders', body);
    expectError(response, 400, code);
  });

  it('POST /orders with no body → 400 MISSING_BODY', async () => {
    expectError(await api('POST', '/orders'), 400, 'MISSING_BODY');
  });

  it('names the offending fields in details', async () => {
    const { body } = await api('POST', '/orders', { ...validOrder, priority: -1, customerId: '' });
    expect(body.error.details.map((d: { path: string }) => d.path).sort()).toEqual([
      'customerId',
      'priority',
    ]);
  });

  it('lists the known robot types when the type is unknown', async () => {
    const { body } = await api('POST', '/orders', { ...validOrder, robotType: 'dalek' });
    expect(body.error.details.knownRobotTypes).toEqual(['welder', 'courier', 'companion']);
  });

  it.each([
    ['/orders/ord_missing/status', 'ORDER_NOT_FOUND'],
    ['/jobs/ord_missing.calibrate', 'JOB_NOT_FOUND'],
    ['/jobs/ord_missing.calibrate/logs', 'JOB_NOT_FOUND'],
  ])('GET %s → 404 %s', async (path, code) => {
    const response = await api('GET', path);
    expect(response.status).toBe(404);
    expect(response.body).toEqual({
      error: { code, message: expect.stringContaining('ord_missing'), details: null },
    });
  });
});

describe('the catalog', () => {
  it('GET /robot-types lists every robot type with its step graph and specification schema', async () => {
    const { status, body } = await api('GET', '/robot-types');
    expect(status).toBe(200);
    expect(body.map((t: { name: string }) => t.name)).toEqual(['welder', 'courier', 'companion']);
    const courier = body.find((t: { name: string }) => t.name === 'courier');
    expect(courier.specificationsSchema.required).toEqual(['payloadKg', 'rangeKm', 'terrain']);
    expect(courier.steps.find((s: { name: string }) => s.name === 'install_software').dependsOn).toEqual([
      'assemble_chassis',
      'assemble_drivetrain',
      'assemble_sensors',
    ]);
    for (const step of courier.steps)
      expect(step).toMatchObject({ jobType: expect.any(String), dependsOn: expect.any(Array) });
  });
});

describe('bad job submissions get a clear 400 and store nothing', () => {
  const valid = { queue: 'default', type: 'delayed_message', payload: { message: 'hi' } };
  it.each([
    ['an unknown queue', { ...valid, queue: 'warp' }, 'UNKNOWN_QUEUE'],
    ['a type the queue does not take', { ...valid, queue: 'media' }, 'JOB_TYPE_NOT_ACCEPTED'],
    ['an unknown job type', { ...valid, type: 'teleport' }, 'UNKNOWN_JOB_TYPE'],
    [
      'a production line as queue',
      { ...valid, queue: 'packaging', type: 'package_robot' },
      'QUEUE_NOT_SUBMITTABLE',
    ],
    ['a priority of 11', { ...valid, priority: 11 }, 'VALIDATION_FAILED'],
    ['a negative priority', { ...valid, priority: -1 }, 'VALIDATION_FAILED'],
    ['both delayMs and runAt', { ...valid, delayMs: 10, runAt: '2030-01-01T00:00:00Z' }, 'VALIDATION_FAILED'],
    ['an unknown backoff type', { ...valid, backoff: { type: 'fibonacci' } }, 'VALIDATION_FAILED'],
    ['an invalid payload', { ...valid, payload: { message: '' } }, 'INVALID_PAYLOAD'],
    ['a payload over 128 KiB', { ...valid, payload: { message: 'x'.repeat(135_000) } }, 'PAYLOAD_TOO_LARGE'],
    ['an unknown dependency', { ...valid, dependsOn: ['job_does_not_exist'] }, 'UNKNOWN_DEPENDENCY'],
    ['a timeout over 14 minutes', { ...valid, timeoutMs: 900_000 }, 'VALIDATION_FAILED'],
  ])('POST /jobs with %s → 400 %s', async (_label, body, code) => {
    expectError(await api('POST', '/jobs', body), 400, code);
  });

  it('rejects dependency cycles within a bulk request', async () => {
    const response = await api('POST', '/jobs/bulk', {
      jobs: [
        { ...valid, ref: 'a', dependsOn: ['b'] },
        { ...valid, ref: 'b', dependsOn: ['a'] },
      ],
    });
    expectError(response, 400, 'DEPENDENCY_CYCLE');
    expect(response.body.error.details.cycle).toEqual(['a', 'b', 'a']);
  });

  it('rejects a bulk request over 500 jobs', async () => {
    expectError(
      await api('POST', '/jobs/bulk', { jobs: Array.from({ length: 501 }, () => valid) }),
      400,
      'VALIDATION_FAILED',
    );
  });

  it('answers unknown jobs, batches and bad listing parameters with 4xx', async () => {
    expectError(await api('DELETE', '/jobs/job_nope'), 404, 'JOB_NOT_FOUND');
    expectError(await api('POST', '/jobs/job_nope/retry'), 404, 'JOB_NOT_FOUND');
    expectError(await api('GET', '/jobs?status=SLEEPING'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/jobs?limit=0'), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/dlq?queue=warp'), 400, 'VALIDATION_FAILED');
    expectError(await api('POST', '/dlq/retry', { jobIds: [] }), 400, 'VALIDATION_FAILED');
    expectError(await api('GET', '/job-batches/batch_nope'), 404, 'BATCH_NOT_FOUND');
  });

  it('answers a route that does not exist with the error envelope: 404, or 405 with the allowed methods', async () => {
    expectError(await api('GET', '/warp-drive'), 404, 'NO_ROUTE');
    const wrongMethod = await fetch(`${inject('apiUrl')}/jobs`, { method: 'PUT', headers: bearer() });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST');
    expect(((await wrongMethod.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('answers a path that is not valid percent-encoding with 400, and keeps serving', async () => {
    expectError(await api('GET', '/jobs/%ff'), 400, 'BAD_REQUEST');
    expectError(await api('GET', '/orders/%E0%A4%A/status'), 400, 'BAD_REQUEST');
    expect((await api('GET', '/robot-types')).status).toBe(200);
  });

  it('asks for confirmation before retrying every dead job', async () => {
    expectError(await api('POST', '/dlq/retry', {}), 400, 'CONFIRMATION_REQUIRED');
    // Confirmed (narrowed to nothing, so that other tests' dead jobs stay where they are).
    const confirmed = await api('POST', '/dlq/retry', {
      all: true,
      errorContains: 'no error reads like this',
    });
    expect(confirmed).toMatchObject({ status: 202, body: { matched: 0, retried: 0 } });
  });
});
