/**
 * `npm start`, killed with SIGKILL and started again on the same data: no job, order or
 * schedule is lost, and what was under way finishes. Its own factory processes (the embedded
 * data plane is the one that persists; moto keeps nothing across a restart).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { api, placeOrder, useFactory, waitForJob, waitForOrder } from '../helpers/factory-client.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'factory-restart-'));
let factory: ChildProcess | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `npm start`'s program on free ports and waits until it serves. */
async function startFactory(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'localstack/start.ts', '--dir', dir], {
    env: { ...process.env, PORT: '0', EDGE_PORT: '0', LOCAL_CLOUD_BACKEND: 'embedded' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  factory = child;
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not get ready:\n${output}`)), 150_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const api = output.match(/HTTP API\s+(http:\/\/\S+)/)?.[1];
      const edge = output.match(/AWS endpoint\s+(http:\/\/\S+)/)?.[1];
      if (api && edge && output.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        useFactory({ apiUrl: api, edgeUrl: edge });
        resolve();
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
}

function killFactory(): Promise<void> {
  const child = factory;
  if (!child || child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

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
      const delayed = await api('POST', '/jobs', {
        queue: 'default',
        type: 'delayed_message',
        payload: { message: 'across a restart' },
        delayMs: 8000,
      });
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

      // Act
      await killFactory();
      await startFactory();

      // Assess
      expect((await api('GET', `/jobs/${delayed.body.jobId}`)).body.status).toBe('PENDING');
      expect((await api('GET', `/scheduled-jobs/${schedule.body.scheduleId}`)).body).toMatchObject({
        name: 'nightly',
        paused: false,
      });
      expect((await waitForJob(delayed.body.jobId)).status).toBe('COMPLETED');
      const order = await waitForOrder(orderId, 120_000);
      expect(order.status).toBe('COMPLETED');
      expect(order.steps.every((s: { status: string }) => s.status === 'COMPLETED')).toBe(true);
    },
    300_000,
  );
});
