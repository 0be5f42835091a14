/** The local EventBridge: event patterns, PutEvents on the template's buses, rules and archives. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type BusEvent, LocalEventBuses } from '../../localstack/cloud/event-buses.ts';
import { matchesPattern } from '../../localstack/cloud/event-patterns.ts';

const event = {
  source: 'robot-factory',
  'detail-type': 'job.dead',
  detail: { queue: 'reports', attempts: 3, tags: ['a', 'b'], data: { error: 'Timeout after 30 s' } },
};

describe('event patterns', () => {
  it.each([
    [{ source: ['robot-factory'] }, true],
    [{ source: ['aws.events'] }, false],
    [{ 'detail-type': [{ prefix: 'job.' }] }, true],
    [{ 'detail-type': [{ suffix: '.dead' }] }, true],
    [{ 'detail-type': [{ 'anything-but': ['job.dead', 'job.failed'] }] }, false],
    [{ 'detail-type': [{ 'anything-but': { prefix: 'order.' } }] }, true],
    [{ detail: { queue: [{ 'equals-ignore-case': 'REPORTS' }] } }, true],
    [{ detail: { attempts: [{ numeric: ['>', 2, '<=', 3] }] } }, true],
    [{ detail: { attempts: [{ numeric: ['>', 3] }] } }, false],
    [{ detail: { orderId: [{ exists: false }] } }, true],
    [{ detail: { queue: [{ exists: true }] } }, true],
    [{ detail: { tags: ['b'] } }, true],
    [{ detail: { data: { error: [{ prefix: 'Timeout' }] } } }, true],
    [{ detail: { data: { error: ['x'] } } }, false],
  ])('%j matches: %s', (pattern, expected) => {
    expect(matchesPattern(pattern, event)).toBe(expected);
  });
});

describe('LocalEventBuses', () => {
  const identity = { region: 'us-east-1', accountId: '000000000000' };
  function buses(archiveDir?: string) {
    const delivered: [string, BusEvent][] = [];
    const lines: string[] = [];
    const local = new LocalEventBuses(
      identity,
      [{ name: 'factory-events', arn: 'arn:aws:events:us-east-1:000000000000:event-bus/factory-events' }],
      [
        {
          name: 'dead-jobs',
          busName: 'factory-events',
          pattern: { source: ['robot-factory'], 'detail-type': ['job.dead'] },
          functionNames: ['Alerts'],
        },
        {
          name: 'odd',
          busName: 'factory-events',
          pattern: { detail: { x: [{ wildcard: '*' }] } },
          functionNames: ['Odd'],
        },
      ],
      [{ name: 'audit', busName: 'factory-events', pattern: { source: ['robot-factory'] } }],
      async (fn, e) => {
        delivered.push([fn, e]);
        return { ok: true, result: null } as never;
      },
      archiveDir,
      (line) => lines.push(line),
    );
    return { local, delivered, lines };
  }
  const put = (local: LocalEventBuses, entries: unknown[]) =>
    local.handle({
      method: 'POST',
      url: '/',
      headers: { 'x-amz-target': 'AWSEvents.PutEvents' },
      body: Buffer.from(JSON.stringify({ Entries: entries })),
    });

  it("delivers a matching event to the rule's function in EventBridge's envelope, and archives it", async () => {
    const { local, delivered, lines } = buses();
    const answer = await put(local, [
      {
        EventBusName: 'factory-events',
        Source: 'robot-factory',
        DetailType: 'job.dead',
        Detail: JSON.stringify({ jobId: 'job_1' }),
        Time: 1_780_000_000,
      },
      { EventBusName: 'factory-events', Source: 'robot-factory', DetailType: 'job.started', Detail: '{}' },
    ]);
    const body = JSON.parse(String(answer.body));
    expect(body.FailedEntryCount).toBe(0);
    expect(body.Entries).toHaveLength(2);
    expect(delivered).toHaveLength(1);
    const [fn, envelope] = delivered[0] as [string, BusEvent];
    expect(fn).toBe('Alerts');
    expect(envelope).toMatchObject({
      version: '0',
      id: body.Entries[0].EventId,
      'detail-type': 'job.dead',
      source: 'robot-factory',
      account: identity.accountId,
      region: identity.region,
      time: new Date(1_780_000_000_000).toISOString().replace('.000Z', 'Z'),
      detail: { jobId: 'job_1' },
    });
    expect(local.archived.get('audit')).toBe(2);
    // The rule with a filter not served locally says so, once, and matches nothing.
    expect(lines.filter((l) => l.includes('wildcard'))).toHaveLength(1);
  });

  it("writes each archived event as a line of its archive's file, one call after another", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'archives-'));
    const { local } = buses(dir);
    for (const n of [1, 2, 3])
      await put(local, [
        {
          EventBusName: 'factory-events',
          Source: 'robot-factory',
          DetailType: 'job.dead',
          Detail: `{"n":${n}}`,
        },
      ]);
    const lines = readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line).detail)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  it('fails entries on an unknown bus or with a malformed detail, and the call with too many entries', async () => {
    const { local } = buses();
    const answer = JSON.parse(
      String(
        (
          await put(local, [
            { EventBusName: 'nope', Source: 's', DetailType: 't', Detail: '{}' },
            { EventBusName: 'factory-events', Source: 's', DetailType: 't', Detail: '[1]' },
            { Source: 's', DetailType: 't', Detail: '{}' },
          ])
        ).body,
      ),
    );
    expect(answer.FailedEntryCount).toBe(2);
    expect(answer.Entries.map((e: { ErrorCode?: string }) => e.ErrorCode)).toEqual([
      'ResourceNotFoundException',
      'MalformedDetail',
      undefined,
    ]);
    const tooMany = await put(
      local,
      Array.from({ length: 11 }, () => ({ Source: 's', DetailType: 't', Detail: '{}' })),
    );
    expect(tooMany.status).toBe(400);
    expect(JSON.parse(String(tooMany.body)).__type).toBe('ValidationException');
  });
});
