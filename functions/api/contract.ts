/**
 * GET /openapi.json and GET /docs/… (open, like GET /health): the API's OpenAPI 3.1 document and
 * its rendered reference (Scalar), both built into this handler's asset by infra/openapi/ from
 * the routes the stack declares and the zod schemas their handlers validate with. Open, because
 * the contract holds no secret and tools fetch it without a key; every route it describes still
 * needs one.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { byRoute, type HttpResult, httpRoute } from '#shared/http';
import { notFound } from '#shared/http-errors';

const contractDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'contract');

const served: Record<string, { type: string; gzip?: boolean }> = {
  'openapi.json': { type: 'application/json' },
  'index.html': { type: 'text/html; charset=utf-8' },
  // 4 MB of script: gzipped at build time, so it fits a Lambda response (6 MB) three times over.
  'scalar.js': { type: 'text/javascript; charset=utf-8', gzip: true },
};

async function file(name: string): Promise<HttpResult> {
  const entry = served[name];
  const body =
    entry &&
    (await readFile(path.join(contractDir, entry.gzip ? `${name}.gz` : name)).catch(() => undefined));
  if (!entry || !body) throw notFound('NO_SUCH_FILE', `The API reference has no file ${name}`);
  return {
    statusCode: 200,
    headers: {
      'content-type': entry.type,
      'cache-control': name === 'scalar.js' ? 'public, max-age=86400' : 'no-cache',
      'x-content-type-options': 'nosniff',
      ...(entry.gzip ? { 'content-encoding': 'gzip' } : {}),
      'access-control-allow-origin': '*',
    },
    body: entry.gzip ? body.toString('base64') : body.toString('utf8'),
    isBase64Encoded: entry.gzip ?? false,
  };
}

const openapi = httpRoute({}, () => file('openapi.json'), { public: true });

const docs = httpRoute(
  { path: z.object({ proxy: z.string().max(100).optional() }) },
  async ({ path: params, event }) => {
    // Relative script URLs need the trailing slash: /docs → /docs/.
    if (params.proxy === undefined && !event.rawPath.endsWith('/'))
      return { statusCode: 308, headers: { location: `${event.rawPath}/` }, body: '' };
    return file(params.proxy || 'index.html');
  },
  { public: true },
);

export const handler = byRoute({
  'GET /openapi.json': openapi,
  'GET /docs': docs,
  'GET /docs/{proxy+}': docs,
});
