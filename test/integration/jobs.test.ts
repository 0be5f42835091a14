/** The job engine's intake and views, over HTTP: submit, idempotency, bulk, listings, queues, stats. */
import { describe, expect, inject, it, vi } from 'vitest';
import { api, bearer, getJob, runTag, submitJob, waitForJob } from '../helpers/factory-client.ts';

describe('submitting jobs', () => {
  it('runs a standalone job on its queue and shows it in GET /jobs/{id}', async () => {
    const { jobId, status } = await submitJob({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'hello' },
    });
    expect(status).toBe('QUEUED');
    const job = await waitForJob(jobId);
    expect(job).toMatchObject({
      kind: 'job',
      queue: 'default',
      type: 'delayed_message',
      status: 'COMPLETED',
      attempts: 1,
      priority: 5,
      result: { message: 'hello' },
    });
    // Retention: finished jobs carry their TTL (7 days by default).
    expect(job.expiresAt - Date.parse(job.completedAt) / 1000).toBeCloseTo(7 * 86_400, -1);
  });

  it('returns the same job for the same idempotency key and creates nothing new', async () => {
    const key = runTag('idem');
    const first = await api('POST', '/jobs', {
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'once' },
      idempotencyKey: key,
    });
    const second = await api('POST', '/jobs', {
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'twice?' },
      idempotencyKey: key,
    });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ jobId: first.body.jobId, duplicate: true });
    // Waits for the result too: moto applies an UpdateItem's SETs one by one on the stored item, so
    // a read racing the settle can see COMPLETED before the result (seen once in ~20 moto runs). A
    // result that never comes still fails, by the wait's timeout.
    const job = await waitForJob(
      first.body.jobId,
      (j) => (j.status === 'COMPLETED' && j.result !== undefined) || ['DEAD', 'CANCELLED'].includes(j.status),
    );
    expect(job.status).toBe('COMPLETED');
    expect(job.result.message).toBe('once');
  });

  it('takes the idempotency key from the Idempotency-Key header too', async () => {
    const key = runTag('header');
    const send = async () => {
      const response = await fetch(`${inject('apiUrl')}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key, ...bearer() },
        body: JSON.stringify({ queue: 'default', type: 'delayed_message', payload: { message: 'h' } }),
      });
      return { status: response.status, body: (await response.json()) as { jobId: string } };
    };
    const a = await send();
    const b = await send();
    expect(a.body.jobId).toBe(b.body.jobId);
    expect([a.status, b.status]).toEqual([202, 200]);
  });

  // The full 500 where the data plane keeps up; 100 on moto, where the two requests' ~2,000 calls
  // took its whole capacity for a minute from the files running beside this one.
  const bulkSize = inject('backend') === 'moto' ? 100 : 500;
  it(`accepts ${bulkSize} jobs in one bulk request, and absorbs the same ${bulkSize} again`, async () => {
    const tag = runTag('bulk');
    // Three urgent jobs run now; the rest wait an hour (parked in the due index), so the run
    // check does not depend on draining the others through a slow backend.
    const urgent = [0, 0.4 * bulkSize, 0.8 * bulkSize];
    const jobs = Array.from({ length: bulkSize }, (_, i) => ({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: `${tag}-${i}` },
      idempotencyKey: `${tag}-${i}`,
      ...(urgent.includes(i) ? { priority: 0 } : { delayMs: 3_600_000 }),
    }));
    const first = await api('POST', '/jobs/bulk', { jobs });
    expect(first.status).toBe(202);
    expect(first.body.accepted).toBe(bulkSize);
    expect(new Set(first.body.jobs.map((j: { jobId: string }) => j.jobId)).size).toBe(bulkSize);
    expect(first.body.jobs.filter((j: { status: string }) => j.status === 'PENDING')).toHaveLength(
      bulkSize - 3,
    );
    const again = await api('POST', '/jobs/bulk', { jobs });
    expect(again.body).toMatchObject({ accepted: 0, duplicates: bulkSize });
    for (const index of urgent) {
      const job = await waitForJob(first.body.jobs[index].jobId, undefined, 60_000);
      expect(job.status).toBe('COMPLETED');
    }
    expect((await getJob(first.body.jobs[bulkSize - 1].jobId)).status).toBe('PENDING');
  });

  it('stores a bulk request with an Idempotency-Key once, even sent twice at the same moment', async () => {
    const tag = runTag('bulk-twice');
    // Parked an hour ahead: the check is the intake, not the drain.
    const jobs = Array.from({ length: 100 }, (_, i) => ({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: `${tag}-${i}` },
      delayMs: 3_600_000,
    }));
    const headers = { 'idempotency-key': tag };
    // The first to take the key writes its jobs without conditions; the other waits for it and
    // finds them: between them, each job is accepted once.
    const [a, b] = await Promise.all([
      api('POST', '/jobs/bulk', { jobs }, headers),
      api('POST', '/jobs/bulk', { jobs }, headers),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.accepted + b.body.accepted).toBe(100);
    expect(a.body.duplicates + b.body.duplicates).toBe(100);
    const ids = (r: typeof a) => r.body.jobs.map((j: { jobId: string }) => j.jobId);
    expect(ids(a)).toEqual(ids(b));
    expect(new Set(ids(a)).size).toBe(100);
    const again = await api('POST', '/jobs/bulk', { jobs }, headers);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 100 });
  });

  it('rejects a bulk request atomically: one bad job, nothing stored', async () => {
    const key = runTag('atomic');
    const response = await api('POST', '/jobs/bulk', {
      jobs: [
        { queue: 'default', type: 'delayed_message', payload: { message: 'fine' }, idempotencyKey: key },
        { queue: 'default', type: 'delayed_message', payload: {} },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('INVALID_PAYLOAD');
    expect(response.body.error.details[0]).toMatchObject({ index: 1, path: 'payload.message' });
    // The valid first job was not stored: submitting it now creates it.
    const now = await api('POST', '/jobs', {
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'fine' },
      idempotencyKey: key,
    });
    expect(now.status).toBe(202);
  });
});

describe('queues and listings', () => {
  it('lists every queue with the job types it takes and its concurrency', async () => {
    const { status, body } = await api('GET', '/queues');
    expect(status).toBe(200);
    const byName = Object.fromEntries(body.map((q: { name: string }) => [q.name, q]));
    expect(byName.media).toMatchObject({ kind: 'job-queue', jobTypes: ['process_image'], concurrency: 9 });
    expect(byName.media.bands.map((b: { band: string }) => b.band)).toEqual(['urgent', 'normal', 'low']);
    expect(byName.packaging).toMatchObject({
      kind: 'production-line',
      jobTypes: ['package_robot'],
      acceptsSubmissions: false,
    });
  });

  it('pages through GET /jobs with a cursor, filtered by queue, state and type', async () => {
    const tag = runTag('page');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (
          await submitJob({
            queue: 'default',
            type: 'send_email',
            payload: { to: `p${i}@example.com`, subject: tag, body: 'b' },
          })
        ).jobId,
      );
    }
    for (const id of ids) await waitForJob(id);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/jobs?queue=default&status=COMPLETED&type=send_email&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await api('GET', query);
      expect(status).toBe(200);
      expect(body.jobs.length).toBeLessThanOrEqual(2);
      for (const job of body.jobs)
        expect(job).toMatchObject({ queue: 'default', status: 'COMPLETED', type: 'send_email' });
      seen.push(...body.jobs.map((j: { jobId: string }) => j.jobId));
      cursor = body.nextCursor;
      pages++;
    } while (cursor && !ids.every((id) => seen.includes(id)) && pages < 100);
    expect(ids.every((id) => seen.includes(id))).toBe(true);
    expect(new Set(seen).size).toBe(seen.length);
    expect((await api('GET', '/jobs?cursor=bm90LWEtY3Vyc29y')).body.error.code).toBe('INVALID_CURSOR');
  });

  it('shows robot steps and standalone jobs in the same listing', async () => {
    const { body } = await api('GET', '/jobs?status=COMPLETED&limit=200');
    const kinds = new Set(body.jobs.map((j: { kind: string }) => j.kind));
    expect(kinds.has('job')).toBe(true);
  });

  it('counts jobs by state and shows each queue per priority band', async () => {
    const { jobId } = await submitJob({
      queue: 'reports',
      type: 'generate_report',
      payload: { from: '2026-01-01', to: '2026-01-02' },
      delayMs: 600_000,
    });
    // The counts follow the jobs table's stream: a moment behind the write.
    const stats = await vi.waitFor(
      async () => {
        const read = await api('GET', '/jobs/stats?queue=reports');
        expect(read.status).toBe(200);
        expect(read.body.delayed).toBeGreaterThanOrEqual(1);
        return read;
      },
      { timeout: 30_000, interval: 500 },
    );
    for (const key of ['waiting', 'active', 'completed', 'failed', 'dead', 'delayed', 'blocked', 'cancelled'])
      expect(typeof stats.body[key]).toBe('number');
    const overview = await vi.waitFor(
      async () => {
        const read = await api('GET', '/jobs/queue?queue=reports');
        expect(read.status).toBe(200);
        expect(read.body.queues[0].bands.normal.delayed).toBeGreaterThanOrEqual(1);
        return read;
      },
      { timeout: 30_000, interval: 500 },
    );
    const [reports] = overview.body.queues;
    expect(Object.keys(reports.bands)).toEqual(['urgent', 'normal', 'low']);
    for (const band of Object.values<any>(reports.bands))
      expect(Object.keys(band).sort()).toEqual([
        'blocked',
        'dead',
        'delayed',
        'oldestWaitingAgeMs',
        'running',
        'waiting',
      ]);
    expect((await api('DELETE', `/jobs/${jobId}`)).status).toBe(200);
    expect((await getJob(jobId)).status).toBe('CANCELLED');
  });

  it('keeps the counts equal to a recount of the rows once the stream has caught up', async () => {
    // A little of everything: delayed, blocked on a dependency, and jobs that run to the end.
    const email = () => ({ to: 'counts@example.com', subject: runTag('counts'), body: 'b' });
    const done = await Promise.all(
      Array.from({ length: 5 }, () =>
        submitJob({ queue: 'notifications', type: 'send_email', payload: email() }),
      ),
    );
    const later = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: email(),
      delayMs: 900_000,
    });
    const blocked = await submitJob({
      queue: 'notifications',
      type: 'send_email',
      payload: email(),
      dependsOn: [later.jobId],
    });
    await Promise.all(done.map((j) => waitForJob(j.jobId)));
    const shapes = ['waiting', 'active', 'completed', 'failed', 'dead', 'delayed', 'blocked', 'cancelled'];
    const pick = (body: Record<string, unknown>) => Object.fromEntries(shapes.map((k) => [k, body[k]]));
    // Other tests' jobs move too: compare when two reads of the counts agree with a recount between them.
    await vi.waitFor(
      async () => {
        const counted = await api('GET', '/jobs/stats?queue=notifications');
        const exact = await api('GET', '/jobs/stats?queue=notifications&exact=true');
        const again = await api('GET', '/jobs/stats?queue=notifications');
        expect(exact.status).toBe(200);
        expect(pick(counted.body)).toEqual(pick(again.body));
        expect(pick(counted.body)).toEqual(pick(exact.body));
      },
      { timeout: 60_000, interval: 1_000 },
    );
    const { body } = await api('GET', '/jobs/stats?queue=notifications');
    expect(body.delayed).toBeGreaterThanOrEqual(1);
    expect(body.blocked).toBeGreaterThanOrEqual(1);
    expect(body.completed).toBeGreaterThanOrEqual(5);
    const bad = await api('GET', '/jobs/stats?exact=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBeTypeOf('string');
    for (const j of [blocked, later]) await api('DELETE', `/jobs/${j.jobId}`);
  });
});
