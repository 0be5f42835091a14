/** What a client of the factory does: HTTP calls, and AWS calls against the local endpoint. */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly body: T;
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  const response = await fetch(`${inject('apiUrl')}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text so the assertion shows it
  }
  return { status: response.status, body: parsed as T };
}

export const specificationsFor: Record<string, Record<string, unknown>> = {
  welder: { reachMm: 1800, payloadKg: 12.5, weldingProcess: 'mig' },
  courier: { payloadKg: 8, rangeKm: 25, terrain: 'urban' },
  companion: { heightCm: 60, personality: 'witty', language: 'en' },
};

export async function placeOrder(robotType: string, extra: Record<string, unknown> = {}) {
  const response = await api('POST', '/orders', {
    customerId: 'cust-integration',
    robotType,
    specifications: specificationsFor[robotType],
    simulate: { stepDurationMs: 20 },
    ...extra,
  });
  if (response.status !== 202)
    throw new Error(`Order rejected: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { orderId: string; status: string; statusUrl: string };
}

/** Polls the status endpoint until the order is finished (or the time runs out). */
export async function waitForOrder(orderId: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api('GET', `/orders/${orderId}/status`);
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(body.status)) return body;
    if (Date.now() > deadline)
      throw new Error(`Order ${orderId} still ${body.status} after ${timeoutMs} ms: ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function awsClients() {
  const config = {
    region: 'us-east-1',
    endpoint: inject('edgeUrl'),
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  return { sqs: new SQSClient(config), lambda: new LambdaClient(config) };
}
