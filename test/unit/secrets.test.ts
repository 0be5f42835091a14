import { describe, expect, it } from 'vitest';
import { withRequestKey } from '../../functions/domain/job-intake.ts';
import { jobRequestSchema } from '../../functions/domain/job-submission.ts';
import { hasSecrets, redact, redacted } from '../../functions/domain/secrets.ts';

describe('secrets in payloads', () => {
  it('redacts fields whose names say secret, at any depth, and the paths a type declares', () => {
    const payload = {
      url: 'https://example.com/hook',
      headers: { Authorization: 'Bearer abc', 'X-Api-Key': 'k', 'X-Shop': 'acme' },
      body: { user: 'ada', password: 'p', nested: [{ refresh_token: 't' }] },
    };
    expect(redact(payload)).toEqual({
      url: 'https://example.com/hook',
      headers: { Authorization: redacted, 'X-Api-Key': redacted, 'X-Shop': 'acme' },
      body: { user: 'ada', password: redacted, nested: [{ refresh_token: redacted }] },
    });
    expect((redact(payload, ['headers.*']) as { headers: Record<string, string> }).headers['X-Shop']).toBe(
      redacted,
    );
    expect(hasSecrets({ to: 'ada@example.com' })).toBe(false);
    expect(hasSecrets(payload)).toBe(true);
  });
});

describe('request-level idempotency keys', () => {
  it('give each job of a request without a key of its own the key <request>:<index>', () => {
    const job = (over: Record<string, unknown>) =>
      jobRequestSchema.parse({
        queue: 'default',
        type: 'delayed_message',
        payload: { message: 'm' },
        ...over,
      });
    const keyed = withRequestKey([job({}), job({ idempotencyKey: 'mine' }), job({})], 'req-1');
    expect(keyed.map((j) => j.idempotencyKey)).toEqual(['req-1:0', 'mine', 'req-1:2']);
    expect(withRequestKey([job({})], undefined)[0]?.idempotencyKey).toBeUndefined();
  });
});
