import { describe, expect, it, vi } from 'vitest';
import { HttpAuthorizers, identityValue, type RouteRequest } from '../../localstack/cloud/http-authorizer.ts';

const request = (headers: Record<string, string> = {}): RouteRequest => ({
  routeKey: 'GET /jobs',
  rawPath: '/jobs',
  rawQueryString: '',
  headers,
  requestContext: { requestId: 'r1' },
});

/** A local Lambda runtime whose only function is the authorizer. */
const runtimeAnswering = (answer: unknown, ok = true) => ({
  invoke: vi.fn(async (_name: string, _event: unknown) =>
    ok
      ? { ok: true as const, result: answer }
      : { ok: false as const, error: { errorType: 'Error', errorMessage: 'boom' } },
  ),
});

const authorizer = (identitySource: string[], resultTtlSeconds: number) => ({
  functionName: 'Authorizer',
  identitySource,
  resultTtlSeconds,
  simpleResponses: true,
});

describe('the local HTTP API authorizer (as API Gateway runs one)', () => {
  it('answers 401 itself, without calling the function, when an identity source is missing', async () => {
    const runtime = runtimeAnswering({ isAuthorized: true });
    const authorizers = new HttpAuthorizers(runtime, () => 'arn');
    const outcome = await authorizers.authorize(authorizer(['$request.header.Authorization'], 0), request());
    expect(outcome).toEqual({ allowed: false, status: 401, body: '{"message":"Unauthorized"}' });
    expect(runtime.invoke).not.toHaveBeenCalled();
  });

  it('hands the function the request without its body, and passes its context on', async () => {
    const runtime = runtimeAnswering({ isAuthorized: true, context: { verdict: 'allow' } });
    const authorizers = new HttpAuthorizers(runtime, (key) => `arn:${key}`);
    const outcome = await authorizers.authorize(authorizer([], 0), {
      ...request({ authorization: 'Bearer x' }),
      body: 'secret payload',
    } as RouteRequest);
    expect(outcome).toEqual({ allowed: true, context: { verdict: 'allow' } });
    const event = runtime.invoke.mock.calls[0]?.[1] as Record<string, unknown>;
    expect(event).toMatchObject({
      type: 'REQUEST',
      version: '2.0',
      routeArn: 'arn:GET /jobs',
      routeKey: 'GET /jobs',
    });
    expect(event.body).toBeUndefined();
  });

  it('answers isAuthorized false with 403, and a failing function with 500', async () => {
    const deny = new HttpAuthorizers(runtimeAnswering({ isAuthorized: false }), () => 'arn');
    expect(await deny.authorize(authorizer([], 0), request())).toMatchObject({ status: 403 });
    const broken = new HttpAuthorizers(runtimeAnswering(undefined, false), () => 'arn');
    expect(await broken.authorize(authorizer([], 0), request())).toMatchObject({ status: 500 });
    const malformed = new HttpAuthorizers(runtimeAnswering({ allow: 'yes' }), () => 'arn');
    expect(await malformed.authorize(authorizer([], 0), request())).toMatchObject({ status: 500 });
  });

  it('caches per identity for the declared TTL, and not at all when it is 0', async () => {
    let now = 0;
    const runtime = runtimeAnswering({ isAuthorized: true });
    const authorizers = new HttpAuthorizers(
      runtime,
      () => 'arn',
      () => now,
    );
    const cached = authorizer(['$request.header.Authorization', '$context.routeKey'], 30);
    await authorizers.authorize(cached, request({ authorization: 'a' }));
    await authorizers.authorize(cached, request({ authorization: 'a' }));
    await authorizers.authorize(cached, request({ authorization: 'b' }));
    expect(runtime.invoke).toHaveBeenCalledTimes(2);
    now = 31_000;
    await authorizers.authorize(cached, request({ authorization: 'a' }));
    expect(runtime.invoke).toHaveBeenCalledTimes(3);
    const uncached = authorizer([], 0);
    await authorizers.authorize(uncached, request());
    await authorizers.authorize(uncached, request());
    expect(runtime.invoke).toHaveBeenCalledTimes(5);
  });

  it('reads headers case-insensitively, query strings and the context', () => {
    const r = { ...request({ authorization: 'Bearer x' }), queryStringParameters: { token: 't' } };
    expect(identityValue('$request.header.Authorization', r)).toBe('Bearer x');
    expect(identityValue('$request.querystring.token', r)).toBe('t');
    expect(identityValue('$context.routeKey', r)).toBe('GET /jobs');
    expect(identityValue('$context.requestId', r)).toBe('r1');
    expect(identityValue('$request.header.X-Missing', r)).toBeUndefined();
  });
});
