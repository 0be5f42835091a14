/**
 * Faults of the platform under the factory: storage failing under a bulk intake, SQS failing
 * under an order's dispatch, secrets in payloads. Local only: faults are injected through the
 * local cloud's /__local hooks.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  api,
  awsClients,
  localAdmin,
  placeOrder,
  runTag,
  tableNamed,
  waitForJob,
  waitForOrder,
} from '../helpers/factory-client.ts';

const local = inject('backend') !== 'external';
const embedded = inject('backend') === 'embedded';
// Due in an hour: the intake is under test, and 500 runnable jobs would put every other file's
// default-queue jobs behind a backlog (on moto, minutes of one). A full request of 500 where the
// data plane keeps up; 100 on moto, whose ~30 calls/s a 500-job request (1,000 calls, three
// times over) took from every other file running beside it, until their handlers timed out.
const size = embedded ? 500 : 100;
const failing = `-${size / 2}"`;
const bulk = (tag: string, n = size) =>
  Array.from({ length: n }, (_, i) => ({
    queue: 'default',
    type: 'delayed_message',
    payload: { message: `${tag}-${i}` },
    delayMs: 3_600_000,
  }));

async function jobsTagged(tag: string): Promise<number> {
  // The listing walks the states one after another: a job that moves on meanwhile may be met
  // twice, so count ids.
  const found = new Set<string>();
  for (let cursor = ''; ; ) {
    const { body } = await api(
      'GET',
      `/jobs?queue=default&type=delayed_message&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
    );
    for (const j of body.jobs as { jobId: string; payload?: { message?: string } }[])
      if (j.payload?.message?.startsWith(`${tag}-`)) found.add(j.jobId);
    if (!body.nextCursor) return found.size;
    cursor = body.nextCursor;
  }
}

describe('intake is all or nothing, even when storage fails', () => {
  it.runIf(local)('takes back what a failing bulk request stored: 503, and not one job is left', async () => {
    // Prepare: every write of job 250 fails (the SDK's retries included). Jobs without an
    // idempotency key are stored 25 to a BatchWriteItem: the call that carries job 250 fails.
    const tag = runTag('bulk-fault');
    await localAdmin('POST', '/faults', {
      service: 'dynamodb',
      action: 'BatchWriteItem',
      bodyContains: `${tag}${failing}`,
      times: 50,
    });
    // Act
    const response = await api('POST', '/jobs/bulk', { jobs: bulk(tag) });
    await localAdmin('DELETE', `/faults?bodyContains=${encodeURIComponent(`${tag}${failing}`)}`);
    // Assess
    expect(response.status).toBe(503);
    expect(response.body.error).toMatchObject({ code: 'INTAKE_FAILED', details: { stored: [] } });
    expect(await jobsTagged(tag)).toBe(0);
  });

  it.runIf(local)(
    'completes a retried request with the same Idempotency-Key, without duplicates',
    async () => {
      const tag = runTag('bulk-retry');
      const headers = { 'idempotency-key': tag };
      // The first call takes the request's key and writes its jobs 25 to a BatchWriteItem.
      await localAdmin('POST', '/faults', {
        service: 'dynamodb',
        action: 'BatchWriteItem',
        bodyContains: `${tag}${failing}`,
        times: 50,
      });
      expect((await api('POST', '/jobs/bulk', { jobs: bulk(tag) }, headers)).status).toBe(503);
      await localAdmin('DELETE', `/faults?bodyContains=${encodeURIComponent(`${tag}${failing}`)}`);
      const retried = await api('POST', '/jobs/bulk', { jobs: bulk(tag) }, headers);
      expect(retried.status).toBe(202);
      expect(retried.body.accepted + retried.body.duplicates).toBe(size);
      const again = await api('POST', '/jobs/bulk', { jobs: bulk(tag) }, headers);
      expect(again.body).toMatchObject({ accepted: 0, duplicates: size });
      expect(new Set(again.body.jobs.map((j: { jobId: string }) => j.jobId))).toEqual(
        new Set(retried.body.jobs.map((j: { jobId: string }) => j.jobId)),
      );
      expect(await jobsTagged(tag)).toBe(size);
    },
  );
});

describe('a transport fault is not a failed attempt', () => {
  // moto's own Step Functions calls its SQS without passing the local cloud's endpoint.
  it.runIf(embedded)(
    'an order whose step dispatches hit SQS failures completes, every step in one attempt',
    async () => {
      const { orderId } = await placeOrder('companion', { simulate: { stepDurationMs: 20 } });
      // Five failing sends of its next steps' messages: more than the SDK's own retries absorb.
      await localAdmin('POST', '/faults', {
        service: 'sqs',
        action: 'SendMessage',
        bodyContains: orderId,
        times: 5,
      });
      const order = await waitForOrder(orderId, 90_000);
      await localAdmin('DELETE', `/faults?bodyContains=${orderId}`);
      expect(order.status).toBe('COMPLETED');
      for (const step of order.steps) expect(step).toMatchObject({ status: 'COMPLETED', attempts: 1 });
    },
  );
});

describe('secrets in payloads', () => {
  const received: IncomingMessage['headers'][] = [];
  const hook = createServer((req, res) => {
    received.push(req.headers);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => {
    hook.closeAllConnections();
    hook.close();
  });

  it('are used by the job, shown to nobody, and not kept once the job is done', async () => {
    const { body } = await api('POST', '/jobs', {
      queue: 'notifications',
      type: 'webhook_call',
      payload: {
        url,
        headers: { Authorization: 'Bearer s3cr3t', 'X-Shop': 'acme' },
        body: { api_key: 'k-123' },
      },
    });
    const job = await waitForJob(body.jobId);
    expect(job.status).toBe('COMPLETED');
    expect(received.at(-1)?.authorization).toBe('Bearer s3cr3t');
    expect(job.payload).toEqual({
      url,
      method: 'POST',
      headers: { Authorization: '[redacted]', 'X-Shop': '[redacted]' },
      body: { api_key: '[redacted]' },
      requestTimeoutMs: 10_000,
    });
    if (!local) return;
    // The stored row itself no longer holds them.
    const { dynamo } = awsClients();
    try {
      const table = await tableNamed(dynamo, (t) => t.includes('Jobs') && !t.includes('Logs'));
      const { Item } = await dynamo.send(
        new GetItemCommand({ TableName: table, Key: { jobId: { S: body.jobId } } }),
      );
      expect(JSON.stringify(Item)).not.toContain('s3cr3t');
      expect(JSON.stringify(Item)).not.toContain('k-123');
    } finally {
      dynamo.destroy();
    }
  });
});

describe('retention', () => {
  it.runIf(local)('the local cloud expires rows whose TTL has passed, as AWS does', async () => {
    const { dynamo } = awsClients();
    try {
      const table = await tableNamed(dynamo, (t) => t.includes('JobLogs'));
      const key = { jobId: { S: runTag('expired') }, logId: { S: 'x' } };
      const past = String(Math.floor(Date.now() / 1000) - 60);
      await dynamo.send(new PutItemCommand({ TableName: table, Item: { ...key, expiresAt: { N: past } } }));
      // The sweep asked for runs after any under way; the minute's own sweep may be the one that
      // takes the row (then this one deletes nothing): the row is gone either way.
      const swept = await localAdmin('POST', '/ttl/sweep');
      expect(swept.deleted).toEqual(expect.any(Number));
      expect((await dynamo.send(new GetItemCommand({ TableName: table, Key: key }))).Item).toBeUndefined();
    } finally {
      dynamo.destroy();
    }
  });
});
