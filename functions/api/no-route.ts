/**
 * The HTTP API's $default route: a request no route takes. API Gateway alone would answer
 * {"message":"Not Found"}; this answers the factory's error envelope, and a 405 with the methods
 * that the path does take when only the method is wrong.
 */
import { requireJsonEnv } from '#shared/env';
import { httpRoute, json } from '#shared/http';

/** "METHOD /path/{param}" of every route of the API (set by the stack). */
const routeKeys = requireJsonEnv<string[]>('ROUTE_KEYS');
const templates = routeKeys.map((key) => {
  const [method, path] = key.split(' ') as [string, string];
  const pattern = new RegExp(`^${path.replace(/\{[^/]+\}/g, '[^/]+')}/?$`);
  return { method, path, pattern };
});

// The shared stack, so a request without a key is refused here as on every route (which paths
// exist is for key holders too), by the same middleware rather than a copy of it.
export const handler = httpRoute({}, async ({ event }) => {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  const allowed = [...new Set(templates.filter((t) => t.pattern.test(path)).map((t) => t.method))].sort();
  if (allowed.length > 0) {
    return json(
      405,
      {
        error: {
          code: 'METHOD_NOT_ALLOWED',
          message: `${path} does not take ${method}; it takes ${allowed.join(', ')}`,
          details: { method, path, allowed },
        },
      },
      { allow: allowed.join(', ') },
    );
  }
  return json(404, {
    error: {
      code: 'NO_ROUTE',
      message: `No route for ${method} ${path}`,
      details: { method, path },
    },
  });
});
