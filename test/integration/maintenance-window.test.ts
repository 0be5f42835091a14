/**
 * A maintenance window half again as long as the old step heartbeat (60 s, which used to fail a
 * step that waited on a paused line), on the line of an order's second step: the order waits
 * IN_PROGRESS and completes after the window, each step in one attempt. On a local cloud of its
 * own: pausing a line of the shared one would hold every other test's orders for the window.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LocalCloud, startLocalCloud } from '../../localstack/cloud/local-cloud.ts';
import { api, placeOrder, useFactory, waitForOrder } from '../helpers/factory-client.ts';

const backend = inject('backend');
let cloud: LocalCloud | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  if (backend === 'external') return;
  cloud = await startLocalCloud({
    apiPort: 0,
    edgePort: 0,
    backend: backend === 'moto' ? 'moto' : 'embedded',
    workDir: `.local/test-${backend}-window`,
    fresh: true,
    log: () => undefined,
  });
  cloud.schedules.disable(/^AutoscalerSchedule/);
  useFactory({ apiUrl: cloud.apiUrl, edgeUrl: cloud.edgeUrl, keys: cloud.keys.credentials });
}, 180_000);

afterAll(async () => {
  useFactory(undefined);
  const denials = cloud?.iam.denials ?? [];
  await cloud?.stop();
  // The window's pause and resume ran on this cloud's grants: none of their calls was refused.
  expect(denials).toEqual([]);
});

describe('maintenance windows and robot orders', () => {
  it.runIf(backend !== 'external')(
    'a 90-second window on the line of the second step: the order waits IN_PROGRESS, then completes',
    async () => {
      // Prepare: companion runs fabricate_parts (fabrication), then assemble_body (assembly).
      const endAt = new Date(Date.now() + 90_000);
      const window = await api('POST', '/factory/maintenance', {
        line: 'assembly',
        endAt: endAt.toISOString(),
        kind: 'repair',
      });
      expect(window.status).toBe(201);
      for (;;) {
        const { body } = await api('GET', '/workers/status?queue=assembly');
        if (body.queues[0].summary.paused) break;
        await sleep(200);
      }

      // Act
      const { orderId } = await placeOrder('companion', { simulate: { stepDurationMs: 50 } });

      // Assess: all through the window, the order waits with its second step not started.
      const during: string[] = [];
      while (Date.now() < endAt.getTime() - 5_000) {
        const { body } = await api('GET', `/orders/${orderId}/status`);
        const second = body.steps.find((s: { name: string }) => s.name === 'assemble_body');
        during.push(`${body.status}/${second.status}`);
        await sleep(10_000);
      }
      expect(new Set(during.slice(1))).toEqual(new Set(['IN_PROGRESS/PENDING']));
      const order = await waitForOrder(orderId, 120_000);
      expect(order.status).toBe('COMPLETED');
      for (const step of order.steps) expect(step).toMatchObject({ status: 'COMPLETED', attempts: 1 });
      const second = order.steps.find((s: { name: string }) => s.name === 'assemble_body');
      expect(Date.parse(second.startedAt)).toBeGreaterThanOrEqual(endAt.getTime());
    },
    420_000,
  );
});
