import * as z from 'zod';
import { defineJobType, PermanentJobError } from './job-type.ts';

/** POSTs to a URL; a non-2xx answer, a network error or the timeout fails the attempt. */
export const webhookCall = defineJobType({
  name: 'webhook_call',
  description: 'HTTP call to a URL with a timeout; records status code and latency.',
  payload: z
    .object({
      url: z.url({ protocol: /^https?$/ }),
      method: z.enum(['POST', 'PUT', 'PATCH', 'GET']).default('POST'),
      headers: z.record(z.string(), z.string()).default({}),
      body: z.unknown().optional(),
      requestTimeoutMs: z.int().min(100).max(60_000).default(10_000),
    })
    .strict(),
  defaults: { maxAttempts: 5, timeoutMs: 90_000, backoff: { type: 'exponential', delayMs: 2000 } },
  // Outgoing headers carry credentials under many names (X-Signature, X-Shop-Auth …).
  secretFields: ['headers.*'],
  async run(payload, context) {
    const started = performance.now();
    const signal = AbortSignal.any([context.signal, AbortSignal.timeout(payload.requestTimeoutMs)]);
    let response: { status: number; ok: boolean; body: Uint8Array };
    try {
      response = await context.outbound.request(payload.url, {
        method: payload.method,
        headers: {
          'content-type': 'application/json',
          'x-robot-factory-job': context.jobId,
          ...payload.headers,
        },
        body:
          payload.method === 'GET' || payload.body === undefined ? undefined : JSON.stringify(payload.body),
        signal,
      });
    } catch (error) {
      const latencyMs = Math.round(performance.now() - started);
      if ((error as Error).name === 'OutboundRefused') {
        await context.log('ERROR', `${payload.method} ${payload.url} refused: ${(error as Error).message}`);
        throw new PermanentJobError(`Webhook ${payload.url}: ${(error as Error).message}`);
      }
      const reason =
        (error as Error).name === 'TimeoutError'
          ? `no answer within ${payload.requestTimeoutMs} ms`
          : (error as Error).message;
      await context.log('WARN', `${payload.method} ${payload.url} failed after ${latencyMs} ms: ${reason}`);
      throw new Error(`Webhook ${payload.url} failed: ${reason}`);
    }
    const text = Buffer.from(response.body).toString();
    const latencyMs = Math.round(performance.now() - started);
    await context.log(
      response.ok ? 'INFO' : 'WARN',
      `${payload.method} ${payload.url} → ${response.status} in ${latencyMs} ms`,
    );
    if (!response.ok) {
      throw new Error(`Webhook ${payload.url} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    return { statusCode: response.status, latencyMs, responseBytes: text.length };
  },
});
