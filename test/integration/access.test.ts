/**
 * Access control over HTTP, as a client meets it: every route but GET /health needs a key, the
 * three roles, keys issued and revoked through the API, refusals in the error envelope.
 */
import { describe, expect, inject, it } from 'vitest';
import { api, bearer } from '../helpers/factory-client.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const noKey = { authorization: '' };
const job = { queue: 'default', type: 'delayed_message', payload: { message: 'access' } };

describe('access control', () => {
  it.runIf(inject('routeKeys').length > 0)(
    'refuses every route but GET /health without a key: 401 in the error envelope, nothing run',
    async () => {
      const routeKeys = inject('routeKeys');
      expect(routeKeys.length).toBeGreaterThan(50);
      for (const key of routeKeys) {
        const [method, template] = key.split(' ') as [string, string];
        const path = template.replace(/\{[^}]+\}/g, 'probe');
        const answer = await api(
          method,
          path,
          method === 'GET' || method === 'DELETE' ? undefined : job,
          noKey,
        );
        if (key === 'GET /health') {
          expect(answer).toEqual({ status: 200, body: { status: 'ok' } });
          continue;
        }
        // The console's files are open (its page, after /console's redirect to /console/; a
        // path without a file is a page of the console): everything it calls needs the key.
        if (key === 'GET /console' || key === 'GET /console/{proxy+}') {
          expect(answer.status, key).toBe(200);
          expect(String(answer.body)).toContain('<!doctype html>');
          continue;
        }
        // The API's contract and its reference page are open too (tools fetch them without a key).
        if (key === 'GET /openapi.json' || key === 'GET /docs') {
          expect(answer.status, key).toBe(200);
          continue;
        }
        if (key === 'GET /docs/{proxy+}') {
          // /docs/probe: no such file of the reference, answered as such, not refused.
          expect({ key, status: answer.status, code: answer.body?.error?.code }).toEqual({
            key,
            status: 404,
            code: 'NO_SUCH_FILE',
          });
          continue;
        }
        expect({ key, status: answer.status, code: answer.body?.error?.code }).toEqual({
          key,
          status: 401,
          code: 'UNAUTHENTICATED',
        });
      }
      // No route at all: the same answer, so paths are not probed without a key.
      expect((await api('GET', '/warp-drive', undefined, noKey)).status).toBe(401);
      const malformed = await api('GET', '/jobs', undefined, { authorization: 'Basic dXNlcjpwYXNz' });
      expect(malformed.body.error).toMatchObject({
        code: 'UNAUTHENTICATED',
        message: expect.stringContaining('Bearer'),
      });
      const unknown = await api('GET', '/jobs', undefined, {
        authorization: 'Bearer rfk_k000000000000_nope',
      });
      expect(unknown.body.error.message).toBe('The API key is not known.');
    },
  );

  it.runIf(inject('backend') !== 'external')(
    'lets a viewer read, a developer submit, an admin operate',
    async () => {
      // A viewer: every GET, nothing else.
      expect((await api('GET', '/jobs?limit=1', undefined, bearer('viewer'))).status).toBe(200);
      expect((await api('GET', '/robot-types', undefined, bearer('viewer'))).status).toBe(200);
      const viewerSubmit = await api('POST', '/jobs', job, bearer('viewer'));
      expect(viewerSubmit.status).toBe(403);
      expect(viewerSubmit.body.error).toMatchObject({
        code: 'FORBIDDEN',
        details: { role: 'viewer', required: 'developer' },
      });
      // A developer: submits, cancels and retries; no scaling, windows, rate limits, discards or keys.
      const submitted = await api('POST', '/jobs', job, bearer('developer'));
      expect(submitted.status).toBe(202);
      const cancel = await api('DELETE', `/jobs/${submitted.body.jobId}`, undefined, bearer('developer'));
      expect(cancel.status).not.toBe(403);
      if (cancel.status !== 409) {
        // The acting key is on record in the job's log (a job that finished first is a 409).
        const logs = await api('GET', `/jobs/${submitted.body.jobId}/logs`);
        expect(logs.body.logs.map((l: { message: string }) => l.message).join('\n')).toMatch(
          /by local developer \(key k[0-9a-f]{12}\)/,
        );
      }
      for (const [method, path, body] of [
        ['POST', '/workers/scale', { queue: 'reports', concurrency: 2 }],
        [
          'POST',
          '/factory/maintenance',
          { startsAt: new Date(Date.now() + 3_600_000).toISOString(), durationMinutes: 5 },
        ],
        ['PUT', '/queues/default/rate-limit', { limit: 100, windowMs: 1000 }],
        ['DELETE', '/dlq/job_probe', undefined],
        ['GET', '/api-keys', undefined],
        ['POST', '/api-keys', { name: 'sneaky', role: 'admin' }],
      ] as const) {
        const answer = await api(method, path, body, bearer('developer'));
        expect({
          route: `${method} ${path}`,
          status: answer.status,
          required: answer.body.error?.details?.required,
        }).toEqual({
          route: `${method} ${path}`,
          status: 403,
          required: 'admin',
        });
      }
      // An admin: everything.
      expect((await api('GET', '/api-keys', undefined, bearer('admin'))).status).toBe(200);
      expect((await api('GET', '/workers/scaling-events?limit=1', undefined, bearer('admin'))).status).toBe(
        200,
      );
    },
  );

  it.runIf(inject('backend') !== 'external')(
    'issues a key shown once, lists keys without secrets, and a revoked key stops working within 30 s',
    async () => {
      // Issue
      const created = await api('POST', '/api-keys', { name: 'wallboard', role: 'viewer' });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        keyId: expect.stringMatching(/^k[0-9a-f]{12}$/),
        role: 'viewer',
        name: 'wallboard',
      });
      const key = created.body.key as string;
      // 32 random bytes (256 bits) in base64url, after the public key id.
      expect(key).toMatch(/^rfk_k[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      const asWallboard = { authorization: `Bearer ${key}` };
      expect((await api('GET', '/queues', undefined, asWallboard)).status).toBe(200);
      expect((await api('POST', '/jobs', job, asWallboard)).status).toBe(403);
      // List: no key, no hash.
      const listed = await api('GET', '/api-keys');
      const entry = listed.body.keys.find((k: { keyId: string }) => k.keyId === created.body.keyId);
      expect(entry).toMatchObject({
        name: 'wallboard',
        role: 'viewer',
        createdBy: expect.stringMatching(/^local admin/),
      });
      expect(JSON.stringify(listed.body)).not.toContain(key);
      expect(JSON.stringify(listed.body)).not.toContain('keyHash');
      // Revoke: on record at once, refused within the authorizer's 30 s.
      const revoked = await api('DELETE', `/api-keys/${created.body.keyId}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({
        revokedAt: expect.any(String),
        revokedBy: expect.stringMatching(/^local admin/),
      });
      expect((await api('DELETE', `/api-keys/${created.body.keyId}`)).body.error.code).toBe('KEY_REVOKED');
      const revokedAt = Date.parse(revoked.body.revokedAt);
      let refused: { status: number; body: any } | undefined;
      while (Date.now() - revokedAt < 60_000) {
        const answer = await api('GET', '/queues', undefined, asWallboard);
        if (answer.status === 401) {
          refused = answer;
          break;
        }
        await sleep(1000);
      }
      expect(refused?.body.error.message).toContain('revoked');
      // The last live admin key is kept: someone must be able to manage the factory.
      const admins = (await api('GET', '/api-keys')).body.keys.filter(
        (k: { role: string; revokedAt?: string }) => k.role === 'admin' && !k.revokedAt,
      );
      if (admins.length === 1)
        expect((await api('DELETE', `/api-keys/${admins[0].keyId}`)).body.error.code).toBe('LAST_ADMIN_KEY');
      expect((await api('POST', '/api-keys', { name: 'x', role: 'superuser' })).status).toBe(400);
    },
  );
});
