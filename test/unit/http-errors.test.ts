import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { byRoute, httpRoute, json } from '../../functions/shared/http.ts';
import { notFound } from '../../functions/shared/http-errors.ts';

/** A request the authorizer let through (functions/auth/authorizer.ts). */
const allowed = { verdict: 'allow', keyId: 'k0123456789ab', keyName: 'ci', role: 'developer' };
const event = (body?: string, verdict: Record<string, string> | null = allowed): APIGatewayProxyEventV2 =>
  ({
    body,
    headers: {},
    isBase64Encoded: false,
    pathParameters: { id: 'x' },
    routeKey: 'POST /things/{id}',
    requestContext: verdict ? { authorizer: { lambda: verdict } } : {},
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

  it('answers an unexpected error with a 500 that leaks nothing, and logs it with the request id', async () => {
    // Prepare: the logger writes its JSON lines to stderr (Powertools Logger's own console).
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const handler = httpRoute({}, async () => {
      throw new Error('password=hunter2 in connection string');
    });
    const request = event();
    (request.requestContext as { requestId?: string }).requestId = 'req-42';
    // Act
    const response = await call(handler, request).finally(() => spy.mockRestore());
    // Assess
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('hunter2');
    expect(JSON.parse(response.body).error.code).toBe('INTERNAL');
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'Unhandled error in HTTP handler',
        requestId: 'req-42',
        error: expect.objectContaining({ name: 'Error', message: 'password=hunter2 in connection string' }),
      }),
    );
  });

  describe("the authorizer's verdict", () => {
    const handle = vi.fn(async () => json(200, { ran: true }));
    const handler = httpRoute({ body: z.object({ n: z.int() }) }, handle);

    it('runs the route for an allowed key', async () => {
      expect((await call(handler, event('{"n":1}'))).statusCode).toBe(200);
    });

    it('answers no key with 401 UNAUTHENTICATED and WWW-Authenticate, before validation or the route', async () => {
      handle.mockClear();
      const response = await call(
        handler,
        event('not json', { verdict: 'unauthenticated', reason: 'The API key is not known.' }),
      );
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer');
      expect(JSON.parse(response.body)).toEqual({
        error: { code: 'UNAUTHENTICATED', message: 'The API key is not known.', details: null },
      });
      expect(handle).not.toHaveBeenCalled();
    });

    it('answers a role the route does not allow with 403 FORBIDDEN naming both roles', async () => {
      const response = await call(
        handler,
        event('{"n":1}', {
          verdict: 'forbidden',
          keyId: 'k0123456789ab',
          keyName: 'wallboard',
          role: 'viewer',
          required: 'developer',
        }),
      );
      expect(response.statusCode).toBe(403);
      const { error } = JSON.parse(response.body);
      expect(error.code).toBe('FORBIDDEN');
      expect(error.message).toContain('viewer');
      expect(error.details).toEqual({ role: 'viewer', required: 'developer', keyId: 'k0123456789ab' });
    });

    it('refuses a request no authorizer decided (an unguarded route fails closed)', async () => {
      expect((await call(handler, event('{"n":1}', null))).statusCode).toBe(401);
    });

    it('lets a public route through without a verdict', async () => {
      const open = httpRoute({}, async () => json(200, { status: 'ok' }), { public: true });
      expect((await call(open, event(undefined, null))).statusCode).toBe(200);
    });
  });
});

describe('a family of routes in one function', () => {
  const family = byRoute({
    'POST /things/{id}': httpRoute({}, async () => json(200, { served: 'things' })),
  });
  const routed = (routeKey: string) =>
    family({ ...event('{}'), routeKey } as APIGatewayProxyEventV2, {} as Context) as Promise<{
      statusCode: number;
      body: string;
    }>;

  it('serves a route under /api/v1 as the route itself (seed 004), and answers 404 for one it lacks', async () => {
    expect(JSON.parse((await routed('POST /api/v1/things/{id}')).body)).toEqual({ served: 'things' });
    const missing = await routed('POST /other');
    expect(missing.statusCode).toBe(404);
    expect(JSON.parse(missing.body).error.code).toBe('NO_ROUTE');
  });
});
