/** Each built-in job type, end to end through the HTTP API. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Jimp } from 'jimp';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import {
  api,
  bearer,
  eventsListed,
  jobLogOnce,
  runTag,
  submitJob,
  waitForJob,
} from '../helpers/factory-client.ts';

const received: { method: string; path: string; body: string; headers: IncomingMessage['headers'] }[] = [];
const hooks = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    received.push({ method: req.method ?? '', path: req.url ?? '', body, headers: req.headers });
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const redirect = query.get('to');
    if (redirect) return void res.writeHead(302, { location: redirect }).end();
    const status = Number(query.get('status') ?? 200);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
  });
});
let hookUrl = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}`;
});
afterAll(() => {
  hooks.closeAllConnections();
  hooks.close();
});

async function outputOf(jobId: string) {
  const response = await fetch(`${inject('apiUrl')}/jobs/${jobId}/output`, { headers: bearer('viewer') });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: Buffer.from(await response.arrayBuffer()),
  };
}

describe('send_email', () => {
  it('delivers to the outbox, which the API lists', async () => {
    const subject = runTag('welcome');
    const { jobId } = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'ada@example.com', cc: ['ops@example.com'], subject, body: 'Your robot is on its way.' },
    });
    const job = await waitForJob(jobId);
    expect(job).toMatchObject({
      status: 'COMPLETED',
      result: { deliveredTo: ['ada@example.com', 'ops@example.com'], subject },
    });
    const { body } = await api('GET', `/outbox?day=${job.result.sentAt.slice(0, 10)}&limit=200`);
    expect(body.mails).toEqual(
      expect.arrayContaining([expect.objectContaining({ jobId, to: 'ada@example.com', subject })]),
    );
  });

  it('rejects an invalid address with a 400', async () => {
    const response = await api('POST', '/jobs', {
      queue: 'notifications',
      type: 'send_email',
      payload: { to: 'nobody', subject: 's', body: 'b' },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({
      code: 'INVALID_PAYLOAD',
      details: [expect.objectContaining({ path: 'payload.to' })],
    });
  });
});

describe('webhook_call', () => {
  it('POSTs the body and records status code and latency', async () => {
    const tag = runTag('hook');
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'webhook_call',
      payload: { url: `${hookUrl}/ok?tag=${tag}`, body: { tag } },
    });
    const job = await waitForJob(jobId);
    expect(job.status).toBe('COMPLETED');
    expect(job.result.statusCode).toBe(200);
    expect(job.result.latencyMs).toBeGreaterThanOrEqual(0);
    const call = received.find((r) => r.path.includes(tag));
    expect(call).toMatchObject({ method: 'POST', body: JSON.stringify({ tag }) });
    expect(call?.headers['x-robot-factory-job']).toBe(jobId);
  });

  it('fails the attempt on a non-2xx answer', async () => {
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'webhook_call',
      payload: { url: `${hookUrl}/down?status=503` },
      maxAttempts: 1,
    });
    const job = await waitForJob(jobId);
    expect(job.status).toBe('DEAD');
    expect(job.error).toMatch(/answered 503/);
    const lines = await jobLogOnce(jobId, (log) => log.some((l) => /→ 503 in \d+ ms/.test(l.message)));
    expect(lines.filter((l) => /→ 503 in \d+ ms/.test(l.message))).toHaveLength(1);
  });

  it('fails the attempt on a network error', async () => {
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'webhook_call',
      payload: { url: 'http://127.0.0.1:9/closed' },
      maxAttempts: 1,
    });
    expect((await waitForJob(jobId)).status).toBe('DEAD');
  });
});

describe('outbound calls (no server-side request forgery)', () => {
  // Loopback only: locally 127.0.0.1 and localhost are allowed; 127.0.0.2 is loopback the
  // factory must refuse, and its receiver must hear nothing.
  let heard = 0;
  let refusedUrl = '';
  const refused = createServer((_req, res) => {
    heard++;
    res.end('leaked');
  });
  beforeAll(async () => {
    await new Promise<void>((r) => refused.listen(0, '127.0.0.2', r));
    refusedUrl = `http://127.0.0.2:${(refused.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    refused.close();
  });

  it('sends a job calling a loopback, metadata or private address to DEAD at once: "destination not allowed"', async () => {
    const targets = [
      `${refusedUrl}/hook`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/internal',
    ];
    const jobs = await Promise.all(
      targets.map((url) =>
        submitJob({ queue: 'default', type: 'webhook_call', payload: { url }, maxAttempts: 5 }),
      ),
    );
    for (const [i, { jobId }] of jobs.entries()) {
      const job = await waitForJob(jobId);
      expect({ url: targets[i], status: job.status, attempts: job.attempts }).toEqual({
        url: targets[i],
        status: 'DEAD',
        attempts: 1,
      });
      expect(job.error).toContain('destination not allowed');
    }
    // A redirect from an allowed receiver to a refused one is refused too.
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'webhook_call',
      payload: { url: `${hookUrl}/redirect?to=${encodeURIComponent(`${refusedUrl}/via-redirect`)}` },
      maxAttempts: 2,
    });
    expect((await waitForJob(jobId)).error).toContain('destination not allowed');
    expect(heard).toBe(0);
  });
});

describe('generate_report', () => {
  it('computes a report over the jobs data and stores it', async () => {
    const done = await submitJob({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'for the report' },
    });
    await waitForJob(done.jobId);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const { jobId } = await submitJob({
      queue: 'reports',
      type: 'generate_report',
      payload: { title: 'Hourly', from, to },
    });
    const job = await waitForJob(jobId);
    expect(job.status).toBe('COMPLETED');
    expect(job.result.totals.completed).toBeGreaterThanOrEqual(1);
    const output = await outputOf(jobId);
    expect(output.status).toBe(200);
    expect(output.type).toMatch(/^application\/json/);
    const report = JSON.parse(output.body.toString());
    expect(report).toMatchObject({ title: 'Hourly', from, to: new Date(to).toISOString() });
    const row = report.byQueueAndType.find(
      (r: { queue: string; type: string }) => r.queue === 'default' && r.type === 'delayed_message',
    );
    expect(row.completed).toBeGreaterThanOrEqual(1);
    expect(row.successRate).toBeGreaterThan(0);
    expect(report.sales).toHaveProperty('robotsShipped');
  });

  it('rejects a range that ends before it starts', async () => {
    const response = await api('POST', '/jobs', {
      queue: 'reports',
      type: 'generate_report',
      payload: { from: '2026-02-01', to: '2026-01-01' },
    });
    expect(response.status).toBe(400);
  });
});

describe('process_image', () => {
  const source = async () => {
    const image = new Jimp({ width: 240, height: 160, color: 0x2a6fdbff });
    image.scan(0, 0, 120, 160, (x, y, idx) => {
      image.bitmap.data[idx] = 240;
      image.bitmap.data[idx + 1] = (x + y) % 255;
    });
    return image.getBuffer('image/png');
  };

  it('resizes a base64 PNG to WebP and serves the output', async () => {
    const png = await source();
    const { jobId } = await submitJob({
      queue: 'media',
      type: 'process_image',
      payload: { image: { base64: png.toString('base64') }, width: 120, format: 'webp', quality: 70 },
    });
    const job = await waitForJob(jobId, undefined, 60_000);
    expect(job.status).toBe('COMPLETED');
    expect(job.result).toMatchObject({
      contentType: 'image/webp',
      width: 120,
      height: 80,
      source: { format: 'png', width: 240, height: 160 },
    });
    const output = await outputOf(jobId);
    expect(output.type).toBe('image/webp');
    expect(output.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(output.body.subarray(8, 12).toString('latin1')).toBe('WEBP');
    expect(output.body.length).toBe(job.result.bytes);
    // It reported its progress: the last report is on the job, the first was pushed as an event.
    expect(job.progress).toMatchObject({ percent: 100, message: 'stored' });
    await vi.waitFor(
      async () => {
        const events = await eventsListed(`jobId=${jobId}&type=job.progress`, (seen) => seen.length > 0);
        expect(events[0]).toMatchObject({
          type: 'job.progress',
          data: { percent: 0, message: 'loading the image' },
        });
      },
      { timeout: 30_000, interval: 1_000 },
    );

    // The WebP output, by reference, re-encoded as a smaller JPEG with a cover crop.
    const second = await submitJob({
      queue: 'media',
      type: 'process_image',
      payload: {
        image: { artifactKey: job.result.artifactKey },
        width: 50,
        height: 50,
        fit: 'cover',
        format: 'jpeg',
        quality: 40,
      },
    });
    const jpeg = await waitForJob(second.jobId, undefined, 60_000);
    expect(jpeg.result).toMatchObject({
      contentType: 'image/jpeg',
      width: 50,
      height: 50,
      source: { format: 'webp', width: 120, height: 80 },
    });
    const decoded = await Jimp.read((await outputOf(second.jobId)).body);
    expect([decoded.width, decoded.height]).toEqual([50, 50]);
  });

  it('fails permanently (DEAD at once) on bytes that are not an image', async () => {
    const { jobId } = await submitJob({
      queue: 'media',
      type: 'process_image',
      payload: {
        image: { base64: Buffer.from('definitely not an image').toString('base64') },
        format: 'png',
      },
      maxAttempts: 3,
    });
    const job = await waitForJob(jobId, undefined, 60_000);
    expect(job).toMatchObject({ status: 'DEAD', attempts: 1 });
    expect(job.error).toMatch(/Not a readable image/);
  });
});

describe('delayed_message and fail_sometimes', () => {
  it('delivers the message after its hold', async () => {
    const { jobId } = await submitJob({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'tick', holdMs: 600 },
    });
    const job = await waitForJob(jobId);
    expect(job.result.message).toBe('tick');
    expect(Date.parse(job.completedAt) - Date.parse(job.startedAt)).toBeGreaterThanOrEqual(600);
  });

  it('fails with the given probability', async () => {
    const always = await submitJob({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 1 },
      maxAttempts: 1,
    });
    const never = await submitJob({
      queue: 'default',
      type: 'fail_sometimes',
      payload: { probability: 0 },
      maxAttempts: 1,
    });
    expect((await waitForJob(always.jobId)).status).toBe('DEAD');
    expect((await waitForJob(never.jobId)).status).toBe('COMPLETED');
  });
});
