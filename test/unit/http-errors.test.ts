import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { httpRoute, json } from '../../functions/shared/http.ts';
import { notFound } from '../../functions/shared/http-errors.ts';

const event = (body?: string): APIGatewayProxyEventV2 =>
  ({
    body,
    headers: {},
    isBase64Encoded: false,
    pathParameters: { id: 'x' },
  }) as unknown as APIGatewayProxyEventV2;
const call = (handler: ReturnType<typeof httpRoute>, e: APIGatewayProxyEventV2) =>
  handler(e, {} as Context) as Promise<{ statusCode: number; body: string; headers: Record<string, string> }>;

describe('the HTTP middleware stack', () => {
  it('passes validated input to the handler', async () => {
    const handler = httpRoute(
      { body: z.object({ n: z.int() }), path: z.object({ id: z.string() }) },
      async ({ body, path }) => json(200, { doubled: body.n * 2, id: path.id }),
    );
    const response = await call(handler, event('{"n":21}'));
    expect(JSON.parse(response.body)).toEqual({ doubled: 42, id: 'x' });
  });

  it('turns a client error into the error envelope', async () => {
    const handler = httpRoute({}, async () => {
      throw notFound('THING_NOT_FOUND', 'No thing.');
    });
    const response = await call(handler, event());
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'THING_NOT_FOUND', message: 'No thing.', details: null },
    });
  });

  it('answers an unexpected error with a 500 that leaks nothing', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const handler = httpRoute({}, async () => {
      throw new Error('password=hunter2 in connection string');
    });
    const response = await call(handler, event());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('hunter2');
    expect(JSON.parse(response.body).error.code).toBe('INTERNAL');
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
  });
});
