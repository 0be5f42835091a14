import { describe, expect, it } from 'vitest';
import { api, placeOrder, waitForOrder } from '../helpers/factory-client.ts';

describe('robot orders flow end to end', () => {
  it.each(['welder', 'courier', 'companion'])(
    'a %s order completes with every step COMPLETED',
    async (robotType) => {
      // Act
      const accepted = await placeOrder(robotType);
      const order = await waitForOrder(accepted.orderId);

      // Assess
      expect(accepted.status).toBe('PENDING');
      expect(accepted.statusUrl).toBe(`/orders/${accepted.orderId}/status`);
      const { body: types } = await api('GET', '/robot-types');
      const catalogSteps = types
        .find((t: { name: string }) => t.name === robotType)
        .steps.map((s: { name: string }) => s.name);
      expect(order).toMatchObject({
        orderId: accepted.orderId,
        robotType,
        status: 'COMPLETED',
        progress: 100,
      });
      expect(order.steps.map((s: { name: string }) => s.name)).toEqual(catalogSteps);
      for (const step of order.steps) {
        expect(step).toMatchObject({
          status: 'COMPLETED',
          attempts: 1,
          jobId: `${accepted.orderId}.${step.name}`,
        });
        expect(Date.parse(step.completedAt)).toBeGreaterThanOrEqual(Date.parse(step.startedAt));
      }
      expect(Date.parse(order.completedAt)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));
    },
  );

  it('runs the steps of a parallel stage side by side, after their dependency', async () => {
    // Run one after another, three steps of 5 s would span at least 15 s from the first start to
    // the last completion; side by side they span one step plus the dispatch spread (cold starts
    // of new worker environments: seconds on a loaded machine, never 10 s).
    const durationMs = 5000;
    const { orderId } = await placeOrder('courier', { simulate: { stepDurationMs: durationMs } });
    const order = await waitForOrder(orderId, 90_000);
    const step = (name: string) => order.steps.find((s: { name: string }) => s.name === name);
    const assemblies = ['assemble_chassis', 'assemble_drivetrain', 'assemble_sensors'].map(step);
    for (const assembly of assemblies) {
      expect(Date.parse(assembly.startedAt)).toBeGreaterThanOrEqual(
        Date.parse(step('fabricate_parts').completedAt),
      );
      expect(Date.parse(step('install_software').startedAt)).toBeGreaterThanOrEqual(
        Date.parse(assembly.completedAt),
      );
    }
    const span =
      Math.max(...assemblies.map((a) => Date.parse(a.completedAt))) -
      Math.min(...assemblies.map((a) => Date.parse(a.startedAt)));
    expect(span).toBeLessThan(3 * durationMs);
  });

  it('a step that fails twice completes on its third attempt, with growing gaps between attempts', async () => {
    // Prepare: quality_check retries with exponential backoff (1 s, then 2 s) and no jitter.
    const { orderId } = await placeOrder('companion', {
      simulate: { stepDurationMs: 20, failures: { quality_check: 2 } },
    });

    // Act
    const order = await waitForOrder(orderId);

    // Assess
    expect(order.status).toBe('COMPLETED');
    const step = order.steps.find((s: { name: string }) => s.name === 'quality_check');
    expect(step).toMatchObject({ status: 'COMPLETED', attempts: 3 });
    const { body: job } = await api('GET', `/jobs/${orderId}.quality_check`);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      attempts: 3,
      maxAttempts: 3,
      orderId,
      type: 'quality_check',
    });
    const { body } = await api('GET', `/jobs/${orderId}.quality_check/logs`);
    const startedAt = body.logs
      .filter((l: { message: string }) => / started/.test(l.message))
      .map((l: { timestamp: string }) => Date.parse(l.timestamp));
    expect(startedAt).toHaveLength(3);
    const [first, second, third] = startedAt as [number, number, number];
    const gap1 = second - first;
    const gap2 = third - second;
    // The backoff's floors (1 s, then 2 s): a retry never comes sooner. How much later it comes
    // is the machine's speed (a slow data plane stretched the first gap past the second), so
    // the gaps are not compared with each other.
    expect(gap1).toBeGreaterThanOrEqual(1000);
    expect(gap2).toBeGreaterThanOrEqual(2000);
    expect(
      body.logs
        .filter((l: { level: string }) => l.level === 'ERROR')
        .map((l: { attempt: number }) => l.attempt),
    ).toEqual([1, 2]);
  });

  it('a step that always fails leaves the order FAILED and its job DEAD, with the error and logs', async () => {
    const { orderId } = await placeOrder('welder', {
      simulate: { stepDurationMs: 20, failures: { install_software: 'always' } },
    });

    const order = await waitForOrder(orderId);

    expect(order.status).toBe('FAILED');
    // The order's error tells what happened, with attempt numbers that match the step's record.
    expect(order.error).toBe(
      'Step install_software failed: Attempt 3 of 3 failed: Simulated failure of install_software',
    );
    expect(order.failedAt).toBeDefined();
    const steps = Object.fromEntries(order.steps.map((s: { name: string }) => [s.name, s]));
    expect(steps.fabricate_parts.status).toBe('COMPLETED');
    expect(steps.install_software).toMatchObject({ status: 'DEAD', attempts: 3 });
    expect(steps.install_software.error).toBe('Attempt 3 of 3 failed: Simulated failure of install_software');
    expect(steps.calibrate.status).toBe('PENDING');
    expect(order.progress).toBe(42); // 3 of 7 steps done

    const { body: job } = await api('GET', `/jobs/${orderId}.install_software`);
    expect(job).toMatchObject({
      status: 'DEAD',
      attempts: 3,
      error: 'Attempt 3 of 3 failed: Simulated failure of install_software',
    });
    const { body: logs } = await api('GET', `/jobs/${orderId}.install_software/logs`);
    expect(logs.logs.filter((l: { level: string }) => l.level === 'ERROR')).toHaveLength(3);
  });

  it('a failure inside a parallel stage fails the order and stops the later stages', async () => {
    const { orderId } = await placeOrder('courier', {
      simulate: { stepDurationMs: 20, failures: { assemble_sensors: 'always' } },
    });

    const order = await waitForOrder(orderId);

    const steps = Object.fromEntries(order.steps.map((s: { name: string }) => [s.name, s]));
    expect(order.status).toBe('FAILED');
    expect(order.error).toBe(
      'Step assemble_sensors failed: Attempt 3 of 3 failed: Simulated failure of assemble_sensors',
    );
    expect(steps.assemble_sensors.status).toBe('DEAD');
    expect(steps.install_software.status).toBe('PENDING');
  });
});
