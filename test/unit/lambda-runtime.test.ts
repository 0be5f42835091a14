/** The local Lambda runtime fails an invocation whose environment dies or hangs at cold start. */
import { existsSync } from 'node:fs';
import { getPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { environmentNice, LambdaRuntime, type LocalFunction } from '../../localstack/cloud/lambda-runtime.ts';
import { functionsCallersWaitOn } from '../../localstack/cloud/local-cloud.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const fn = (name: string, codePath: string): LocalFunction => ({
  name,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:${name}`,
  codePath,
  handlerExport: 'handler',
  environment: {},
  timeoutSeconds: 5,
  memorySize: 128,
  concurrencyLimit: 2,
});

let runtime: LambdaRuntime | undefined;
afterEach(async () => runtime?.stop());

describe('the local Lambda runtime', () => {
  it('fails the invocation when the environment dies at cold start, and serves the next one', async () => {
    runtime = new LambdaRuntime({ log: () => undefined });
    runtime.register(fn('dies', fixture('dies-at-init.mjs')));
    runtime.register(fn('answers', fixture('answers.mjs')));
    const outcome = await runtime.invoke('dies', {});
    expect(outcome).toMatchObject({ ok: false, error: { errorType: 'Runtime.InitError' } });
    expect(runtime.environmentCount('dies')).toBe(0);
    expect(await runtime.invoke('answers', { n: 1 })).toEqual({ ok: true, result: { echoed: { n: 1 } } });
  });

  it('fails the invocation when initialisation takes longer than allowed', async () => {
    runtime = new LambdaRuntime({ log: () => undefined, initTimeoutMs: () => 300 });
    runtime.register(fn('hangs', fixture('hangs-at-init.mjs')));
    const outcome = await runtime.invoke('hangs', {});
    expect(outcome).toMatchObject({
      ok: false,
      error: {
        errorType: 'Runtime.InitError',
        errorMessage: expect.stringMatching(/did not initialise in time/),
      },
    });
  });

  it('serves a burst on a cold function with the environments that warm first', async () => {
    runtime = new LambdaRuntime({ log: () => undefined, concurrentInitialisations: 1 });
    runtime.register({ ...fn('answers', fixture('answers.mjs')), concurrencyLimit: 20 });
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, n) => runtime?.invoke('answers', { n })),
    );
    expect(outcomes).toEqual(Array.from({ length: 20 }, (_, n) => ({ ok: true, result: { echoed: { n } } })));
    // One cold start per invocation (the old pool) would be 20 environments, each initialising
    // at once on two cores; waiting invocations take the first environment that is free.
    expect(runtime.environmentCount('answers')).toBeLessThan(20);
  });

  it('counts the init limit from when an environment starts, not while it waits its turn', async () => {
    runtime = new LambdaRuntime({
      log: () => undefined,
      concurrentInitialisations: 1,
      initTimeoutMs: (f) => (f.name === 'hangs' ? 300 : 10_000),
    });
    runtime.register(fn('hangs', fixture('hangs-at-init.mjs')));
    runtime.register(fn('answers', fixture('answers.mjs')));
    const [hung, answered] = await Promise.all([
      runtime.invoke('hangs', {}),
      runtime.invoke('answers', { n: 2 }),
    ]);
    expect(hung).toMatchObject({ ok: false, error: { errorType: 'Runtime.InitError' } });
    expect(answered).toEqual({ ok: true, result: { echoed: { n: 2 } } });
  });

  it.runIf(existsSync('/proc/thread-self/stat'))(
    'runs the functions a caller waits on ahead of those working in the background',
    async () => {
      runtime = new LambdaRuntime({ log: () => undefined });
      runtime.register(fn('route', fixture('reports-nice.mjs')), { answersCaller: true });
      runtime.register(fn('consumer', fixture('reports-nice.mjs')));
      const route = await runtime.invoke('route', {});
      const consumer = await runtime.invoke('consumer', {});
      // Added to the nice value this thread runs at (an environment starts with it).
      const own = getPriority();
      const expected = (answersCaller: boolean) =>
        Math.min(19, own + environmentNice(answersCaller, process.env));
      expect(route).toEqual({ ok: true, result: { nice: expected(true) } });
      expect(consumer).toEqual({ ok: true, result: { nice: expected(false) } });
      if (own + environmentNice(true, process.env) < 19)
        expect(expected(false)).toBeGreaterThan(expected(true));
    },
  );
});

describe("a Lambda environment's nice value", () => {
  it('is 5 for a function a caller waits on and 10 in the background, unless set', () => {
    expect([environmentNice(true, {}), environmentNice(false, {})]).toEqual([5, 10]);
    expect(environmentNice(false, { LOCAL_LAMBDA_NICE: '0' })).toBe(5);
    expect(environmentNice(false, { LOCAL_LAMBDA_NICE: '17' })).toBe(19);
    expect(environmentNice(false, { LOCAL_BACKGROUND_NICE: '12' })).toBe(12);
  });
});

describe('the functions a caller waits on', () => {
  it('are those of HTTP routes, their authorizers and WebSocket routes', () => {
    const authorizer = {
      functionName: 'Authorizer',
      identitySource: [],
      resultTtlSeconds: 0,
      simpleResponses: true,
    };
    const waitedOn = functionsCallersWaitOn({
      routes: [
        { method: 'POST', path: '/jobs/bulk', functionName: 'SubmitJobsBulk', authorizer },
        { method: 'GET', path: '/health', functionName: 'Health' },
      ],
      webSocketApis: [
        {
          apiId: 'rt',
          stage: 'live',
          routeSelectionExpression: '$request.body.action',
          routes: new Map([['$connect', 'Connect']]),
        },
      ],
    });
    expect([...waitedOn].sort()).toEqual(['Authorizer', 'Connect', 'Health', 'SubmitJobsBulk']);
  });
});
