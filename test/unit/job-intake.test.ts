/**
 * Intake markers: a request with several jobs to send marks them once (not one marker clear per
 * job), and a marker that outlives its grace is repaired by sending what is still waiting.
 */
import { describe, expect, it } from 'vitest';
import {
  type IntakeMarker,
  type IntakePorts,
  RequestInProgress,
  type RequestKeyRecord,
  type RequestKeys,
  repairIntake,
  requestKeyWaitMs,
  submitJobs,
} from '../../functions/domain/job-intake.ts';
import { jobIdForKey, jobRequestSchema } from '../../functions/domain/job-submission.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { delayedMessage } from '../../functions/job-types/delayed-message.ts';
import type { JobType } from '../../functions/job-types/job-type.ts';
import { now } from './fixtures/attempt-harness.ts';

function fakes(options: { failSendOf?: (jobId: string) => boolean; failFresh?: boolean } = {}) {
  const rows = new Map<string, JobRecord>();
  const markers = new Map<string, IntakeMarker>();
  const calls: string[] = [];
  const sent: string[] = [];
  const ports = {
    store: {
      get: async (id: string) => rows.get(id),
      getMany: async (ids: readonly string[]) =>
        new Map(ids.flatMap((id) => (rows.has(id) ? [[id, rows.get(id) as JobRecord] as const] : []))),
      create: async (job: JobRecord, plan: { dispatchAt: string } | undefined) => {
        calls.push('create');
        if (rows.has(job.jobId)) return false;
        rows.set(job.jobId, plan ? { ...job, dispatchAt: plan.dispatchAt } : job);
        return true;
      },
      createFresh: async (jobs: readonly { job: JobRecord; plan: { dispatchAt: string } | undefined }[]) => {
        calls.push(`createFresh ${jobs.length}`);
        if (options.failFresh) throw new Error('BatchWriteItem failed');
        for (const { job, plan } of jobs)
          rows.set(job.jobId, plan ? { ...job, dispatchAt: plan.dispatchAt } : job);
      },
      withdraw: async (job: JobRecord) => {
        calls.push('withdraw');
        return rows.delete(job.jobId);
      },
      putIntakeMarker: async (marker: IntakeMarker) => {
        calls.push('putIntakeMarker');
        markers.set(marker.markerId, marker);
      },
      deleteIntakeMarker: async (marker: IntakeMarker) => {
        calls.push('deleteIntakeMarker');
        markers.delete(marker.markerId);
      },
      clearMarker: async (jobId: string) => {
        calls.push('clearMarker');
        const { dispatchAt: _gone, ...row } = rows.get(jobId) as JobRecord;
        rows.set(jobId, row as JobRecord);
      },
    },
    sender: {
      sendMany: async (items: readonly { jobId: string }[]) => {
        calls.push('sendMany');
        const failed = new Set(items.filter((i) => options.failSendOf?.(i.jobId)).map((i) => i.jobId));
        sent.push(...items.filter((i) => !failed.has(i.jobId)).map((i) => i.jobId));
        return failed;
      },
    },
    queue: { send: async () => undefined },
    logs: { append: async () => undefined },
    jobTypes: new Map<string, JobType>([['delayed_message', delayedMessage as JobType]]),
    clock: { now: () => now },
    graceMs: 15_000,
    actor: 'api:test',
  } as unknown as IntakePorts;
  (ports as { jobs: unknown }).jobs = ports.store;
  return { ports, rows, markers, calls, sent };
}

const requests = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    jobRequestSchema.parse({ queue: 'default', type: 'delayed_message', payload: { message: `m${i}` } }),
  );

describe('intake markers', () => {
  it('marks a bulk request once: no marker in the rows, no clear per job', async () => {
    const { ports, rows, markers, calls, sent } = fakes();
    const accepted = await submitJobs(requests(3), ports, { indexed: true });
    expect(sent.sort()).toEqual(accepted.map((a) => a.jobId).sort());
    expect([...rows.values()].every((row) => row.dispatchAt === undefined)).toBe(true);
    expect(calls).toEqual(['putIntakeMarker', 'createFresh 3', 'sendMany', 'deleteIntakeMarker']);
    expect(markers.size).toBe(0);
  });

  it('gives a single job its own marker, cleared after the send', async () => {
    const { ports, calls, rows } = fakes();
    const [accepted] = await submitJobs(requests(1), ports, { indexed: false });
    expect(calls).toEqual(['createFresh 1', 'sendMany', 'clearMarker']);
    expect(rows.get(accepted?.jobId as string)?.dispatchAt).toBeUndefined();
  });

  it('keeps the marker when a send fails, and the repair sends only the jobs still waiting', async () => {
    let first = true;
    const { ports, markers, sent, rows } = fakes({
      failSendOf: () => {
        const fail = first;
        first = false;
        return fail;
      },
    });
    const accepted = await submitJobs(requests(3), ports, { indexed: true });
    expect(markers.size).toBe(1);
    expect(sent).toHaveLength(2);
    // One of the sent jobs has started meanwhile: the repair leaves it alone.
    const started = sent[0] as string;
    rows.set(started, { ...(rows.get(started) as JobRecord), status: 'RUNNING', attempts: 1 });
    sent.length = 0;
    const marker = [...markers.values()][0] as IntakeMarker;
    expect(await repairIntake(marker, ports)).toBe(2);
    expect(sent.sort()).toEqual(
      accepted
        .map((a) => a.jobId)
        .filter((id) => id !== started)
        .sort(),
    );
    expect(markers.size).toBe(0);
  });

  it('repairs a request that died after storing its jobs and before sending them', async () => {
    const { ports, markers, sent } = fakes();
    ports.sender.sendMany = async () => {
      throw new Error('the intake function was killed');
    };
    await expect(submitJobs(requests(4), ports, { indexed: true })).rejects.toThrow('killed');
    const marker = [...markers.values()][0] as IntakeMarker;
    expect(marker.jobIds).toHaveLength(4);
    const repairPorts = fakes();
    // The dispatcher's view: the same rows, a working sender.
    repairPorts.ports.store.getMany = ports.store.getMany;
    expect(
      await repairIntake(marker, {
        ...repairPorts.ports,
        store: { ...repairPorts.ports.store, deleteIntakeMarker: ports.store.deleteIntakeMarker },
      }),
    ).toBe(4);
    expect(repairPorts.sent).toHaveLength(4);
    expect(markers.size).toBe(0);
    expect(sent).toHaveLength(0);
  });

  it('stores jobs without an idempotency key 25 to a call, and those with one by a conditional put each', async () => {
    const { ports, calls, rows } = fakes();
    const keyed = jobRequestSchema.parse({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'keyed' },
      idempotencyKey: 'order-7',
    });
    const accepted = await submitJobs([...requests(60), keyed], ports, { indexed: true });
    expect(calls.filter((c) => c.startsWith('create')).sort()).toEqual([
      'create',
      'createFresh 10',
      'createFresh 25',
      'createFresh 25',
    ]);
    expect(rows.size).toBe(61);
    expect(accepted.every((a) => !a.duplicate)).toBe(true);
    // The same key again is a duplicate, found by its conditional put.
    const again = await submitJobs([keyed], ports, { indexed: false });
    expect(again[0]).toMatchObject({ jobId: accepted.at(-1)?.jobId, duplicate: true });
  });

  it('takes the whole request back when a batch of fresh jobs cannot be stored', async () => {
    const { ports, rows, sent } = fakes({ failFresh: true });
    await expect(submitJobs(requests(30), ports, { indexed: true })).rejects.toThrow();
    expect(rows.size).toBe(0);
    expect(sent).toHaveLength(0);
  });
});

/** Request keys in memory, on a clock that each pause moves on (no wall-clock waits). */
function withRequestKeys(ports: IntakePorts, onPause: (pauses: number) => void = () => undefined) {
  const records = new Map<string, RequestKeyRecord>();
  const pauses: number[] = [];
  let t = now.getTime();
  const requestKeys: RequestKeys = {
    take: async (key, leaseUntil) => {
      if (records.has(key)) return false;
      records.set(key, { leaseUntil, released: false });
      return true;
    },
    get: async (key) => records.get(key),
    release: async (key) => {
      const record = records.get(key);
      if (record) records.set(key, { ...record, released: true });
    },
    pause: async (ms) => {
      pauses.push(ms);
      t += ms;
      onPause(pauses.length);
    },
  };
  const keyed: IntakePorts = { ...ports, clock: { now: () => new Date(t) }, requestKeys };
  const advance = (ms: number) => {
    t += ms;
  };
  return { ports: keyed, records, pauses, advance };
}

const at = (offsetMs: number) => new Date(now.getTime() + offsetMs).toISOString();

describe('request-level idempotency keys', () => {
  it('a request that takes its key stores its jobs 25 to a call, and releases the key once they are sent', async () => {
    const base = fakes();
    const { ports, records } = withRequestKeys(base.ports);
    const accepted = await submitJobs(requests(30), ports, { indexed: true, requestKey: 'nightly-1' });
    expect(base.calls.filter((c) => c.startsWith('create')).sort()).toEqual([
      'createFresh 25',
      'createFresh 5',
    ]);
    expect(accepted.map((a) => a.jobId)).toEqual(requests(30).map((_, i) => jobIdForKey(`nightly-1:${i}`)));
    expect(base.sent).toHaveLength(30);
    expect(records.get('nightly-1')?.released).toBe(true);
  });

  it('the same request again stores by conditional puts and answers the first one’s jobs as duplicates', async () => {
    const base = fakes();
    const { ports } = withRequestKeys(base.ports);
    const first = await submitJobs(requests(30), ports, { indexed: true, requestKey: 'nightly-1' });
    base.calls.length = 0;
    base.sent.length = 0;
    const again = await submitJobs(requests(30), ports, { indexed: true, requestKey: 'nightly-1' });
    expect(base.calls.filter((c) => c === 'create')).toHaveLength(30);
    expect(base.calls.some((c) => c.startsWith('createFresh'))).toBe(false);
    expect(again.map((a) => a.jobId)).toEqual(first.map((a) => a.jobId));
    expect(again.every((a) => a.duplicate)).toBe(true);
    expect(base.rows.size).toBe(30);
    expect(base.sent).toHaveLength(0);
  });

  it('a retry made while the first call is still storing waits for it, then stores with conditions', async () => {
    const base = fakes();
    const keys = withRequestKeys(base.ports, (pauses) => {
      if (pauses === 3) keys.records.set('k', { leaseUntil: at(90_000), released: true });
    });
    keys.records.set('k', { leaseUntil: at(90_000), released: false });
    const accepted = await submitJobs(requests(3), keys.ports, { indexed: true, requestKey: 'k' });
    expect(keys.pauses).toHaveLength(3);
    expect(base.calls.filter((c) => c.startsWith('create'))).toEqual(['create', 'create', 'create']);
    expect(accepted.every((a) => !a.duplicate)).toBe(true);
  });

  it('answers RequestInProgress after waiting its while, having written nothing', async () => {
    const base = fakes();
    const keys = withRequestKeys(base.ports);
    keys.records.set('k', { leaseUntil: at(90_000), released: false });
    await expect(
      submitJobs(requests(3), keys.ports, { indexed: true, requestKey: 'k' }),
    ).rejects.toBeInstanceOf(RequestInProgress);
    expect(keys.pauses.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(requestKeyWaitMs);
    expect(base.calls).toEqual([]);
    expect(base.rows.size).toBe(0);
  });

  it('does not wait for a request whose lease ran out (it is gone): stores with conditions', async () => {
    const base = fakes();
    const keys = withRequestKeys(base.ports);
    keys.records.set('k', { leaseUntil: at(-1), released: false });
    await submitJobs(requests(2), keys.ports, { indexed: true, requestKey: 'k' });
    expect(keys.pauses).toEqual([]);
    expect(base.calls.filter((c) => c.startsWith('create'))).toEqual(['create', 'create']);
  });

  it('keeps a job’s own key conditional in a request that took its key', async () => {
    const base = fakes();
    const { ports } = withRequestKeys(base.ports);
    const own = jobRequestSchema.parse({
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'own' },
      idempotencyKey: 'order-7',
    });
    await submitJobs([...requests(2), own], ports, { indexed: true, requestKey: 'k' });
    expect(base.calls.filter((c) => c.startsWith('create')).sort()).toEqual(['create', 'createFresh 2']);
  });

  it('the same request again leaves the first one’s intake marker to the dispatcher', async () => {
    let failing = true;
    const base = fakes({ failSendOf: () => failing });
    const { ports, advance } = withRequestKeys(base.ports);
    // The first call stored its jobs and could send none: its marker stays for the repair.
    await submitJobs(requests(3), ports, { indexed: true, requestKey: 'k' });
    const [firstMarker] = [...base.markers.values()];
    failing = false;
    advance(1_000);
    await submitJobs(requests(3), ports, { indexed: true, requestKey: 'k' });
    expect([...base.markers.values()]).toEqual([firstMarker]);
  });
});
