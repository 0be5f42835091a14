/**
 * `npm start`, killed with SIGKILL and started again on the same data: no job, order or
 * schedule is lost, and what was under way finishes. Its own factory processes (the embedded
 * data plane is the one that persists; moto keeps nothing across a restart).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type FactoryProcess, startFactoryProcess } from '../../localstack/factory-process.ts';
import { api, placeOrder, useFactory, waitForJob, waitForOrder } from '../helpers/factory-client.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'factory-restart-'));
let factory: FactoryProcess | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startFactory(): Promise<void> {
  factory = await startFactoryProcess({ dir, ...(factory ? { ports: factory.ports } : {}) });
  useFactory(factory);
}

const killFactory = async () => factory?.kill();

afterAll(async () => {
  await killFactory();
  useFactory(undefined);
});

describe('a restart of the local factory', () => {
  it.runIf(inject('backend') === 'embedded')(
    'loses no job, order or schedule, even after kill -9, and finishes what was under way',
    async () => {
      // Prepare
      await startFactory();
      const { orderId } = await placeOrder('companion', { simulate: { stepDurationMs: 3000 } });
      const schedule = await api('POST', '/scheduled-jobs', {
        name: 'nightly',
        cron: '0 2 * * *',
        job: { queue: 'default', type: 'delayed_message', payload: { message: 'night' } },
      });
      for (;;) {
        const { body } = await api('GET', `/orders/${orderId}/status`);
        if (body.steps.some((s: { status: string }) => s.status === 'RUNNING')) break;
        await sleep(200);
      }
      // Submitted just before the kill (the wait above takes longer on a loaded machine).
      const delayed = await api('POST', '/jobs', {
        queue: 'default',
        type: 'delayed_message',
        payload: { message: 'across a restart' },
        // Due well after the restart even on a loaded machine (kill, start, key bootstrap).
        delayMs: 45_000,
      });

      // Act
      await killFactory();
      await startFactory();

      // Assess
      expect((await api('GET', `/jobs/${delayed.body.jobId}`)).body.status).toBe('PENDING');
      expect((await api('GET', `/scheduled-jobs/${schedule.body.scheduleId}`)).body).toMatchObject({
        name: 'nightly',
        paused: false,
      });
      expect((await waitForJob(delayed.body.jobId, undefined, 120_000)).status).toBe('COMPLETED');
      const order = await waitForOrder(orderId, 120_000);
      expect(order.status).toBe('COMPLETED');
      expect(order.steps.every((s: { status: string }) => s.status === 'COMPLETED')).toBe(true);
    },
    300_000,
  );
});
