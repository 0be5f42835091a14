import { describe, expect, it } from 'vitest';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import {
  acceptOrder,
  OrderRejected,
  orderRequestSchema,
  orderStatusView,
} from '../../functions/domain/orders.ts';

const now = new Date('2026-11-22T10:00:00Z');
const request = (extra: Record<string, unknown> = {}) =>
  orderRequestSchema.parse({
    customerId: 'c1',
    robotType: 'companion',
    specifications: { heightCm: 60, personality: 'calm', language: 'pt-BR' },
    ...extra,
  });

describe('acceptOrder', () => {
  it('stores a PENDING order with the default priority and a time-ordered id', () => {
    const order = acceptOrder(request(), { simulationEnabled: false, now });
    expect(order).toMatchObject({
      status: 'PENDING',
      priority: 5,
      robotType: 'companion',
      createdAt: now.toISOString(),
    });
    expect(order.orderId).toMatch(/^ord_[a-z0-9]+$/);
    expect(order.awaitingStart).toBe(now.toISOString());
  });

  it('refuses the simulate hook where the stack turned simulation off', () => {
    const attempt = () =>
      acceptOrder(request({ simulate: { stepDurationMs: 5 } }), { simulationEnabled: false, now });
    expect(attempt).toThrow(OrderRejected);
    expect(attempt).toThrow(/simulation off/);
  });

  it('reports specification problems with their paths', () => {
    try {
      acceptOrder(request({ specifications: { heightCm: 500, personality: 'grumpy', language: 'en' } }), {
        simulationEnabled: true,
        now,
      });
      expect.unreachable();
    } catch (error) {
      expect((error as OrderRejected).code).toBe('INVALID_SPECIFICATIONS');
      expect(((error as OrderRejected).details as { path: string }[]).map((d) => d.path)).toEqual([
        'specifications.heightCm',
        'specifications.personality',
      ]);
    }
  });
});

describe('orderStatusView', () => {
  const order = acceptOrder(request(), { simulationEnabled: false, now });
  const job = (stepName: string, status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
    jobId: `${order.orderId}.${stepName}`,
    kind: 'step',
    queue: 'q',
    type: 't',
    status,
    attempts: 1,
    maxAttempts: 3,
    priority: 5,
    orderId: order.orderId,
    stepName,
    createdAt: now.toISOString(),
    ...extra,
  });

  it('lists every catalog step, PENDING until its job exists, with progress from completed steps', () => {
    const view = orderStatusView({ ...order, status: 'IN_PROGRESS' }, [
      job('fabricate_parts', 'COMPLETED'),
      job('assemble_body', 'COMPLETED'),
      job('install_software', 'FAILED', { lastError: 'boom', attempts: 2 }),
    ]);
    expect(view.progress).toBe(33);
    expect(view.steps.map((s) => s.status)).toEqual([
      'COMPLETED',
      'COMPLETED',
      'FAILED',
      'PENDING',
      'PENDING',
      'PENDING',
    ]);
    expect(view.steps[2]).toMatchObject({ attempts: 2, error: 'boom' });
    expect(view.steps[3]).toMatchObject({
      attempts: 0,
      startedAt: null,
      jobId: `${order.orderId}.calibrate`,
    });
  });
});
