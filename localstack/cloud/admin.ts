/**
 * Test hooks of the local cloud, under /__local on the AWS endpoint (never part of AWS):
 * - POST /__local/faults {service, action, bodyContains?, times} — the next `times` matching
 *   calls fail with a 500 InternalFailure (a dropped send, for crash-safety tests);
 * - POST /__local/ttl/sweep — expires rows whose TTL has passed now, instead of at the next minute;
 * - POST /__local/lambda/{name}/crash {eventContains?} — kills the execution environments of a
 *   function mid-invocation (a worker crash): all, or those whose invocation under way carries
 *   the string (one job's worker).
 */
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';

interface Fault {
  readonly service: string;
  readonly action: string;
  readonly bodyContains?: string;
  remaining: number;
}

const reply = (status: number, body: unknown): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export class LocalAdmin {
  private readonly faults: Fault[] = [];
  /** The TTL process, once the tables exist (POST /__local/ttl/sweep runs it now). */
  ttl?: { sweep(nowSeconds?: number): Promise<number> };

  constructor(private readonly runtime: LambdaRuntime) {}

  /** The failure to answer a service call with, if a fault matches it. */
  injectedFailure(service: string, action: string, request: BufferedRequest): ServiceResponse | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        f.service === service &&
        f.action === action &&
        (!f.bodyContains || request.body.toString().includes(f.bodyContains)),
    );
    if (!fault) return undefined;
    fault.remaining--;
    return {
      status: 500,
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': 'InternalFailure' },
      body: JSON.stringify({
        __type: 'InternalFailure',
        message: 'Injected by the local cloud (/__local/faults)',
      }),
    };
  }

  async handle(request: BufferedRequest): Promise<ServiceResponse | undefined> {
    const url = new URL(request.url, 'http://local');
    if (!url.pathname.startsWith('/__local/')) return undefined;
    if (url.pathname === '/__local/faults' && request.method === 'POST') {
      const fault = JSON.parse(request.body.toString() || '{}') as Partial<Fault> & { times?: number };
      if (!fault.service || !fault.action) return reply(400, { message: 'service and action are required' });
      this.faults.push({
        service: fault.service,
        action: fault.action,
        bodyContains: fault.bodyContains,
        remaining: fault.times ?? 1,
      });
      return reply(200, { armed: true });
    }
    if (url.pathname === '/__local/faults' && request.method === 'DELETE') {
      // All of them, or those armed with this bodyContains (one test's own).
      const only = url.searchParams.get('bodyContains');
      const kept = this.faults.filter((f) => only !== null && f.bodyContains !== only);
      this.faults.splice(0, this.faults.length, ...kept);
      return reply(200, { cleared: true });
    }
    if (url.pathname === '/__local/ttl/sweep' && request.method === 'POST') {
      if (!this.ttl) return reply(503, { message: 'The tables are not provisioned yet' });
      return reply(200, { deleted: await this.ttl.sweep() });
    }
    const crash = url.pathname.match(/^\/__local\/lambda\/([^/]+)\/crash$/);
    if (crash && request.method === 'POST') {
      const name = decodeURIComponent(crash[1] as string);
      if (!this.runtime.get(name)) return reply(404, { message: `No function ${name}` });
      const { eventContains } = JSON.parse(request.body.toString() || '{}') as { eventContains?: string };
      return reply(200, { crashedEnvironments: await this.runtime.crash(name, eventContains) });
    }
    return reply(404, { message: `No local admin route ${request.method} ${url.pathname}` });
  }
}
