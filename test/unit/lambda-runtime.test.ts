/** The local Lambda runtime fails an invocation whose environment dies or hangs at cold start. */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LambdaRuntime, type LocalFunction } from '../../localstack/cloud/lambda-runtime.ts';

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
});
