/**
 * The API's contract as a client meets it: GET /openapi.json (open) is a valid OpenAPI 3.1
 * document naming every route the stack serves with its role, built from the zod schemas that
 * validate the requests; GET /docs renders it.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from '../helpers/factory-client.ts';

const noKey = { authorization: '' };
type Operation = {
  security: unknown[];
  'x-factory-role': string | null;
  requestBody?: { content: { 'application/json': { schema: Record<string, any> } } };
  parameters: { name: string; in: string }[];
};
let document: { openapi: string; paths: Record<string, Record<string, Operation>> };

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
