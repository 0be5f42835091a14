/**
 * Test hooks of the local cloud, under /__local on the AWS endpoint (never part of AWS):
 * - POST /__local/faults {service, action?, bodyContains?, times?, rate?, forMs?} — matching calls
 *   fail with a 500 InternalFailure: the next `times` of them, or each with probability `rate`
 *   for `forMs` milliseconds (no `action`: every action of the service). DELETE clears them
 *   (`?bodyContains=` only those armed with it).
 * - POST /__local/ttl/sweep — expires rows whose TTL has passed now, instead of at the next minute;
 * - POST /__local/lambda/{name}/crash {eventContains?} — kills the execution environments of a
 *   function mid-invocation (a worker crash): all, or those whose invocation under way carries
 *   the string (one job's worker);
 * - POST /__local/lambda/crash-rate {functionPattern, rate, forMs?} — each invocation of a
 *   matching function loses its environment mid-run with probability `rate` (chaos).
 * - GET /__local/iam/denials — the calls of functions that their policies did not allow (the
 *   latest 1,000), each answered with AccessDeniedException as AWS would (local-iam.ts).
 * - GET /__local/sns/published?topicArn= — the messages published to SNS topics, newest first,
 *   with how each subscription's delivery went (sns-topics.ts).
 * - GET /__local/usage — every AWS call served since the start, by service and action, and the
 *   DynamoDB write units billed, by table (embedded backend): what the bench divides by its jobs.
 */
import type { BufferedRequest, ServiceResponse } from './edge.ts';
import type { LambdaRuntime } from './lambda-runtime.ts';
import type { LocalIam } from './local-iam.ts';

interface Fault {
  readonly service: string;
  readonly action?: string;
  readonly bodyContains?: string;
  /** Calls left to fail; unlimited for a rate fault. */
  remaining: number;
  readonly rate?: number;
  readonly until?: number;
}

const reply = (status: number, body: unknown): ServiceResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

export class LocalAdmin {
  private readonly faults: Fault[] = [];
  /** Calls failed on purpose, by service (the chaos report shows them). */
  readonly injected = new Map<string, number>();
  /** The TTL process, once the tables exist (POST /__local/ttl/sweep runs it now). */
  ttl?: { sweep(nowSeconds?: number): Promise<number> };

  /** The functions' policies, once the functions are known; until then nothing is checked. */
  iam?: LocalIam;

  /** The SNS topics (GET /__local/sns/published lists what they were sent). */
  sns?: { published(topicArn?: string): unknown[] };

  /** What the data plane served (GET /__local/usage): calls, and write units where measured. */
  usage?: {
    readonly calls: { snapshot(): Record<string, number> };
    readonly writeUnits?: { snapshot(): Record<string, number> };
  };

  constructor(private readonly runtime: LambdaRuntime) {}

  refusal(service: string, action: string, request: BufferedRequest): ServiceResponse | undefined {
    const principal = this.iam?.principalOf(request);
    if (!this.iam || !principal) return undefined;
    const userAgent = String(request.headers['x-amz-user-agent'] ?? request.headers['user-agent'] ?? '');
    return this.iam.check(principal, service, this.iam.requestOf(service, action, request), userAgent);
  }

  /** The failure to answer a service call with, if a fault matches it. */
  injectedFailure(service: string, action: string, request: BufferedRequest): ServiceResponse | undefined {
    const now = Date.now();
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.until === undefined || now < f.until) &&
        f.service === service &&
        (f.action === undefined || f.action === action) &&
        (!f.bodyContains || request.body.toString().includes(f.bodyContains)),
    );
    if (!fault) return undefined;
    if (fault.rate !== undefined && Math.random() >= fault.rate) return undefined;
    if (fault.rate === undefined) fault.remaining--;
    this.injected.set(service, (this.injected.get(service) ?? 0) + 1);
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
    const body = () => JSON.parse(request.body.toString() || '{}') as Record<string, unknown>;
    if (url.pathname === '/__local/faults' && request.method === 'POST') {
      const fault = body() as Partial<Fault> & { times?: number; forMs?: number };
      if (!fault.service) return reply(400, { message: 'service is required' });
      if (fault.rate === undefined && !fault.action)
        return reply(400, { message: 'a counted fault names its action' });
      this.faults.push({
        service: fault.service,
        ...(fault.action ? { action: fault.action } : {}),
        ...(fault.bodyContains ? { bodyContains: fault.bodyContains } : {}),
        remaining: fault.rate === undefined ? (fault.times ?? 1) : Number.POSITIVE_INFINITY,
        ...(fault.rate !== undefined ? { rate: fault.rate } : {}),
        ...(fault.forMs !== undefined ? { until: Date.now() + fault.forMs } : {}),
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
    if (url.pathname === '/__local/faults/injected' && request.method === 'GET') {
      return reply(200, Object.fromEntries(this.injected));
    }
    if (url.pathname === '/__local/iam/denials' && request.method === 'GET')
      return reply(200, { denials: this.iam?.denials ?? [] });
    if (url.pathname === '/__local/sns/published' && request.method === 'GET')
      return reply(200, {
        messages: this.sns?.published(url.searchParams.get('topicArn') ?? undefined) ?? [],
      });
    if (url.pathname === '/__local/usage' && request.method === 'GET')
      return reply(200, {
        calls: this.usage?.calls.snapshot() ?? {},
        ...(this.usage?.writeUnits ? { writeUnits: this.usage.writeUnits.snapshot() } : {}),
      });
    if (url.pathname === '/__local/ttl/sweep' && request.method === 'POST') {
      if (!this.ttl) return reply(503, { message: 'The tables are not provisioned yet' });
      return reply(200, { deleted: await this.ttl.sweep() });
    }
    if (url.pathname === '/__local/lambda/crash-rate' && request.method === 'POST') {
      const { functionPattern, rate, forMs } = body() as {
        functionPattern?: string;
        rate?: number;
        forMs?: number;
      };
      if (!functionPattern || rate === undefined)
        return reply(400, { message: 'functionPattern and rate are required' });
      this.runtime.setCrashRate(new RegExp(functionPattern), rate, forMs);
      return reply(200, { armed: true });
    }
    if (url.pathname === '/__local/lambda/crashes' && request.method === 'GET') {
      return reply(200, { crashes: this.runtime.chaosCrashes });
    }
    const crash = url.pathname.match(/^\/__local\/lambda\/([^/]+)\/crash$/);
    if (crash && request.method === 'POST') {
      const name = decodeURIComponent(crash[1] as string);
      if (!this.runtime.get(name)) return reply(404, { message: `No function ${name}` });
      const { eventContains } = body() as { eventContains?: string };
      return reply(200, { crashedEnvironments: await this.runtime.crash(name, eventContains) });
    }
    return reply(404, { message: `No local admin route ${request.method} ${url.pathname}` });
  }
}
