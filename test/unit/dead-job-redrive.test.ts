/** A bulk redrive: what it selects, what it skips and why, and one resume per robot order. */
import { describe, expect, it } from 'vitest';
import {
  type RedrivePorts,
  redriveDeadJobs,
  selectDeadJobs,
} from '../../functions/domain/dead-job-redrive.ts';
import type { JobRecord } from '../../functions/domain/jobs.ts';
import { queuedJob } from './fixtures/attempt-harness.ts';

const dead = (jobId: string, extra: Partial<JobRecord> = {}): JobRecord => ({
  ...queuedJob(jobId, 5),
  status: 'DEAD',
  attempts: 3,
  ...extra,
});

function ports(rows: JobRecord[], pageSize = 2) {
  const byId = new Map(rows.map((r) => [r.jobId, r]));
  const pagesRead: number[] = [];
  return {
    pagesRead,
    ports: {
      store: {
        getMany: async (ids: readonly string[]) =>
          new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id) as JobRecord] as const] : []))),
      },
      queries: {
        list: async (filter: { limit: number; cursor?: string; type?: string }) => {
          const all = rows.filter((r) => r.status === 'DEAD' && (!filter.type || r.type === filter.type));
          const start = Number(filter.cursor ?? 0);
          const size = Math.min(pageSize, filter.limit);
          pagesRead.push(start);
          const jobs = all.slice(start, start + size);
          return { jobs, nextCursor: start + size < all.length ? String(start + size) : null };
        },
      },
    } as unknown as Pick<RedrivePorts, 'store' | 'queries'>,
  };
}

describe('selecting dead jobs', () => {
  it('takes listed ids that are dead and says why it skips the others', async () => {
    const { ports: p } = ports([dead('d1'), { ...queuedJob('q1', 5) }, dead('gone', { discardedAt: 'x' })]);
    const { jobs, skipped } = await selectDeadJobs({ jobIds: ['d1', 'q1', 'gone', 'nope', 'd1'] }, p);
    expect(jobs.map((j) => j.jobId)).toEqual(['d1']);
    expect(skipped).toEqual([
      { jobId: 'q1', reason: 'not in the dead-letter queue (QUEUED)' },
      { jobId: 'gone', reason: 'not in the dead-letter queue (DEAD)' },
      { jobId: 'nope', reason: 'not found' },
    ]);
  });

  it('reads the listing page by page up to the limit', async () => {
    const { ports: p, pagesRead } = ports(Array.from({ length: 7 }, (_, i) => dead(`d${i}`)));
    const { jobs } = await selectDeadJobs({ queues: ['default'], limit: 5 }, p);
    expect(jobs.map((j) => j.jobId)).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
    expect(pagesRead).toEqual([0, 2, 4]);
  });
});

describe('redriving', () => {
  it('resumes a robot order once for all of its dead steps, and reports refusals', async () => {
    const asked: string[] = [];
    const retry = async (job: JobRecord) => {
      asked.push(job.jobId);
      return job.jobId === 'lonely'
        ? ({ kind: 'refused', code: 'NOT_RETRYABLE', message: 'not today' } as const)
        : ({ kind: 'retried', job } as never);
    };
    const { retried, skipped } = await redriveDeadJobs(
      [
        dead('o1.calibrate', { kind: 'step', orderId: 'o1' }),
        dead('o1.paint', { kind: 'step', orderId: 'o1' }),
        dead('lonely'),
      ],
      retry,
    );
    expect(asked.sort()).toEqual(['lonely', 'o1.calibrate']);
    expect(retried.sort()).toEqual(['o1.calibrate', 'o1.paint']);
    expect(skipped).toEqual([{ jobId: 'lonely', reason: 'not today' }]);
  });
});
