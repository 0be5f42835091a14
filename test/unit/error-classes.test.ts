/** Error classes and the dead-letter queue's causes. */
import { describe, expect, it } from 'vitest';
import { deadLetterCauses, errorClassOf } from '../../functions/domain/error-classes.ts';

describe('error classes', () => {
  it('makes one class of messages that differ only in ids, numbers, quoted values and URLs', () => {
    const a = errorClassOf('Unlucky attempt 1: rolled 0.713 < 1');
    const b = errorClassOf('Unlucky attempt 3: rolled 0.2 < 0.5');
    expect(a.key).toBe('Unlucky attempt <n>: rolled <n> < <n>');
    expect(b.key).toBe(a.key);
    expect(errorClassOf('HTTP 503 from https://hooks.example.com/a/1').key).toBe(
      errorClassOf('HTTP 502 from https://other.example.org/b').key,
    );
    expect(errorClassOf('No job job_mx5thl8o44a33d55fc6a for "alice"').key).toBe('No job <id> for <value>');
  });

  it('keeps the HTTP status class a message names', () => {
    expect(errorClassOf('HTTP 503 from <url>').httpStatusClass).toBe('5xx');
    expect(errorClassOf('webhook answered status 404').httpStatusClass).toBe('4xx');
    expect(errorClassOf('Invalid image bytes').httpStatusClass).toBeNull();
  });
});

describe('dead-letter causes', () => {
  it('groups dead jobs by class, most frequent first, with first and last seen, types and the latest sample', () => {
    const causes = deadLetterCauses([
      {
        jobId: 'j1',
        type: 'webhook_call',
        queue: 'default',
        error: 'HTTP 500 from https://a.example',
        deadAt: '2026-12-02T08:00:00.000Z',
      },
      {
        jobId: 'j2',
        type: 'fail_sometimes',
        queue: 'default',
        error: 'Unlucky attempt 1: rolled 0.1 < 1',
        deadAt: '2026-12-02T08:01:00.000Z',
      },
      {
        jobId: 'j3',
        type: 'webhook_call',
        queue: 'notifications',
        error: 'HTTP 502 from https://b.example',
        deadAt: '2026-12-02T08:05:00.000Z',
      },
      {
        jobId: 'j4',
        type: 'webhook_call',
        queue: 'default',
        error: 'HTTP 503 from https://c.example',
        deadAt: '2026-12-02T07:55:00.000Z',
      },
    ]);
    expect(causes).toHaveLength(2);
    expect(causes[0]).toEqual({
      errorClass: 'HTTP <n> from <url>',
      httpStatusClass: '5xx',
      count: 3,
      firstSeen: '2026-12-02T07:55:00.000Z',
      lastSeen: '2026-12-02T08:05:00.000Z',
      types: ['webhook_call'],
      queues: ['default', 'notifications'],
      sample: { jobId: 'j3', error: 'HTTP 502 from https://b.example' },
    });
    expect(causes[1]).toMatchObject({ count: 1, types: ['fail_sometimes'] });
  });
});
