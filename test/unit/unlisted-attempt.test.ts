/**
 * An attempt claimed without an index entry (store.claim keeps the job on `ready`): listed as
 * RUNNING by its first heartbeat once it outlives `listRunningAfterMs`, never if it ends sooner;
 * its wake-up, back from a dead invocation, is what recovers it (job-lifecycle.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  type AttemptPorts,
  runJobAttempt,
  UnlistedAttemptRunning,
} from '../../functions/domain/job-lifecycle.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { attemptHarness, now, queuedJob, steerable } from './fixtures/attempt-harness.ts';

const settings = {
  leaseMs: 30_000,
  heartbeatEveryMs: 5_000,
  startLineAfterMs: 1_000,
  listRunningAfterMs: 700,
};

/**
 * The harness with the store's claim: RUNNING, the `ready` entry kept (unlisted); each lease
 * extension recorded with whether it lists the attempt. Sleeps of `ends` ms end at once, the
 * first `times` of them; every other sleep lasts until the attempt ends.
 */
function unlistedHarness(job: ReturnType<typeof steerable>, ends: { ms: number; times: number }[]) {
  const left = new Map(ends.map((e) => [e.ms, e.times]));
  const slept: number[] = [];
  const sleep = (ms: number, signal?: AbortSignal) => {
    slept.push(ms);
    const n = left.get(ms) ?? 0;
    if (n > 0) {
      left.set(ms, n - 1);
      return Promise.resolve();
    }
    return new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
  };
  const harness = attemptHarness([{ ...queuedJob('j1', 5, 'steerable'), readyKey: 'default#normal' }], {
    sleep,
    types: new Map([[job.type.name, job.type]]),
  });
  const beats: (string | undefined)[] = [];
  const store = harness.ports.jobs as unknown as Record<string, unknown>;
  const claim = store.claim as AttemptPorts['jobs']['claim'];
  store.claim = async (id: string, request: Parameters<AttemptPorts['jobs']['claim']>[1]) => {
    const claimed = await claim(id, request);
    if (claimed.kind === 'claimed') harness.jobs.set(id, { ...claimed.job, readyKey: 'default#normal' });
    return claimed.kind === 'claimed' ? { ...claimed, job: harness.jobs.get(id) as JobRecord } : claimed;
  };
  let failFirstBeat = false;
  store.extendLease = async (_id: string, _token: string, _until: number, listAs?: string) => {
    beats.push(listAs);
    if (failFirstBeat) {
      failFirstBeat = false;
      throw new Error('ProvisionedThroughputExceededException');
    }
    return 'ok' as const;
  };
  return {
    ...harness,
    beats,
    slept,
    failFirstBeat: () => {
      failFirstBeat = true;
    },
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('an attempt claimed unlisted', () => {
  it('settles without ever being listed when it ends within its first second', async () => {
    const job = steerable();
    const { ports, beats, jobs, slept } = unlistedHarness(job, []);
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    await tick();
    job.finish();
    expect(await attempt).toBe('completed');
    // Its heartbeat waited listRunningAfterMs to list it, and the attempt was over first.
    expect(slept).toContain(settings.listRunningAfterMs);
    expect(beats).toEqual([]);
    expect(jobs.get('j1')?.status).toBe('COMPLETED');
  });

  it('lists at the claim a job it overtook to: that job’s own wake-up may be nowhere yet', async () => {
    const job = steerable();
    const harness = attemptHarness(
      [
        { ...queuedJob('own', 5, 'steerable'), readyKey: 'default#normal' },
        { ...queuedJob('better', 4, 'steerable'), readyKey: 'default#normal' },
      ],
      {
        // Every sleep lasts until the attempt ends.
        sleep: (_ms, signal) =>
          new Promise<void>((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
        types: new Map([[job.type.name, job.type]]),
      },
    );
    const store = harness.ports.jobs as unknown as Record<string, unknown>;
    const claim = store.claim as AttemptPorts['jobs']['claim'];
    const claims: string[] = [];
    store.claim = async (id: string, request: Parameters<AttemptPorts['jobs']['claim']>[1]) => {
      claims.push(`${id}${request.listed ? ' listed' : ''}`);
      const claimed = await claim(id, request);
      if (claimed.kind !== 'claimed' || !request.listed) return claimed;
      const { readyKey: _off, ...row } = claimed.job;
      const listed = { ...row, queueStatus: 'default#RUNNING' };
      harness.jobs.set(id, listed);
      return { ...claimed, job: listed };
    };
    let listed = 0;
    const attempt = runJobAttempt({ jobId: 'own', priority: 5 }, 'default', harness.ports, settings, {
      listed: () => listed++,
    });
    await tick();
    job.finish();
    expect(await attempt).toBe('completed');
    expect(claims).toEqual(['better listed']);
    // Listed already: the worker may keep the wake-up it holds for the invocation's time.
    expect(listed).toBe(1);
    // Its own wake-up went back in line.
    expect(harness.sent.map((s) => s.wakeUp.jobId)).toEqual(['own']);
  });

  it('is listed as RUNNING by its first beat once it outlives listRunningAfterMs, and beats plainly after', async () => {
    const job = steerable();
    const { ports, beats } = unlistedHarness(job, [
      { ms: settings.listRunningAfterMs, times: 1 },
      { ms: settings.heartbeatEveryMs, times: 1 },
    ]);
    let listed = 0;
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings, {
      listed: () => listed++,
    });
    for (let i = 0; i < 10; i++) await tick();
    expect(beats).toEqual(['default', undefined]);
    // Told once: from then the worker may keep the wake-up for the invocation's time.
    expect(listed).toBe(1);
    job.finish();
    expect(await attempt).toBe('completed');
  });

  it('lists at once a claimed row that was not on ready either: it would be in no index at all', async () => {
    const job = steerable();
    const { ports, beats, jobs } = unlistedHarness(job, [{ ms: 0, times: 1 }]);
    const store = ports.jobs as unknown as Record<string, unknown>;
    const claim = store.claim as AttemptPorts['jobs']['claim'];
    store.claim = async (id: string, request: Parameters<AttemptPorts['jobs']['claim']>[1]) => {
      const claimed = await claim(id, request);
      if (claimed.kind !== 'claimed') return claimed;
      const { readyKey: _gone, ...row } = claimed.job;
      jobs.set(id, row);
      return { ...claimed, job: row };
    };
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings);
    for (let i = 0; i < 10; i++) await tick();
    expect(beats).toEqual(['default']);
    job.finish();
    expect(await attempt).toBe('completed');
  });

  it('tries the listing again at the next beat when a beat fails', async () => {
    const job = steerable();
    const harness = unlistedHarness(job, [{ ms: settings.listRunningAfterMs, times: 2 }]);
    harness.failFirstBeat();
    const attempt = runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', harness.ports, settings);
    for (let i = 0; i < 10; i++) await tick();
    // Both beats came after listRunningAfterMs (not the 5 s heartbeat) and both list it.
    expect(harness.beats).toEqual(['default', 'default']);
    job.finish();
    expect(await attempt).toBe('completed');
  });

  it('leaves a wake-up for it for redelivery while its lease runs, instead of absorbing it', async () => {
    const job = steerable();
    const running: JobRecord = {
      ...queuedJob('j1', 5, 'steerable'),
      status: 'RUNNING',
      attempts: 1,
      readyKey: 'default#normal',
      leaseExpiresAt: now.getTime() + 20_000,
    };
    const harness = attemptHarness([running], { types: new Map([[job.type.name, job.type]]) });
    const recovered: string[] = [];
    const ports = {
      ...harness.ports,
      recoverUnlisted: async (id: string) => {
        recovered.push(id);
        return 'recovered' as const;
      },
    };
    const left = await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings).catch(
      (e) => e,
    );
    expect(left).toBeInstanceOf(UnlistedAttemptRunning);
    // Back just after the lease (20 s) runs out: then it is recovered if its worker is gone.
    expect(left.redeliverAfterSeconds).toBe(21);
    expect(recovered).toEqual([]);
    expect(harness.logs).toEqual([]);
  });

  it('is recovered by its wake-up once its lease ran out (its worker died before listing it)', async () => {
    const job = steerable();
    const lost: JobRecord = {
      ...queuedJob('j1', 5, 'steerable'),
      status: 'RUNNING',
      attempts: 1,
      readyKey: 'default#normal',
      leaseExpiresAt: now.getTime() - 1,
    };
    const harness = attemptHarness([lost], { types: new Map([[job.type.name, job.type]]) });
    const recovered: string[] = [];
    let verdict: 'recovered' | 'not-expired' = 'recovered';
    const ports = {
      ...harness.ports,
      recoverUnlisted: async (id: string) => {
        recovered.push(id);
        return verdict;
      },
    };
    expect(await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings)).toBe('recovered');
    expect(recovered).toEqual(['j1']);
    // Settled meanwhile by someone else's recovery, or listed after all: the wake-up comes back.
    verdict = 'not-expired';
    await expect(
      runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', ports, settings),
    ).rejects.toBeInstanceOf(UnlistedAttemptRunning);
  });

  it('absorbs a wake-up for a listed RUNNING job, as before', async () => {
    const job = steerable();
    const listed: JobRecord = {
      ...queuedJob('j1', 5, 'steerable'),
      status: 'RUNNING',
      attempts: 1,
      leaseExpiresAt: now.getTime() + 20_000,
    };
    const harness = attemptHarness([listed], { types: new Map([[job.type.name, job.type]]) });
    expect(await runJobAttempt({ jobId: 'j1', priority: 5 }, 'default', harness.ports, settings)).toBe(
      'absorbed',
    );
    expect(harness.logs.map((l) => l.message)).toEqual(['Duplicate delivery absorbed: the job is RUNNING']);
  });
});
