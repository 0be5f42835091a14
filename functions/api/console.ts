/**
 * GET /console/… (open, like GET /health): the operator console's files, bundled next to this
 * handler (console/build.mjs, run by the function's bundling). The files are public; every
 * call the console makes afterwards carries the API key the operator signs in with. Paths
 * without a file extension are the console's own pages and get index.html.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as z from 'zod';
import { type HttpResult, httpRoute } from '#shared/http';
import { notFound } from '#shared/http-errors';

/** Where the built console lies: next to the bundle on Lambda, or CONSOLE_DIR (tests). */
const consoleDir =
  process.env.CONSOLE_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'console');

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

export const handler = httpRoute(
  { path: z.object({ proxy: z.string().max(200).optional() }) },
  async ({ path: params, event }): Promise<HttpResult> => {
    // Relative asset URLs need the trailing slash: /console → /console/.
    if (params.proxy === undefined && !event.rawPath.endsWith('/')) {
      return { statusCode: 308, headers: { location: `${event.rawPath}/` }, body: '' };
    }
    const requested = params.proxy ?? '';
    const file = path.extname(requested) ? requested : 'index.html';
    // No way out of the console's folder: only plain names, one level deep.
    if (!/^[\w.-]+$/.test(file) || file.startsWith('.')) {
      throw notFound('NO_SUCH_FILE', `The console has no file ${requested}`);
    }
    const type = contentTypes[path.extname(file)] ?? 'application/octet-stream';
    const body = await readFile(path.join(consoleDir, file)).catch(() => undefined);
    if (!body) throw notFound('NO_SUCH_FILE', `The console has no file ${requested}`);
    const text = type.startsWith('text/') || type.startsWith('application/json') || type.includes('svg');
    return {
      statusCode: 200,
      headers: {
        'content-type': type,
        // The page is small and names its scripts by content hash; those never change.
        'cache-control': file === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable',
        'x-content-type-options': 'nosniff',
      },
      body: text ? body.toString('utf8') : body.toString('base64'),
      isBase64Encoded: !text,
    };
  },
  { public: true },
);
