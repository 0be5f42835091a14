/**
 * API Gateway HTTP API Lambda REQUEST authorizers (payload 2.0), as the template declares them:
 * identity sources that must all be present (else 401 without calling the function), the result
 * cached per identity for the declared TTL (no cache when it is 0), simple responses
 * ({isAuthorized, context}: false is a 403) — and API Gateway's own bare bodies for its refusals.
 */
import type { LambdaRuntime } from './lambda-runtime.ts';

export interface LocalAuthorizer {
  readonly functionName: string;
  /** `$request.header.X`, `$request.querystring.X`, `$context.X` selection expressions. */
  readonly identitySource: readonly string[];
  readonly resultTtlSeconds: number;
  readonly simpleResponses: boolean;
}

/** Stands in for an authorizer that cannot run here: every request through it fails (500). */
export const brokenAuthorizer: LocalAuthorizer = {
  functionName: '',
  identitySource: [],
  resultTtlSeconds: 0,
  simpleResponses: true,
};

/** The route event the authorizer sees, minus its own fields. */
export interface RouteRequest {
  readonly routeKey: string;
  readonly rawPath: string;
  readonly rawQueryString: string;
  readonly headers: Record<string, string>;
  readonly queryStringParameters?: Record<string, string>;
  readonly pathParameters?: Record<string, string>;
  readonly requestContext: Record<string, unknown>;
}

export type AuthorizerOutcome =
  | { readonly allowed: true; readonly context: Record<string, unknown> }
  | { readonly allowed: false; readonly status: number; readonly body: string };

const refusal = (status: number, message: string): AuthorizerOutcome => ({
  allowed: false,
  status,
  body: JSON.stringify({ message }),
});

/** The value of one identity source in a request, or undefined when it is missing or empty. */
export function identityValue(source: string, request: RouteRequest): string | undefined {
  let value: unknown;
  if (source.startsWith('$request.header.')) value = request.headers[source.slice(16).toLowerCase()];
  else if (source.startsWith('$request.querystring.'))
    value = request.queryStringParameters?.[source.slice(21)];
  else if (source === '$context.routeKey') value = request.routeKey;
  else if (source.startsWith('$context.')) value = request.requestContext[source.slice(9)];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export class HttpAuthorizers {
  private readonly cache = new Map<string, { outcome: AuthorizerOutcome; until: number }>();

  constructor(
    private readonly runtime: Pick<LambdaRuntime, 'invoke'>,
    private readonly routeArn: (routeKey: string) => string,
    private readonly now: () => number = Date.now,
  ) {}

  async authorize(authorizer: LocalAuthorizer, request: RouteRequest): Promise<AuthorizerOutcome> {
    if (!authorizer.functionName || !authorizer.simpleResponses) return refusal(500, 'Internal Server Error');
    const identity = authorizer.identitySource.map((source) => identityValue(source, request));
    if (identity.some((value) => value === undefined)) return refusal(401, 'Unauthorized');
    const cacheKey =
      authorizer.resultTtlSeconds > 0 && identity.length > 0
        ? `${authorizer.functionName}\n${identity.join('\n')}`
        : undefined;
    const cached = cacheKey ? this.cache.get(cacheKey) : undefined;
    if (cached && cached.until > this.now()) return cached.outcome;

    const outcome = await this.invoke(authorizer, request, identity as string[]);
    // API Gateway caches the function's answers (allow and deny), not its failures.
    if (cacheKey && (outcome.allowed || outcome.status === 403)) {
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(cacheKey, { outcome, until: this.now() + authorizer.resultTtlSeconds * 1000 });
    }
    return outcome;
  }

  private async invoke(
    authorizer: LocalAuthorizer,
    request: RouteRequest,
    identitySource: string[],
  ): Promise<AuthorizerOutcome> {
    // What API Gateway hands an authorizer: the request without its body.
    const {
      body: _body,
      isBase64Encoded: _encoding,
      ...fields
    } = request as RouteRequest & {
      body?: unknown;
      isBase64Encoded?: unknown;
    };
    const result = await this.runtime.invoke(authorizer.functionName, {
      ...fields,
      version: '2.0',
      type: 'REQUEST',
      routeArn: this.routeArn(request.routeKey),
      identitySource,
    });
    if (!result.ok) return refusal(500, 'Internal Server Error');
    const answer = result.result as { isAuthorized?: unknown; context?: unknown } | null;
    if (!answer || typeof answer.isAuthorized !== 'boolean') return refusal(500, 'Internal Server Error');
    if (!answer.isAuthorized) return refusal(403, 'Forbidden');
    const context = answer.context && typeof answer.context === 'object' ? answer.context : {};
    return { allowed: true, context: context as Record<string, unknown> };
  }
}
