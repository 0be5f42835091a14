/**
 * A bounded fuzz of the whole HTTP API: over a thousand malformed requests across every route of
 * the template — bad JSON, wrong types, large bodies, deep nesting, unicode, huge numbers, path
 * traversal in ids, wrong methods, bad cursors — with no key, a wrong key, a viewer's and an
 * admin's. Not one answer may be a 5xx, every refusal is the error envelope, and what a refused
 * request carried is nowhere to be found afterwards.
 */
import { describe, expect, inject, it } from 'vitest';
import { api, bearer } from '../helpers/factory-client.ts';

/** Deterministic: a failure names a request that can be replayed. */
function prng(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const run = `fuzz-${Date.now().toString(36)}`;
const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
/**
 * Bodies that no route may accept: not JSON, not an object, or an object whose every field the
 * API knows has the wrong type (the schemas are strict, so unknown fields are refused too).
 */
const wrongTypes = {
  queue: 12,
  type: [],
  jobs: 'all of them',
  jobIds: 7,
  robotType: {},
  customerId: 42,
  specifications: 'x',
  payload: 5,
  priority: 'high',
  name: 7,
  role: 1,
  concurrency: 'many',
  limit: '∞',
  windowMs: -1,
  cron: 5,
  line: 9,
  durationMinutes: 'long',
  mode: 3,
  reason: 5,
  paused: 'yes',
  // A usable key beside the wrong fields: the refused request must not have kept it.
  idempotencyKey: `${run}-typed`,
  all: 'yes',
};
const bodies: (string | undefined)[] = [
  '{"queue":',
  '{"queue": "default", }',
  'null',
  '[]',
  '"just a string"',
  '12',
  'true',
  deep(5000),
  JSON.stringify({ ...wrongTypes }),
  JSON.stringify({ ...wrongTypes, priority: 1e308, limit: -1e308 }),
  '{"queue": 1e309}',
  JSON.stringify({ ...wrongTypes, name: '\u0000\u202e\ud83e\udd16'.repeat(100) }),
  `{"customerId": "${run}", "robotType": "\\ud800", "specifications": []}`,
  '\u00ff\u00fe\u0000garbage',
  undefined,
];
const idVariants = [
  'probe',
  '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e',
  'x'.repeat(2000),
  '%F0%9F%A4%96',
  '%00',
  "'%20OR%201=1--",
];
const queryVariants = [
  '',
  '?cursor=!!!not-a-cursor',
  '?cursor=eyJ0YW1wZXJlZCI6dHJ1ZX0',
  '?limit=-1',
  '?limit=1e9',
  '?limit=abc&status=NOPE&queue=%00',
  `?from=${'9'.repeat(40)}&granularity=eon`,
];

/**
 * Pausing takes no body: an empty request there is a valid operator action, not a malformed one,
 * and an admin key would pause every queue under the files running beside this one (it did, once
 * new routes moved the random picks). Those routes get only bodies that are wrong.
 */
const takesNoBody = new Set([
  'POST /queues/pause',
  'POST /queues/resume',
  'POST /queues/{queue}/pause',
  'POST /queues/{queue}/resume',
]);
const bodiesFor = (routeKey: string) =>
  takesNoBody.has(routeKey) ? bodies.filter((b) => b !== undefined) : bodies;

describe('fuzzing the HTTP API', () => {
  // On the embedded backend only: the fuzz is about the API's input handling, which the data
  // plane does not change, and moto reads a whole table for every index query — listings timed
  // out there under the fuzz's concurrency late in the run, measuring moto rather than the API.
  it.runIf(inject('routeKeys').length > 0 && inject('backend') === 'embedded')(
    'answers ≥ 1,000 malformed requests on every route without one 5xx, each refusal an error envelope',
    async () => {
      const random = prng(20261201);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
      const keys = [
        { authorization: '' },
        { authorization: 'Bearer rfk_kdeadbeef0000_wrong' },
        bearer('viewer'),
        bearer('admin'),
      ];
      const requests: { method: string; path: string; body?: string; headers: Record<string, string> }[] = [];
      for (const routeKey of inject('routeKeys')) {
        const [method, template] = routeKey.split(' ') as [string, string];
        for (let i = 0; i < 18; i++) {
          const path =
            template.replace(/\{[^}]+\}/g, () => pick(idVariants)) +
            (method === 'GET' ? pick(queryVariants) : '');
          const wrongMethod = i === 17;
          requests.push({
            method: wrongMethod
              ? pick(['PATCH', 'PUT', 'POST', 'DELETE'].filter((m) => m !== method))
              : method,
            path,
            body: method === 'GET' && !wrongMethod ? undefined : pick(bodiesFor(routeKey)),
            headers: {
              'content-type': pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded']),
              ...pick(keys),
            },
          });
        }
      }
      // Large bodies: 1 to 10 MB, on the routes that take the most.
      for (const [size, path] of [
        [1, '/jobs'],
        [3, '/jobs/bulk'],
        [5, '/orders'],
        [10, '/job-batches'],
      ] as const) {
        requests.push({
          method: 'POST',
          path,
          body: JSON.stringify({
            jobs: [{ queue: 'default', payload: { blob: 'x'.repeat(size * 1024 * 1024) } }],
            customerId: run,
          }),
          headers: { 'content-type': 'application/json', ...bearer('admin') },
        });
      }
      expect(requests.length).toBeGreaterThanOrEqual(1000);

      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        while (next < requests.length) {
          const request = requests[next++] as (typeof requests)[number];
          const answer = await api(request.method, request.path, request.body, request.headers);
          const where = `${request.method} ${request.path.slice(0, 80)} (${request.body?.slice(0, 40) ?? 'no body'}) → ${answer.status}`;
          if (answer.status >= 500) failures.push(`${where}: ${JSON.stringify(answer.body).slice(0, 200)}`);
          else if (answer.status >= 400) {
            const error = (answer.body as { error?: { code?: unknown; message?: unknown } })?.error;
            if (typeof error?.code !== 'string' || typeof error.message !== 'string')
              failures.push(`${where}: not the error envelope: ${JSON.stringify(answer.body).slice(0, 200)}`);
          }
        }
      };
      await Promise.all(Array.from({ length: 6 }, worker));
      expect(failures).toEqual([]);

      // Nothing a refused request carried was stored.
      const orders = await api('GET', `/orders?customerId=${run}`);
      expect(orders.status).toBe(200);
      expect(orders.body.orders).toEqual([]);
      const probe = await api('POST', '/jobs', {
        queue: 'default',
        type: 'delayed_message',
        payload: { message: 'after the fuzz' },
        idempotencyKey: `${run}-typed`,
      });
      expect(probe.body.duplicate).toBe(false);
    },
    300_000,
  );
});
