/** Requests written from the seeds work unchanged: their spellings, payloads and /api/v1 paths. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, runTag, waitForJob } from '../helpers/factory-client.ts';

let png: Buffer;
const images = createServer((_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png));
let imageUrl = '';
beforeAll(async () => {
  png = await new Jimp({ width: 64, height: 48, color: 0xdb6f2aff }).getBuffer('image/png');
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
  imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/robot.png`;
});
afterAll(() => {
  images.closeAllConnections();
  images.close();
});

describe("seed 003's tasks", () => {
  it("takes an upper-case type, no queue (the type's default), `content` and `availableAt`", async () => {
    const subject = runTag('seed003');
    const availableAt = new Date(Date.now() + 1500).toISOString();
    const { status, body } = await api('POST', '/jobs', {
      type: 'SEND_EMAIL',
      payload: { to: 'ada@example.com', from: 'factory@example.com', subject, content: 'Your robot ships.' },
      availableAt,
    });
    expect(status).toBe(202);
    const job = await waitForJob(body.jobId);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      queue: 'notifications',
      type: 'send_email',
      runAt: availableAt,
    });
    expect(Date.parse(job.startedAt)).toBeGreaterThanOrEqual(Date.parse(availableAt));
    const mails = [];
    for (let cursor = ''; ; ) {
      const { body: page } = await api('GET', `/outbox?limit=200${cursor ? `&cursor=${cursor}` : ''}`);
      mails.push(...page.mails);
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect(mails.find((m: { subject: string }) => m.subject === subject)).toMatchObject({
      body: 'Your robot ships.',
      from: 'factory@example.com',
    });
  });
});

describe("seed 002's payloads", () => {
  it('process_image: {image_url, transformations: {resize, format, quality}}', async () => {
    const { body } = await api('POST', '/jobs', {
      type: 'process_image',
      payload: {
        image_url: imageUrl,
        transformations: { resize: { width: 32, height: 24 }, format: 'jpg', quality: 60 },
      },
    });
    const job = await waitForJob(body.jobId, undefined, 60_000);
    expect(job).toMatchObject({ status: 'COMPLETED', queue: 'media' });
    expect(job.result).toMatchObject({ contentType: 'image/jpeg', width: 32, height: 24 });
  });

  it('generate_report: {report_type, date_range: {start, end}, user_id}', async () => {
    const { body } = await api('POST', '/jobs', {
      type: 'generate_report',
      payload: {
        report_type: 'sales',
        date_range: { start: '2026-11-01', end: '2026-12-01' },
        user_id: 'u-17',
      },
    });
    const job = await waitForJob(body.jobId, undefined, 60_000);
    expect(job).toMatchObject({ status: 'COMPLETED', queue: 'reports' });
    expect(job.payload).toMatchObject({ reportType: 'sales', requestedBy: 'u-17', from: '2026-11-01' });
  });
});

describe("seed 004's API under /api/v1", () => {
  it('POST /api/v1/jobs {queue, jobType, payload, priority, maxAttempts, scheduledFor} → {jobId, status, queuePosition}', async () => {
    const message = runTag('seed004');
    const submitted = await api('POST', '/api/v1/jobs', {
      queue: 'default',
      jobType: 'delayed_message',
      payload: { message },
      priority: 'high',
      maxAttempts: 4,
      scheduledFor: new Date(Date.now() - 1000).toISOString(),
    });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ jobId: expect.any(String), status: 'QUEUED' });
    expect(submitted.body.queuePosition).toBeGreaterThanOrEqual(1);
    const later = await api('POST', '/api/v1/jobs', {
      queue: 'default',
      jobType: 'delayed_message',
      payload: { message },
      scheduledFor: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(later.body).toMatchObject({ status: 'PENDING', queuePosition: null });

    const job = await waitForJob(submitted.body.jobId);
    expect(job).toMatchObject({ status: 'COMPLETED', priority: 2, maxAttempts: 4 });
    const read = await api('GET', `/api/v1/jobs/${submitted.body.jobId}`);
    expect(read.body).toMatchObject({ jobId: submitted.body.jobId, status: 'COMPLETED' });
    // The attempt's line is written in a batch: it may trail the job's state by a moment.
    let logs = (await api('GET', `/api/v1/jobs/${submitted.body.jobId}/logs`)).body.logs;
    for (let i = 0; i < 50 && logs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      logs = (await api('GET', `/api/v1/jobs/${submitted.body.jobId}/logs`)).body.logs;
    }
    expect(logs.length).toBeGreaterThan(0);
    expect((await api('DELETE', `/api/v1/jobs/${later.body.jobId}`)).body.status).toBe('CANCELLED');
    for (const path of [
      '/api/v1/jobs?queue=default',
      '/api/v1/queues',
      '/api/v1/workers',
      '/api/v1/dlq',
      '/api/v1/jobs/stats',
    ])
      expect((await api('GET', path)).status).toBe(200);
    const bad = await api('POST', '/api/v1/jobs', { queue: 'default', jobType: 'teleport', payload: {} });
    expect(bad.body.error.code).toBe('UNKNOWN_JOB_TYPE');
  });
});
