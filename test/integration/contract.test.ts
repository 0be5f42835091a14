/**
 * The API's contract as a client meets it: GET /openapi.json (open) is a valid OpenAPI 3.1
 * document naming every route the stack serves with its role, built from the zod schemas that
 * validate the requests and describe the answers; real answers keep to what it declares; GET /docs
 * renders it.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import * as z from 'zod';
import { api, placeOrder, runTag, submitJob, waitForJob, waitForOrder } from '../helpers/factory-client.ts';

const noKey = { authorization: '' };
type Operation = {
  security: unknown[];
  'x-factory-role': string | null;
  requestBody?: { content: { 'application/json': { schema: Record<string, any> } } };
  parameters: { name: string; in: string }[];
  responses: Record<string, { content?: Record<string, { schema: Record<string, any> }> }>;
};
let document: {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

beforeAll(async () => {
  const answer = await api('GET', '/openapi.json', undefined, noKey);
  expect(answer.status).toBe(200);
  document = answer.body;
});

describe('the API contract', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(
      document as unknown as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(document.openapi).toBe('3.1.0');
  });

  it.runIf(inject('routeKeys').length > 0)('documents every route of the stack, with who may call it', () => {
    const routeKeys = inject('routeKeys');
    const documented = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = routeKeys.map((key) => key.replace(/\{(\w+)\+\}/, '{$1}'));
    expect([...documented].sort()).toEqual([...served].sort());
    for (const [path, methods] of Object.entries(document.paths))
      for (const [method, operation] of Object.entries(methods)) {
        const open = [
          '/health',
          '/console',
          '/console/{proxy}',
          '/openapi.json',
          '/docs',
          '/docs/{proxy}',
        ].includes(path);
        expect({ route: `${method} ${path}`, security: operation.security.length > 0 }).toEqual({
          route: `${method} ${path}`,
          security: !open,
        });
        for (const name of path.match(/\{(\w+)\}/g) ?? [])
          expect(operation.parameters.map((p) => p.name)).toContain(name.slice(1, -1));
      }
    expect(document.paths['/alerts/rules']?.post?.['x-factory-role']).toBe('admin');
    expect(document.paths['/jobs']?.post?.['x-factory-role']).toBe('developer');
    expect(document.paths['/jobs']?.get?.['x-factory-role']).toBe('viewer');
  });

  it('describes request bodies with the schemas the handlers validate them with', async () => {
    const rule = document.paths['/alerts/rules']?.post?.requestBody?.content['application/json'].schema;
    expect(rule?.required).toEqual(expect.arrayContaining(['name', 'condition']));
    expect(rule?.properties.condition.properties.metric.enum).toEqual([
      'failure_rate',
      'p95_run_ms',
      'backlog',
      'throughput',
      'anomaly',
    ]);
    // The same schema refuses what the document says is not allowed.
    const refused = await api('POST', '/alerts/rules', {
      name: 'x',
      condition: { metric: 'mood', op: '>', threshold: 1 },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: 'condition.metric' })]),
    );
    const jobs = document.paths['/jobs']?.get?.parameters.map((p) => p.name);
    expect(jobs).toEqual(expect.arrayContaining(['queue', 'status']));
  });

  it('renders a reference page at /docs', async () => {
    const redirect = await fetch(`${inject('apiUrl')}/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/docs/');
    const page = await api('GET', '/docs/', undefined, noKey);
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('data-url="../openapi.json"');
    const script = await api('GET', '/docs/scalar.js', undefined, noKey);
    expect(script.status).toBe(200);
    expect(String(script.body).length).toBeGreaterThan(1_000_000);
  });
});

/**
 * What the served document declares a route answers with at a status: a zod schema of the JSON
 * body, `null` for no body (a 204), undefined when it declares no such answer.
 */
function declared(method: string, path: string, status: number): z.ZodType | null | undefined {
  const response = document.paths[path]?.[method.toLowerCase()]?.responses[String(status)];
  if (!response) return undefined;
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return null;
  // Its references, to the components, as $defs of one schema.
  const text = JSON.stringify({ ...schema, $defs: document.components.schemas });
  return z.fromJSONSchema(JSON.parse(text.replaceAll('"#/components/schemas/', '"#/$defs/')));
}

/** Calls a route (`path` fills in `route`'s template) and checks its answer against the document. */
async function answerOf(route: string, path?: string, body?: unknown) {
  const [method, template] = route.split(' ') as [string, string];
  const answer = await api(method, path ?? template, body);
  const schema = declared(method, template, answer.status);
  const issues =
    schema === undefined
      ? [`${answer.status} is not an answer the document declares`]
      : schema === null
        ? answer.body === ''
          ? []
          : ['a body where the document declares none']
        : (schema.safeParse(answer.body).error?.issues ?? []);
  expect({ route, status: answer.status, issues }, JSON.stringify(answer.body).slice(0, 2000)).toEqual({
    route,
    status: answer.status,
    issues: [],
  });
  return answer;
}

describe('answers keep to the declared schemas', () => {
  it('jobs: submitted, listed, read, counted, cancelled', async () => {
    const key = runTag('contract');
    const job = {
      queue: 'default',
      type: 'delayed_message',
      payload: { message: 'contract' },
      idempotencyKey: key,
    };
    const accepted = await answerOf('POST /jobs', undefined, job);
    expect(accepted.status).toBe(202);
    expect((await answerOf('POST /jobs', undefined, job)).status).toBe(200);
    const { jobId } = accepted.body;
    const bulk = await answerOf('POST /jobs/bulk', undefined, {
      jobs: [
        { ref: 'first', ...job, idempotencyKey: undefined },
        { ...job, idempotencyKey: undefined, dependsOn: ['first'] },
      ],
    });
    expect(bulk.status).toBe(202);
    await waitForJob(jobId);
    await answerOf('GET /jobs/{jobId}', `/jobs/${jobId}`);
    await answerOf('GET /jobs/{jobId}/logs', `/jobs/${jobId}/logs`);
    await answerOf('GET /jobs/{jobId}/graph', `/jobs/${bulk.body.jobs[1].jobId}/graph`);
    await answerOf('GET /jobs', '/jobs?queue=default&limit=20');
    await answerOf('GET /jobs/stats', '/jobs/stats?queue=default');
    await answerOf('GET /jobs/queue', '/jobs/queue');
    await answerOf('GET /events', `/events?jobId=${jobId}`);
    const later = await submitJob({ ...job, idempotencyKey: undefined, delayMs: 3_600_000 });
    expect((await answerOf('DELETE /jobs/{jobId}', `/jobs/${later.jobId}`)).status).toBe(200);
    expect(
      (await answerOf('POST /api/v1/jobs', undefined, { ...job, idempotencyKey: undefined })).status,
    ).toBe(202);
  });

  it('the dead-letter queue: listed, grouped, retried, discarded', async () => {
    const dies = { queue: 'default', type: 'fail_sometimes', payload: { probability: 1 }, maxAttempts: 1 };
    const dead = (jobId: string) => waitForJob(jobId, (j) => j.status === 'DEAD');
    const { jobId } = await submitJob(dies);
    await dead(jobId);
    await answerOf('GET /dlq', '/dlq?queue=default&type=fail_sometimes&limit=20');
    await answerOf('GET /dlq/causes', '/dlq/causes?queue=default&type=fail_sometimes');
    expect((await answerOf('POST /jobs/{jobId}/retry', `/jobs/${jobId}/retry`)).status).toBe(202);
    await dead(jobId);
    expect((await answerOf('POST /dlq/retry', undefined, { jobIds: [jobId, 'job_missing'] })).status).toBe(
      202,
    );
    await dead(jobId);
    await answerOf('DELETE /dlq/{jobId}', `/dlq/${jobId}`);
    const csv = await fetch(`${inject('apiUrl')}/dlq/export?queue=default&type=fail_sometimes`, {
      headers: { authorization: `Bearer ${inject('keys').admin}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(Object.keys(document.paths['/dlq/export']?.get?.responses['200']?.content ?? {})).toEqual([
      'text/csv',
    ]);
  });

  it('orders: placed, followed, listed, cancelled, resumed', async () => {
    const customerId = runTag('contract-customer');
    const placed = await answerOf('POST /orders', undefined, {
      customerId,
      robotType: 'courier',
      specifications: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
      simulate: { stepDurationMs: 20 },
    });
    const { orderId } = placed.body;
    await waitForOrder(orderId);
    await answerOf('GET /orders/{orderId}/status', `/orders/${orderId}/status`);
    await answerOf('GET /orders/{orderId}', `/orders/${orderId}`);
    await answerOf('GET /orders', `/orders?customerId=${customerId}`);
    const slow = await placeOrder('welder', { simulate: { stepDurationMs: 3000 } });
    await answerOf('DELETE /orders/{orderId}', `/orders/${slow.orderId}?reason=contract`);
    const failing = await placeOrder('companion', {
      simulate: { stepDurationMs: 20, failures: { calibrate: 3 } },
    });
    expect((await waitForOrder(failing.orderId)).status).toBe('FAILED');
    expect((await answerOf('POST /orders/{orderId}/retry', `/orders/${failing.orderId}/retry`)).status).toBe(
      202,
    );
    expect((await waitForOrder(failing.orderId)).status).toBe('COMPLETED');
  });

  it('batches', async () => {
    const created = await answerOf('POST /job-batches', undefined, {
      name: runTag('contract-batch'),
      jobs: [{ queue: 'default', type: 'delayed_message', payload: { message: 'b' } }],
    });
    const { batchId } = created.body;
    await waitForJob(created.body.jobIds[0]);
    await answerOf('GET /job-batches/{batchId}', `/job-batches/${batchId}`);
    await answerOf('GET /job-batches/{batchId}/graph', `/job-batches/${batchId}/graph`);
  });

  it('queues, workers, keys, tickets', async () => {
    await answerOf('GET /queues');
    await answerOf('GET /workers/status');
    await answerOf('GET /api/v1/workers');
    // Auto is every queue's default: the call changes nothing another test could notice.
    await answerOf('POST /workers/scale', undefined, { queue: 'media', mode: 'auto' });
    await answerOf('GET /workers/scaling-events', '/workers/scaling-events?queue=media');
    const issued = await answerOf('POST /api-keys', undefined, { name: runTag('contract'), role: 'viewer' });
    expect(issued.status).toBe(201);
    await answerOf('GET /api-keys');
    await answerOf('DELETE /api-keys/{keyId}', `/api-keys/${issued.body.keyId}`);
    expect((await answerOf('POST /realtime/tickets')).status).toBe(201);
    await answerOf('GET /robot-types');
    await answerOf('GET /outbox');
  });

  it('analytics and metrics reports (after the jobs above ran)', async () => {
    const range = `from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`;
    await answerOf('GET /analytics/throughput', '/analytics/throughput?granularity=minute&queue=default');
    await answerOf('GET /analytics/throughput', '/analytics/throughput?granularity=day');
    await answerOf('GET /analytics/scaling-advice', '/analytics/scaling-advice?queue=default');
    await answerOf('GET /analytics/slow-jobs', `/analytics/slow-jobs?${range}`);
    await answerOf('GET /analytics/models');
    await answerOf('GET /analytics/sla', `/analytics/sla?${range}`);
    await answerOf('GET /analytics/retries', `/analytics/retries?${range}&queue=default`);
    await answerOf('GET /analytics/cost', `/analytics/cost?${range}`);
    await answerOf('GET /analytics/forecast', '/analytics/forecast?queue=default&historyDays=1&hours=6');
    await answerOf('GET /analytics/errors', `/analytics/errors?${range}&queue=default`);
    await answerOf('GET /analytics/utilisation', `/analytics/utilisation?${range}`);
    await answerOf('GET /metrics/queues');
    await answerOf('GET /metrics/workers');
    const timeline = await answerOf('GET /metrics/jobs/timeline', `/metrics/jobs/timeline?${range}&limit=50`);
    expect(timeline.body.jobs.length).toBeGreaterThan(0);
    await answerOf(
      'GET /metrics/job-duration-histogram',
      `/metrics/job-duration-histogram?${range}&queue=default`,
    );
    const text = await fetch(`${inject('apiUrl')}/metrics`, {
      headers: { authorization: `Bearer ${inject('keys').admin}` },
    });
    expect(text.status).toBe(200);
    expect(Object.keys(document.paths['/metrics']?.get?.responses['200']?.content ?? {})).toEqual([
      text.headers.get('content-type'),
    ]);
  });

  it('operator settings: alert rules, schedules, maintenance windows (inert ones, removed after)', async () => {
    const rule = await answerOf('POST /alerts/rules', undefined, {
      name: runTag('contract-rule'),
      condition: { metric: 'backlog', queue: 'default', op: '>', threshold: 1_000_000 },
      enabled: false,
    });
    const { ruleId } = rule.body;
    await answerOf('GET /alerts/rules');
    await answerOf('GET /alerts/rules/{ruleId}', `/alerts/rules/${ruleId}`);
    await answerOf('PATCH /alerts/rules/{ruleId}', `/alerts/rules/${ruleId}`, { name: runTag('renamed') });
    await answerOf('GET /alerts', '/alerts?limit=20');
    expect((await answerOf('DELETE /alerts/rules/{ruleId}', `/alerts/rules/${ruleId}`)).status).toBe(204);

    const schedule = await answerOf('POST /scheduled-jobs', undefined, {
      name: runTag('contract-schedule'),
      cron: '0 0 1 1 *',
      job: { queue: 'default', type: 'delayed_message', payload: { message: 'yearly' } },
    });
    const { scheduleId } = schedule.body;
    await answerOf('GET /scheduled-jobs');
    await answerOf('GET /scheduled-jobs/{scheduleId}', `/scheduled-jobs/${scheduleId}`);
    await answerOf('PATCH /scheduled-jobs/{scheduleId}', `/scheduled-jobs/${scheduleId}`, { paused: true });
    await answerOf('DELETE /scheduled-jobs/{scheduleId}', `/scheduled-jobs/${scheduleId}`);

    const window = await answerOf('POST /factory/maintenance', undefined, {
      queue: 'reports',
      kind: 'inspection',
      startAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
      durationMinutes: 5,
    });
    await answerOf('GET /factory/maintenance');
    await answerOf('DELETE /factory/maintenance/{windowId}', `/factory/maintenance/${window.body.windowId}`);
  });
});
