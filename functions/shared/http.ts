/**
 * The middy stack every HTTP handler shares: parse the JSON body whatever the Content-Type
 * (curl's -d sends form encoding), validate body, path and query with zod, answer errors as
 * {"error":{code,message,details}}. httpErrorHandler is registered last so it runs first on
 * error and decides what is exposed; the envelope then shapes its answer. Log lines carry the
 * invocation's Lambda context and the API's request id (`requestId`).
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { z } from 'zod';
import { HttpError } from './http-errors.ts';
import { describeError, logger } from './logger.ts';

type Schema = z.ZodType;
type Infer<S> = S extends Schema ? z.infer<S> : undefined;

export interface RouteSchemas {
  readonly body?: Schema;
  /** The body may be left out: it is then validated as `{}` (e.g. a pause without a reason). */
  readonly bodyOptional?: boolean;
  readonly path?: Schema;
  readonly query?: Schema;
  /**
   * The success answers by status code, as GET /openapi.json documents them and the client's
   * types are generated from them (schemas: functions/domain/api-responses.ts). Not checked at
   * run time: the response-contract tests check the handlers keep to them. @default none: the
   * document then says only "2XX"
   */
  readonly responses?: RouteResponses;
}

/**
 * A success answer: the schema of its JSON body, or how it is described when it has no JSON body
 * (a 204, a CSV file).
 */
export type RouteResponse =
  | Schema
  | {
      readonly description: string;
      /** @default none (no body) */
      readonly schema?: Schema;
      /** @default 'application/json' when there is a schema */
      readonly contentType?: string;
    };

export type RouteResponses = Readonly<Partial<Record<200 | 201 | 202 | 204, RouteResponse>>>;

export interface RouteInput<S extends RouteSchemas> {
  readonly body: Infer<S['body']>;
  readonly path: Infer<S['path']>;
  readonly query: Infer<S['query']>;
  readonly event: APIGatewayProxyEventV2;
}

export type HttpResult = APIGatewayProxyStructuredResultV2;

export const json = (
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult => ({
  statusCode,
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

const issuesOf = (error: z.ZodError, prefix: string) =>
  error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    message: issue.message,
  }));

function validate<S extends RouteSchemas>(schemas: S): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: (request) => {
      const event = request.event as APIGatewayProxyEventV2 & { parsed?: unknown };
      const parsed: Record<string, unknown> = { body: undefined, path: undefined, query: undefined };
      if (schemas.body) {
        let raw: unknown;
        const text =
          event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString() : event.body;
        if (!text && !schemas.bodyOptional) {
          throw new HttpError(400, 'MISSING_BODY', 'This endpoint needs a JSON request body.');
        }
        try {
          raw = text ? JSON.parse(text) : {};
        } catch (error) {
          throw new HttpError(400, 'INVALID_JSON', 'The request body is not valid JSON.', {
            reason: (error as Error).message,
          });
        }
        const result = schemas.body.safeParse(raw);
        if (!result.success) {
          throw new HttpError(
            400,
            'VALIDATION_FAILED',
            'The request body is invalid.',
            issuesOf(result.error, ''),
          );
        }
        parsed.body = result.data;
      }
      for (const [key, source, label] of [
        ['path', event.pathParameters ?? {}, 'path'],
        ['query', event.queryStringParameters ?? {}, 'query'],
      ] as const) {
        const schema = schemas[key];
        if (!schema) continue;
        const result = schema.safeParse(source);
        if (!result.success) {
          throw new HttpError(
            400,
            'VALIDATION_FAILED',
            `The ${label} parameters are invalid.`,
            issuesOf(result.error, label),
          );
        }
        parsed[key] = result.data;
      }
      event.parsed = parsed;
    },
  };
}

const defaultCodes: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  500: 'INTERNAL',
};

/** Registered before httpErrorHandler so that its onError runs after it. */
function errorEnvelope(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    onError: (request) => {
      const response = request.response as HttpResult | undefined;
      if (!response) return;
      const statusCode = response.statusCode ?? 500;
      const error = request.error as Partial<HttpError> | null;
      // A client error, or a 5xx the factory raised on purpose (with what the client should do).
      const exposed = (statusCode < 500 || error?.name === 'HttpError') && error;
      response.body = JSON.stringify({
        error: {
          code: (exposed && error.code) || defaultCodes[statusCode] || 'ERROR',
          message: exposed
            ? error.message
            : 'The factory hit an internal error; the request was not completed.',
          details: (exposed && error.details) ?? null,
        },
      });
      response.headers = { ...response.headers, 'content-type': 'application/json' };
      delete (response.headers as Record<string, unknown>)['Content-Type'];
    },
  };
}

/** The authorizer's verdict on the request (functions/auth/authorizer.ts), if one ran. */
export const verdictOf = (event: APIGatewayProxyEventV2): Partial<Record<string, string>> | undefined =>
  (event.requestContext as { authorizer?: { lambda?: Record<string, string> } } | undefined)?.authorizer
    ?.lambda;

/**
 * Answers the authorizer's refusal before anything of the route runs: 401 without a usable key,
 * 403 for a role the route does not allow. A request without a verdict (a route the authorizer
 * does not guard) is refused too: an unguarded route fails closed.
 */
function refusalOf(event: APIGatewayProxyEventV2): HttpError | undefined {
  const verdict = verdictOf(event);
  if (verdict?.verdict === 'allow') return undefined;
  if (verdict?.verdict === 'forbidden') {
    return new HttpError(
      403,
      'FORBIDDEN',
      `The ${verdict.role} key "${verdict.keyName}" may not ${event.routeKey}: that needs the ${verdict.required} role.`,
      { role: verdict.role, required: verdict.required, keyId: verdict.keyId },
    );
  }
  return new HttpError(
    401,
    'UNAUTHENTICATED',
    verdict?.reason ?? 'This route needs an API key: send "Authorization: Bearer <key>".',
    null,
    { 'www-authenticate': 'Bearer' },
  );
}

/** The API's request id on every line the request logs (cleared after it by injectLambdaContext). */
function correlateRequest(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: (request) => {
      const requestId = request.event.requestContext?.requestId;
      if (requestId) logger.appendKeys({ requestId });
    },
  };
}

function requireAccess(): MiddlewareObj<APIGatewayProxyEventV2, HttpResult> {
  return {
    before: (request) => {
      const refusal = refusalOf(request.event);
      if (refusal) throw refusal;
    },
  };
}

export interface RouteOptions {
  /** Open to anyone, without a key (only GET /health). @default false */
  readonly public?: boolean;
}

export function httpRoute<S extends RouteSchemas>(
  schemas: S,
  handle: (input: RouteInput<S>) => Promise<HttpResult>,
  options: RouteOptions = {},
) {
  const stack = middy<APIGatewayProxyEventV2, HttpResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(correlateRequest());
  if (!options.public) stack.use(requireAccess());
  const route = stack
    .use(validate(schemas))
    .use(errorEnvelope())
    .use(
      httpErrorHandler({
        logger: (error: unknown) => {
          if ((error as Partial<HttpError>).expose) return;
          logger.error('Unhandled error in HTTP handler', describeError(error));
        },
        fallbackMessage: 'Internal error',
      }),
    )
    .handler(async (event) => {
      const parsed = (event as APIGatewayProxyEventV2 & { parsed: Record<string, unknown> }).parsed;
      return handle({ ...(parsed as Omit<RouteInput<S>, 'event'>), event });
    });
  // The same schemas that validate the request are the route's contract (infra/openapi/).
  return Object.assign(route, { contract: { schemas, public: options.public ?? false } as RouteContract });
}

/**
 * What GET /openapi.json says of a route: the schemas its requests are validated with, and those
 * of its answers (`schemas.responses`).
 */
export interface RouteContract {
  readonly schemas: RouteSchemas;
  readonly public: boolean;
}

/** Who asked, for audit records (scaling events, cancellations, keys): the acting key. */
export const actorOf = (event: APIGatewayProxyEventV2): string => {
  const verdict = verdictOf(event);
  return verdict?.keyName && verdict.keyId
    ? `${verdict.keyName} (key ${verdict.keyId})`
    : `api (${event.requestContext?.http?.sourceIp ?? 'unknown'})`;
};

type RouteHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<HttpResult>;

/**
 * One Lambda for a family of routes (e.g. all of /scheduled-jobs): dispatches on the API's
 * routeKey to each route's own httpRoute stack. Fewer functions to bundle and keep warm, the
 * same validation and error envelope per route.
 */
export function byRoute(routes: Record<string, RouteHandler & { contract?: RouteContract }>) {
  const dispatch = async (event: APIGatewayProxyEventV2, context: Context): Promise<HttpResult> => {
    // Seed 004's /api/v1 routes are the same routes under a prefix (infra/factory-stack.ts).
    const route = routes[event.routeKey] ?? routes[event.routeKey.replace(' /api/v1/', ' /')];
    if (!route) {
      return json(404, {
        error: { code: 'NO_ROUTE', message: `No handler for ${event.routeKey}`, details: null },
      });
    }
    return route(event, context);
  };
  const contracts = Object.fromEntries(
    Object.entries(routes).flatMap(([key, route]) => (route.contract ? [[key, route.contract]] : [])),
  );
  return Object.assign(dispatch, { contracts: contracts as Record<string, RouteContract> });
}
