/** Orders as first-class objects: list, read, cancel, resume; every step id answers. */
import { describe, expect, it } from 'vitest';
import { api, bearer, jobLog, placeOrder, runTag, waitForOrder } from '../helpers/factory-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForStep(orderId: string, step: string, status: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api('GET', `/orders/${orderId}/status`);
    const found = body.steps.find((s: { name: string }) => s.name === step);
    if (found?.status === status) return body;
    if (Date.now() > deadline) throw new Error(`${orderId}.${step} not ${status}: ${JSON.stringify(body)}`);
    await sleep(200);
  }
}

describe('orders', () => {
  it('lists orders by customer, state and robot type, newest first, with a cursor', async () => {
    // Prepare
    const customerId = runTag('lister');
    const placed = [];
    for (const robotType of ['companion', 'welder', 'companion'])
      placed.push(await placeOrder(robotType, { customerId }));
    for (const { orderId } of placed) await waitForOrder(orderId);

    // Act
    const all = await api('GET', `/orders?customerId=${customerId}`);
    const companions = await api('GET', `/orders?customerId=${customerId}&robotType=companion`);
    const first = await api('GET', `/orders?customerId=${customerId}&limit=2`);
    const rest = await api('GET', `/orders?customerId=${customerId}&limit=2&cursor=${first.body.nextCursor}`);
    const completed = await api('GET', '/orders?status=COMPLETED&limit=200');

    // Assess
    expect(all.status).toBe(200);
    expect(all.body.orders.map((o: { orderId: string }) => o.orderId)).toEqual(
      placed.map((p) => p.orderId).reverse(),
    );
    expect(companions.body.orders).toHaveLength(2);
    expect(companions.body.orders.every((o: { robotType: string }) => o.robotType === 'companion')).toBe(
      true,
    );
    expect(first.body.orders).toHaveLength(2);
    expect(rest.body.orders).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
    expect(completed.body.orders.every((o: { status: string }) => o.status === 'COMPLETED')).toBe(true);
    expect((await api('GET', '/orders?status=LOST')).status).toBe(400);
    expect((await api('GET', '/orders?robotType=dalek')).status).toBe(400);
    expect((await api('GET', '/orders?cursor=nonsense')).body.error.code).toBe('INVALID_CURSOR');
  });

  it('answers every step id of an order: a step not yet started is PENDING, not 404', async () => {
    const { orderId } = await placeOrder('companion', { simulate: { stepDurationMs: 2000 } });
    const { status, body } = await api('GET', `/jobs/${orderId}.package`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ jobId: `${orderId}.package`, status: 'PENDING', attempts: 0, orderId });
    expect((await api('GET', `/jobs/${orderId}.package/logs`)).body).toEqual({
      jobId: `${orderId}.package`,
      logs: [],
    });
    expect((await api('GET', `/jobs/${orderId}.teleport`)).status).toBe(404);
    expect((await api('GET', `/orders/${orderId}`)).body.orderId).toBe(orderId);
    await waitForOrder(orderId);
  });

  it('cancels an order: the workflow stops, waiting steps are CANCELLED and never run', async () => {
    // Prepare: welder's second stage runs two 3-second steps.
    const { orderId } = await placeOrder('welder', { simulate: { stepDurationMs: 3000 } });
    await waitForStep(orderId, 'assemble_arm', 'RUNNING');

    // Act
    const cancelled = await api(
      'DELETE',
      `/orders/${orderId}?reason=duplicate+order`,
      undefined,
      bearer('developer'),
    );
    const body = cancelled.body;

    // Assess
    expect(cancelled.status).toBe(200);
    // The acting key is on record: its name and id.
    const by = expect.stringMatching(/^local developer \(key k[0-9a-f]{12}\)$/);
    expect(body).toMatchObject({ status: 'CANCELLED', cancelledBy: by, cancelReason: 'duplicate order' });
    expect(body.cancelledSteps.cancelled).toEqual(
      expect.arrayContaining([`${orderId}.install_software`, `${orderId}.package`]),
    );
    await sleep(5000); // the running steps end; nothing after them starts
    const { body: later } = await api('GET', `/orders/${orderId}/status`);
    expect(later.status).toBe('CANCELLED');
    const byName = Object.fromEntries(later.steps.map((s: { name: string; status: string }) => [s.name, s]));
    for (const name of ['install_software', 'calibrate', 'quality_check', 'package'])
      expect(byName[name]).toMatchObject({ status: 'CANCELLED', attempts: 0, startedAt: null });
    expect((await jobLog(`${orderId}.package`)).map((l) => l.message)).toEqual([
      `Cancelled with order ${orderId} by ${body.cancelledBy}: duplicate order`,
    ]);
    // Idempotent on a cancelled order, refused on a finished one.
    expect((await api('DELETE', `/orders/${orderId}`)).status).toBe(200);
    const done = await placeOrder('companion');
    await waitForOrder(done.orderId);
    const refused = await api('DELETE', `/orders/${done.orderId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('ORDER_FINISHED');
    expect((await api('DELETE', '/orders/ord_nope')).status).toBe(404);
  });

  it('resumes a FAILED order from its failed step with a fresh budget: POST /orders/{id}/retry', async () => {
    // Prepare: calibrate fails its first three attempts, which is all of its budget.
    const { orderId } = await placeOrder('companion', {
      simulate: { stepDurationMs: 20, failures: { calibrate: 3 } },
    });
    const failed = await waitForOrder(orderId);
    expect(failed.status).toBe('FAILED');
    const { body: dead } = await api('GET', `/dlq?queue=calibration`);
    expect(dead.jobs.map((j: { jobId: string }) => j.jobId)).toContain(`${orderId}.calibrate`);

    // Act
    const retried = await api('POST', `/orders/${orderId}/retry`);

    // Assess
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ status: 'IN_PROGRESS', retriedSteps: [`${orderId}.calibrate`] });
    const order = await waitForOrder(orderId);
    expect(order.status).toBe('COMPLETED');
    const calibrate = order.steps.find((s: { name: string }) => s.name === 'calibrate');
    expect(calibrate).toMatchObject({ status: 'COMPLETED', attempts: 4 });
    const { body: afterwards } = await api('GET', `/dlq?queue=calibration`);
    expect(afterwards.jobs.map((j: { jobId: string }) => j.jobId)).not.toContain(`${orderId}.calibrate`);
    // A short attempt that completes writes its start and its end as one line.
    expect((await jobLog(`${orderId}.calibrate`)).map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^Attempt 4 of 6 started on calibration: .*; completed in 20 ms$/),
    );
    expect((await api('POST', `/orders/${orderId}/retry`)).body.error.code).toBe('ORDER_NOT_FAILED');
  });
});
