/**
 * The OpenAPI document as the stack's contract function builds it (made here in memory, from the
 * same routes and handler contracts), and the client's types generated from it.
 */
import { readFile } from 'node:fs/promises';
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { clientTypesFile, clientTypesOf } from '../../infra/openapi/client-types.ts';
import { openApiDocument } from '../../infra/openapi/document.ts';
import { type OpenApiDocument, stackDocument } from '../../infra/openapi/stack-document.ts';

type Json = Record<string, any>;
let document: OpenApiDocument;
const operation = (key: string): Json => {
  const [method, path] = key.split(' ') as [string, string];
  return (document.paths as Json)[path]?.[method.toLowerCase()];
};

beforeAll(async () => {
  document = await stackDocument();
}, 120_000);

/** Every route the typed client (client/src/client.ts) and so the CLI call, and job batches. */
const clientRoutes = {
  'POST /jobs': [200, 202],
  'POST /jobs/bulk': [202],
  'GET /jobs': [200],
  'GET /jobs/{jobId}': [200],
  'DELETE /jobs/{jobId}': [200, 202],
  'POST /jobs/{jobId}/retry': [202],
  'GET /jobs/{jobId}/logs': [200],
  'GET /jobs/stats': [200],
  'POST /orders': [202],
  'GET /orders': [200],
  'GET /orders/{orderId}': [200],
  'GET /orders/{orderId}/status': [200],
  'DELETE /orders/{orderId}': [200],
  'POST /orders/{orderId}/retry': [202],
  'GET /dlq': [200],
  'POST /dlq/retry': [202],
  'GET /dlq/export': [200],
  'DELETE /dlq/{jobId}': [200],
  'GET /queues': [200],
  'GET /workers/status': [200],
  'POST /workers/scale': [200],
  'POST /api-keys': [201],
  'GET /api-keys': [200],
  'DELETE /api-keys/{keyId}': [200],
  'POST /realtime/tickets': [201],
  'POST /job-batches': [202],
  'GET /job-batches/{batchId}': [200],
} as const;

/** The analytics and metrics reports (functions/api/analytics.ts), which dashboards read. */
const reportRoutes = [
  'GET /analytics/throughput',
  'GET /analytics/scaling-advice',
  'GET /analytics/slow-jobs',
  'GET /analytics/models',
  'GET /analytics/sla',
  'GET /analytics/retries',
  'GET /analytics/cost',
  'GET /analytics/forecast',
  'GET /analytics/errors',
  'GET /analytics/utilisation',
  'GET /metrics/queues',
  'GET /metrics/workers',
  'GET /metrics/jobs/timeline',
  'GET /metrics/job-duration-histogram',
] as const;

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(
      document as unknown as Parameters<Validator['validate']>[0],
    );
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('declares the answers of every route the client calls, with their status codes', () => {
    for (const [key, statuses] of Object.entries(clientRoutes)) {
      const responses = operation(key)?.responses ?? {};
      const success = Object.keys(responses).filter((status) => /^2/.test(status));
      expect({ key, success }).toEqual({ key, success: statuses.map(String) });
      for (const status of success)
        expect({ key, status, schema: Object.keys(responses[status].content ?? {}).length }).toEqual({
          key,
          status,
          schema: 1,
        });
    }
  });

  it('declares the JSON answer of every analytics and metrics report, as a closed named component', () => {
    const schemas = document.components.schemas as Json;
    for (const key of reportRoutes) {
      const responses = operation(key)?.responses ?? {};
      expect({ key, statuses: Object.keys(responses).filter((s) => /^2/.test(s)) }).toEqual({
        key,
        statuses: ['200'],
      });
      const ref: string = responses['200'].content['application/json'].schema.$ref ?? '';
      const name = ref.replace('#/components/schemas/', '');
      expect({ key, additionalProperties: schemas[name]?.additionalProperties }).toEqual({
        key,
        additionalProperties: false,
      });
    }
  });

  it('names the shared answers as components, open where a view spreads a stored row', () => {
    const schemas = document.components.schemas as Json;
    expect(operation('GET /jobs/{jobId}').responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/Job',
    });
    expect(schemas.Job.additionalProperties).toEqual({});
    expect(schemas.Job.required).toEqual(
      expect.arrayContaining(['jobId', 'status', 'attempts', 'createdAt']),
    );
    expect(schemas.JobPage.properties.jobs.items).toEqual({ $ref: '#/components/schemas/Job' });
    expect(schemas.OrderStatusView.additionalProperties).toBe(false);
    expect(schemas.JobStatus.enum).toContain('DEAD');
    // Every reference leads somewhere.
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)];
    for (const [, name] of refs) expect(schemas, name).toHaveProperty(name as string);
  });

  it('says when there is no body, or a body other than JSON', () => {
    expect(operation('DELETE /queues/{queue}/sla').responses['204']).toEqual({
      description: 'Removed (or there was none)',
    });
    expect(Object.keys(operation('GET /dlq/export').responses['200'].content)).toEqual(['text/csv']);
    expect(Object.keys(operation('GET /metrics').responses['200'].content)).toEqual([
      'text/plain; version=0.0.4; charset=utf-8',
    ]);
  });

  it('keeps the bare 2XX only for routes that declare no answer', () => {
    const undeclared = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods as Json)
        .filter(([, op]) => '2XX' in op.responses)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    for (const key of [...Object.keys(clientRoutes), ...reportRoutes, 'GET /metrics'])
      expect(undeclared).not.toContain(key);
    expect(operation('GET /console').responses['2XX'].content['application/json'].schema).toEqual({});
  });

  it('refuses two different schemas under one name', () => {
    const route = { method: 'GET', path: '/x', entry: 'x.ts', role: 'viewer', public: false };
    const named = (field: string) => z.object({ [field]: z.string() }).meta({ id: `Twice${field.length}` });
    const [first, second] = [named('a'), z.object({ b: z.string() })];
    const contract = (schema: z.ZodType) => ({ schemas: { responses: { 200: schema } }, public: false });
    // The same name for the same schema is one component.
    expect(() =>
      openApiDocument(
        [route, { ...route, path: '/y' }],
        () => contract(z.object({ one: first, two: first })),
        '1',
      ),
    ).not.toThrow();
    // Another route's schema of the same name (zod itself refuses them within one schema).
    const impostor = second.meta({ id: 'Twice1' });
    expect(() =>
      openApiDocument(
        [route, { ...route, path: '/y' }],
        (r) => contract(r.path === '/x' ? first : impostor),
        '1',
      ),
    ).toThrow(/Two schemas are named Twice1/);
  });
});

describe("the client's generated types", () => {
  it('are those of the current document (run `npm run client:types` after changing a contract)', async () => {
    const committed = await readFile(clientTypesFile, 'utf8');
    const fresh = await clientTypesOf(document);
    expect(committed === fresh, 'client/src/generated/openapi.ts is out of date: npm run client:types').toBe(
      true,
    );
  }, 60_000);
});
