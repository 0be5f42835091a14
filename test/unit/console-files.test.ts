/** GET /console/…: the built console's files, its pages' paths as index.html, nothing else. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';

type Answer = {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
  isBase64Encoded?: boolean;
};
let serve: (event: APIGatewayProxyEventV2, context: Context) => Promise<Answer>;

const request = (rawPath: string) => {
  const proxy = rawPath.replace(/^\/console\/?/, '');
  return serve(
    {
      rawPath,
      headers: {},
      isBase64Encoded: false,
      routeKey: proxy || rawPath.endsWith('/') ? 'GET /console/{proxy+}' : 'GET /console',
      pathParameters: proxy ? { proxy } : rawPath.endsWith('/') ? { proxy: '' } : undefined,
      requestContext: {},
    } as unknown as APIGatewayProxyEventV2,
    {} as Context,
  );
};

beforeAll(async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'console-'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><script src="./app-ABC.js"></script>');
  await writeFile(path.join(dir, 'app-ABC.js'), 'console.log(1)');
  await writeFile(path.join(dir, 'app-ABC.css'), 'body{}');
  process.env.CONSOLE_DIR = dir;
  serve = (await import('../../functions/api/console.ts')).handler as unknown as typeof serve;
});

describe('the console files', () => {
  it('sends /console to /console/, where relative script URLs resolve', async () => {
    const answer = await request('/console');
    expect(answer.statusCode).toBe(308);
    expect(answer.headers.location).toBe('/console/');
  });

  it('answers the page, without a key, never cached', async () => {
    const answer = await request('/console/');
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(answer.headers['cache-control']).toBe('no-cache');
    expect(answer.body).toContain('app-ABC.js');
  });

  it('answers scripts and styles with their types, cached for good (their names carry a hash)', async () => {
    const script = await request('/console/app-ABC.js');
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.headers['cache-control']).toContain('immutable');
    expect((await request('/console/app-ABC.css')).headers['content-type']).toMatch(/^text\/css/);
  });

  it('answers index.html for the console pages a bookmark names', async () => {
    const answer = await request('/console/jobs');
    expect(answer.statusCode).toBe(200);
    expect(answer.body).toContain('<!doctype html>');
  });

  it.each(['/console/missing.js', '/console/../package.json', '/console/a/b.js', '/console/.env.js'])(
    '%s → 404 in the error envelope, nothing outside the folder',
    async (rawPath) => {
      const answer = await request(rawPath);
      expect(answer.statusCode).toBe(404);
      expect(JSON.parse(answer.body).error.code).toBe('NO_SUCH_FILE');
    },
  );
});
