/**
 * The factory's OpenAPI 3.1 document, made from the routes the stack declares and the zod
 * schemas their handlers validate requests with and describe their answers with (shared/http.ts
 * attaches them to each route). A route whose handler declares no contract fails the build:
 * nothing is served undocumented. Schemas with an `id` (zod's `.meta({ id })`) become named
 * components, referenced wherever they appear.
 */
import { z } from 'zod';
import type { RouteContract, RouteResponse } from '../../functions/shared/http.ts';

/** A route as the stack declares it (infra/constructs/factory-api.ts). */
export interface DeclaredRoute {
  readonly method: string;
  readonly path: string;
  readonly entry: string;
  readonly role: string;
  readonly public: boolean;
}

type JsonSchema = Record<string, unknown>;

const errorEnvelope = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: {
        code: { type: 'string', examples: ['VALIDATION_FAILED'] },
        message: { type: 'string' },
        details: {},
      },
    },
  },
} as const;

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/**
 * A schema as JSON Schema: what a request may send (`input`: before defaults and transforms) or
 * what an answer holds (`output`). Named schemas go to `components` and are referenced.
 */
function jsonSchemaOf(
  schema: z.ZodType,
  io: 'input' | 'output',
  components: Record<string, JsonSchema>,
): JsonSchema {
  const {
    $schema: _s,
    $defs,
    ...rest
  } = z.toJSONSchema(schema, { io, target: 'draft-2020-12', unrepresentable: 'any' }) as JsonSchema;
  for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) {
    const named = asComponentRefs(definition);
    const known = components[id];
    // Two different schemas of one name would make one of them lie.
    if (known && JSON.stringify(known) !== JSON.stringify(named))
      throw new Error(`Two schemas are named ${id}: give one another id`);
    components[id] = named;
  }
  return asComponentRefs(rest);
}

const asComponentRefs = (schema: JsonSchema): JsonSchema =>
  JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;

const statusText: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the work goes on after the answer',
  204: 'Done; no body',
};

/** A route's declared success answer as an OpenAPI response object. */
function responseOf(status: number, declared: RouteResponse, components: Record<string, JsonSchema>) {
  if ('_zod' in declared)
    return {
      description: statusText[status] ?? 'Success',
      content: { 'application/json': { schema: jsonSchemaOf(declared, 'output', components) } },
    };
  const contentType = declared.contentType ?? (declared.schema ? 'application/json' : undefined);
  return {
    description: declared.description,
    ...(contentType
      ? {
          content: {
            [contentType]: {
              schema: declared.schema ? jsonSchemaOf(declared.schema, 'output', components) : {},
            },
          },
        }
      : {}),
  };
}

/** Query or path parameters from an object schema's properties. */
function parametersOf(
  schema: z.ZodType | undefined,
  where: 'query' | 'path',
  path: string,
  components: Record<string, JsonSchema>,
) {
  const names = where === 'path' ? [...path.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1] as string) : [];
  const json = schema ? jsonSchemaOf(schema, 'input', components) : {};
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  const all = where === 'path' ? names : Object.keys(properties);
  return all.map((name) => ({
    name,
    in: where,
    required: where === 'path' ? true : required.has(name),
    schema: properties[name] ?? { type: 'string' },
    ...(typeof properties[name]?.description === 'string'
      ? { description: properties[name].description }
      : {}),
  }));
}

const roleText: Record<string, string> = {
  viewer: 'any key (viewer, developer, admin)',
  developer: 'a developer or admin key',
  admin: 'an admin key',
};

export function openApiDocument(
  routes: readonly DeclaredRoute[],
  contractOf: (route: DeclaredRoute) => RouteContract | undefined,
  version: string,
) {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, JsonSchema> = {};
  const missing: string[] = [];
  for (const route of routes) {
    const contract = contractOf(route);
    const key = `${route.method} ${route.path}`;
    if (!contract) {
      missing.push(`${key} (${route.entry})`);
      continue;
    }
    const { schemas } = contract;
    const method = route.method.toLowerCase();
    const operation: Record<string, unknown> = {
      operationId: operationIdOf(route),
      summary: key,
      tags: [tagOf(route.path)],
      description: route.public ? 'Open: no key needed.' : `Needs ${roleText[route.role] ?? route.role}.`,
      'x-factory-role': route.public ? null : route.role,
      security: route.public ? [] : [{ apiKey: [] }],
      parameters: [
        ...parametersOf(schemas.path, 'path', route.path, components),
        ...parametersOf(schemas.query, 'query', route.path, components),
      ],
      responses: {
        ...(schemas.responses
          ? Object.fromEntries(
              Object.entries(schemas.responses).map(([status, declared]) => [
                status,
                responseOf(Number(status), declared as RouteResponse, components),
              ]),
            )
          : {
              '2XX': {
                description: 'Success (a JSON body unless 204)',
                content: { 'application/json': { schema: {} } },
              },
            }),
        ...(schemas.body || schemas.query || schemas.path
          ? {
              '400': errorResponse(
                'The request is invalid: VALIDATION_FAILED with each field, INVALID_JSON, MISSING_BODY or a rule of the route',
              ),
            }
          : {}),
        ...(route.public
          ? {}
          : {
              '401': errorResponse('UNAUTHENTICATED: no key, or an unknown or revoked one'),
              '403': errorResponse('FORBIDDEN: the key’s role may not use this route'),
            }),
        '429': errorResponse('Throttled (the stage’s rate limit or a queue’s)'),
      },
    };
    if (schemas.body)
      operation.requestBody = {
        required: !schemas.bodyOptional,
        content: { 'application/json': { schema: jsonSchemaOf(schemas.body, 'input', components) } },
      };
    const openApiPath = route.path.replace(/\{([^}]+)\+\}/g, '{$1}');
    paths[openApiPath] = { ...paths[openApiPath], [method]: operation };
  }
  if (missing.length)
    throw new Error(`Routes without a contract (use httpRoute/byRoute): ${missing.join(', ')}`);
  return {
    openapi: '3.1.0',
    info: {
      title: 'Robot Factory API',
      version,
      description:
        'Robot orders and a general job engine on AWS. Every route but the open ones takes `Authorization: Bearer <key>`; errors are `{"error":{"code","message","details"}}`.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        apiKey: { type: 'http', scheme: 'bearer', description: 'A factory API key (POST /api-keys)' },
      },
      schemas: { Error: errorEnvelope, ...sortedByName(components) },
    },
    paths,
  };
}

/** Components in name order: the document (and the client's types made from it) stays stable. */
const sortedByName = <T>(entries: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b)));

const tagOf = (path: string) => {
  const parts = path.split('/').filter(Boolean);
  return parts[0] === 'api' && parts[1] === 'v1' ? 'api/v1' : (parts[0] ?? 'root');
};

const operationIdOf = (route: DeclaredRoute) =>
  [
    route.method.toLowerCase(),
    ...route.path
      .split('/')
      .filter(Boolean)
      .map((part) =>
        part.replace(/[{}+]/g, '').replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string) => (c ?? '').toUpperCase()),
      )
      .map((part, i) => (i === 0 ? part : part.charAt(0).toUpperCase() + part.slice(1))),
  ]
    .join('_')
    .replace(/_(.)/g, (_m, c: string) => c.toUpperCase());
