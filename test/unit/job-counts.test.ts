/** The live job counts kept from the jobs table's stream, and the views read from them. */
import { describe, expect, it } from 'vitest';
import type { JobRowChange, JobRowImage } from '../../functions/domain/job-changes.ts';
import {
  bandCountsOf,
  type CountChanges,
  type CountingPorts,
  countChangesOf,
  countJobs,
  countsEpochOf,
  type StoredCounts,
  statsOf,
  tallyOfCounts,
} from '../../functions/domain/job-counts.ts';
import type { JobStatus } from '../../functions/domain/jobs.ts';

const since = Date.parse('2026-12-01T09:00:00.000Z');
const at = new Date('2026-12-01T10:00:05.000Z');
const row = (over: Partial<JobRowImage> = {}): JobRowImage => ({
  kind: 'job',
  queue: 'default',
  type: 'send_email',
  status: 'QUEUED',
  priority: 5,
  createdAt: '2026-12-01T10:00:00.000Z',
  runAt: '2026-12-01T10:00:00.000Z',
  ...over,
});
const change = (before: JobRowImage | undefined, after: JobRowImage | undefined): JobRowChange => ({
  ...(before ? { before } : {}),
  ...(after ? { after } : {}),
  at,
});

/** Applies changes as the store does (ADD), then reads them back as the views do. */
function store(...batches: CountChanges[]): StoredCounts {
  const states: Record<string, number> = {};
  const due: Record<string, Record<string, number>> = {};
  for (const batch of batches) {
    for (const [k, n] of Object.entries(batch.states)) states[k] = (states[k] ?? 0) + n;
    for (const [hour, minutes] of Object.entries(batch.due))
      for (const [k, n] of Object.entries(minutes)) {
        due[hour] = { ...due[hour], [k]: (due[hour]?.[k] ?? 0) + n };
      }
  }
  return { since, states, due };
}

describe('countChangesOf', () => {
  it('adds a new row under its state and its due minute', () => {
    expect(countChangesOf([change(undefined, row())], since)).toEqual({
      states: { 'default|normal|QUEUED': 1 },
      due: { '2026-12-01T10:00:00.000Z': { 'default|normal|QUEUED|00': 1 } },
    });
  });

  it('moves a row between states, and a write that moves nothing counted changes nothing', () => {
    const running = row({ status: 'RUNNING', priority: 1 });
    const queued = row({ priority: 1 });
    expect(countChangesOf([change(queued, running)], since)).toEqual({
      states: { 'default|urgent|QUEUED': -1, 'default|urgent|RUNNING': 1 },
      due: { '2026-12-01T10:00:00.000Z': { 'default|urgent|QUEUED|00': -1 } },
    });
    // A heartbeat or a marker cleared: the same state before and after.
    expect(countChangesOf([change(running, { ...running, updatedAt: at.toISOString() })], since)).toEqual({
      states: {},
      due: {},
    });
  });

  it('counts waiting rows with unfinished dependencies as blocked, without a due minute', () => {
    const blocked = row({ status: 'PENDING', waitingOn: new Set(['job_a']) });
    expect(countChangesOf([change(undefined, blocked)], since)).toEqual({
      states: { 'default|normal|PENDING|blocked': 1 },
      due: {},
    });
  });

  it('leaves out rows created before the counts began, non-job rows and discarded dead jobs', () => {
    const old = row({ createdAt: '2026-12-01T08:59:59.999Z' });
    const marker: JobRowImage = { createdAt: '2026-12-01T10:00:00.000Z' };
    const dead = row({ status: 'DEAD', queueStatus: 'default#DEAD' });
    const discarded = { ...dead, queueStatus: 'default#DISCARDED' };
    expect(
      countChangesOf([change(old, { ...old, status: 'RUNNING' }), change(undefined, marker)], since),
    ).toEqual({ states: {}, due: {} });
    expect(countChangesOf([change(dead, discarded)], since)).toEqual({
      states: { 'default|normal|DEAD': -1 },
      due: {},
    });
  });

  it('counts a TTL removal out of its state', () => {
    const completed = row({ status: 'COMPLETED' });
    expect(countChangesOf([change(completed, undefined)], since).states).toEqual({
      'default|normal|COMPLETED': -1,
    });
  });

  it('starts the counts at the second of the earliest record', () => {
    expect(
      countsEpochOf([
        { at: new Date('2026-12-01T10:00:05.700Z') },
        { at: new Date('2026-12-01T10:00:03.200Z') },
      ]),
    ).toBe(Date.parse('2026-12-01T10:00:03.000Z'));
  });

  it('starts them no later than the creation of a row entering in the first batch', () => {
    // Created at …02.998, its record stamped …03: counted from the stream, not left out.
    expect(
      countsEpochOf([
        { at: new Date('2026-12-01T10:00:03.000Z'), after: row({ createdAt: '2026-12-01T10:00:02.998Z' }) },
        { at: new Date('2026-12-01T10:00:04.000Z') },
      ]),
    ).toBe(Date.parse('2026-12-01T10:00:02.000Z'));
  });
});

describe('views of the counts', () => {
  it('splits waiting from delayed when read, by the minute each row becomes due', () => {
    const later = row({ runAt: '2026-12-01T10:30:00.000Z' });
    const tomorrow = row({ runAt: '2026-12-02T10:00:00.000Z', status: 'RETRYING' });
    const stored = store(
      countChangesOf(
        [change(undefined, row()), change(undefined, later), change(undefined, tomorrow)],
        since,
      ),
    );
    const early = tallyOfCounts(stored, new Date('2026-12-01T10:10:00.000Z'));
    expect(statsOf(early, 'default')).toMatchObject({ waiting: 1, delayed: 2 });
    // Half an hour later the first delay has run out without any write.
    const after = tallyOfCounts(stored, new Date('2026-12-01T10:31:00.000Z'));
    expect(statsOf(after, 'default')).toMatchObject({ waiting: 2, delayed: 1 });
    expect(bandCountsOf(after, 'default').normal).toMatchObject({ waiting: 2, delayed: 1, blocked: 0 });
  });

  it('follows a job through its life to a count of one completed', () => {
    const queued = row();
    const running = row({ status: 'RUNNING' });
    const failed = row({ status: 'FAILED', runAt: '2026-12-01T10:05:00.000Z' });
    const completed = row({ status: 'COMPLETED' });
    const stored = store(
      countChangesOf([change(undefined, queued), change(queued, running)], since),
      countChangesOf([change(running, failed), change(failed, running)], since),
      countChangesOf([change(running, completed)], since),
    );
    const tally = tallyOfCounts(stored, new Date('2026-12-01T10:02:00.000Z'));
    expect(statsOf(tally, 'default')).toEqual({
      waiting: 0,
      active: 0,
      completed: 1,
      failed: 0,
      dead: 0,
      delayed: 0,
      blocked: 0,
      cancelled: 0,
    });
  });

  it('never shows a negative or inconsistent count when a batch was applied twice', () => {
    const queued = row();
    const start = countChangesOf([change(queued, row({ status: 'RUNNING' }))], since);
    const tally = tallyOfCounts(store(countChangesOf([change(undefined, queued)], since), start, start), at);
    expect(statsOf(tally, 'default')).toMatchObject({ waiting: 0, delayed: 0, active: 2 });
  });
});

describe('countJobs', () => {
  const rowsOf = (rows: Record<string, (JobRowImage & { queue: string })[]>) => {
    const asked: string[] = [];
    const ports: CountingPorts = {
      storedCounts: async () => store(countChangesOf([change(undefined, row())], since)),
      async *rows(queue: string, status: JobStatus, before?: string) {
        asked.push(`${queue}#${status}<${before ?? '∞'}`);
        for (const r of rows[`${queue}#${status}`] ?? [])
          if (!before || (r.createdAt ?? '') < before) yield r as never;
      },
    };
    return { ports, asked };
  };

  it('adds the rows created before the counts began, read from the table', async () => {
    const old = row({
      createdAt: '2026-12-01T08:00:00.000Z',
      waitingOn: new Set(['job_a']),
      queue: 'default',
    });
    const { ports, asked } = rowsOf({ 'default#PENDING': [{ ...old, status: 'PENDING', queue: 'default' }] });
    const tally = await countJobs(ports, ['default'], new Date('2026-12-01T10:02:00.000Z'));
    expect(statsOf(tally, 'default')).toMatchObject({ waiting: 1, blocked: 1 });
    expect(asked).toContain('default#PENDING<2026-12-01T09:00:00.000Z');
  });

  it('recounts every row when asked for exact counts', async () => {
    const { ports, asked } = rowsOf({
      'default#QUEUED': [row({ queue: 'default' }) as JobRowImage & { queue: string }],
      'default#DEAD': [
        row({ status: 'DEAD', queue: 'default', priority: 9 }) as JobRowImage & { queue: string },
      ],
    });
    const tally = await countJobs(ports, ['default'], new Date('2026-12-01T10:02:00.000Z'), true);
    expect(statsOf(tally, 'default')).toMatchObject({ waiting: 1, dead: 1 });
    expect(bandCountsOf(tally, 'default').low.dead).toBe(1);
    expect(asked.every((a) => a.endsWith('<∞'))).toBe(true);
  });
});
